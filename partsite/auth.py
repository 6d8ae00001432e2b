"""API-key authentication and the rate limits on anonymous and failed requests."""

import time

from auditlog.context import auditlog_value
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.dispatch import Signal
from django.http import JsonResponse
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.throttling import AnonRateThrottle

from partsite.logs import KEY_PATTERN
from partsite.models import ApiKey

KEY_HEADER = "X-API-Key"
# Query parameters refused whatever their value (compared case-insensitively, "-" as "_");
# a value shaped like a key (KEY_PATTERN) is refused under any parameter name.
QUERY_KEY_NAMES = frozenset({"api_key", "apikey", "key", "x_api_key", "token", "access_token"})
# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION_SECONDS = 60

# Sent when a request's API key is refused, with `request`, `reason` (words, never the key) and
# `api_key` (the row the key names, when it names one: a revoked key or a wrong secret).
api_key_refused = Signal()


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        if _key_in_query_string(request.query_params):
            api_key_refused.send(sender=self.__class__, request=request, reason="an API key in the URL", api_key=None)
            raise exceptions.AuthenticationFailed(
                f"API keys are not accepted in the URL; send the key in the {KEY_HEADER} header."
            )
        key = request.headers.get(KEY_HEADER)
        if key is None:
            return None
        api_key = self._find(key.strip())
        if api_key is None:
            self._refused(request, key.strip())
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        self._touch(api_key)
        _tell_auditlog(api_key.user)
        request.api_key = api_key
        return api_key.user, api_key

    def authenticate_header(self, request):
        return KEY_HEADER

    @staticmethod
    def _find(key):
        lookup = ApiKey.parse_lookup(key)
        if lookup is None:
            return None
        api_key = ApiKey.objects.active().select_related("user").filter(lookup=lookup).first()
        if api_key is None or not api_key.matches(key):
            return None
        return api_key

    @staticmethod
    def _refused(request, key):
        lookup = ApiKey.parse_lookup(key)
        named = ApiKey.objects.select_related("user").filter(lookup=lookup).first() if lookup else None
        if named is None:
            reason = "an unknown API key"
        elif named.is_revoked:
            reason = "a revoked API key"
        elif not named.user.is_active:
            reason = "the API key of a deactivated user"
        else:
            reason = "an API key with a wrong secret"
        api_key_refused.send(sender=ApiKeyAuthentication, request=request, reason=reason, api_key=named)

    @staticmethod
    def _touch(api_key):
        now = timezone.now()
        if api_key.last_used_at and (now - api_key.last_used_at).total_seconds() < LAST_USED_RESOLUTION_SECONDS:
            return
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def _key_in_query_string(query_params):
    for name, values in query_params.lists():
        if name.lower().replace("-", "_") in QUERY_KEY_NAMES:
            return True
        if any(KEY_PATTERN.search(text) for text in (name, *values)):
            return True
    return False


def _tell_auditlog(user):
    """Auditlog's middleware ran before DRF knew the user; give it the key's owner."""
    try:
        auditlog_value.get()["actor"] = user
    except LookupError:
        pass


class AnonymousThrottle(AnonRateThrottle):
    """Reads its rate when used, so settings overrides apply."""

    def get_rate(self):
        return settings.ANONYMOUS_RATE

    def get_ident(self, request):
        # DRF's own ident trusts X-Forwarded-For, which any client can set to a new
        # value on every request; count by the same address the failure limit uses.
        return client_address(request)


def client_address(request):
    return request.META.get("REMOTE_ADDR", "unknown")


# Where a client can fail to authenticate: API keys and sessions on the API, and the
# two login forms (admin and browsable API).
THROTTLED_PATHS = ("/api/", "/api-auth/", "/admin/")


def _mark_failed_login(sender, credentials, request=None, **kwargs):
    """A wrong password on a login form answers 200 with the form again; remember it failed."""
    if request is not None:
        request.partsite_login_failed = True


user_login_failed.connect(_mark_failed_login, dispatch_uid="partsite.auth.mark_failed_login")


class AuthFailureThrottleMiddleware:
    """Answer 429 to a client that keeps failing authentication.

    DRF checks permissions before throttles, so a client without valid
    credentials would never reach a throttle; counting 401 answers here covers
    both wrong keys and anonymous probing. Wrong passwords on the login forms
    count too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(THROTTLED_PATHS):
            return self.get_response(request)
        cache_key = f"auth-failures:{client_address(request)}"
        now = time.time()
        failures = self._recent(cache.get(cache_key, []), now)
        if len(failures) >= settings.AUTH_FAILURE_LIMIT:
            retry_after = int(settings.AUTH_FAILURE_WINDOW_SECONDS - (now - failures[0])) + 1
            response = JsonResponse(
                {"detail": f"Too many failed authentication attempts; try again in {retry_after} s."},
                status=429,
            )
            response["Retry-After"] = str(retry_after)
            return response
        response = self.get_response(request)
        if response.status_code == 401 or getattr(request, "partsite_login_failed", False):
            # Read again: other requests from this client may have failed meanwhile.
            failures = self._recent(cache.get(cache_key, []), now) + [now]
            cache.set(cache_key, failures, settings.AUTH_FAILURE_WINDOW_SECONDS)
        return response

    @staticmethod
    def _recent(failures, now):
        return [t for t in failures if now - t < settings.AUTH_FAILURE_WINDOW_SECONDS]


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Describes the X-API-Key header in the OpenAPI schema."""

    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": KEY_HEADER}
