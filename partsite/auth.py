"""API-key authentication, the lockout of failing credentials, and the anonymous rate limit.

Only failures count, per credential attacked and client address (django-axes, in the
database): a username on any login form, or an API key's public lookup. Another person's
password or key from the same address keeps working, however busy an attacker there is.
Requests without credentials are refused (401) without being counted; anonymous pages are
held to ANONYMOUS_RATE per address, which degrades open when the cache is down.
"""

import logging
import math
import re
from datetime import timedelta

from auditlog.context import auditlog_value
from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.dispatch import Signal
from django.http import HttpRequest
from django.shortcuts import render
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.throttling import AnonRateThrottle

from partsite.addresses import client_address
from partsite.logs import KEY_PATTERN
from partsite.models import KEY_PREFIX, ApiKey

logger = logging.getLogger(__name__)

KEY_HEADER = "X-API-Key"
# Query parameters refused whatever their value (compared case-insensitively, "-" as "_");
# a value shaped like a key (KEY_PATTERN) is refused under any parameter name.
QUERY_KEY_NAMES = frozenset({"api_key", "apikey", "key", "x_api_key", "token", "access_token"})
# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION_SECONDS = 60
LOOKUP_SHAPE = re.compile(r"[0-9a-f]{16}")
# What a failed key is counted against when it does not even name a lookup.
MALFORMED_KEY = "(malformed API key)"

# Sent when a request's API key is refused, with `request`, `reason` (words, never the key) and
# `api_key` (the row the key names, when it names one: a revoked key or a wrong secret).
api_key_refused = Signal()


def failure_limit(request, credentials):
    """AXES_FAILURE_LIMIT: the failure of one credential from one address that locks it out there."""
    return settings.AUTH_FAILURE_LIMIT


def lockout_time(request):
    """AXES_COOLOFF_TIME: how long a lockout lasts after the last failure."""
    return timedelta(seconds=settings.AUTH_FAILURE_WINDOW_SECONDS)


class SignInLockoutBackend(AxesStandaloneBackend):
    """django-axes' check that a username is not locked out, before ModelBackend checks the password.

    Every login form passes the request, so the client's address is known. A password checked
    without one (a management command, a test client's login()) comes from no client: it is left
    to ModelBackend alone, where axes' own backend would raise an error.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


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
        key = key.strip()
        # A right key is let in even while guesses at its lookup are locked out: its secret is
        # 256 random bits, so refusing it would protect nothing and would let anyone who saw
        # the public lookup lock its owner out.
        api_key = self._find(key)
        if api_key is None:
            self._refused(request, key)
            if _count_key_failure(request, key):
                raise exceptions.Throttled(
                    wait=settings.AUTH_FAILURE_WINDOW_SECONDS,
                    detail="Too many failed attempts with this API key from your address.",
                )
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


def _count_key_failure(request, key):
    """Count a refused key against its public lookup and the client's address; True once that is locked out.

    axes records what a login form sent (request.GET and request.POST). A key arrives in a
    header, and its request's body may be a 500 MB upload that a refusal must not read, so
    axes is shown a request with the same address, path and agent and neither query nor body.
    """
    seen_by_axes = HttpRequest()
    seen_by_axes.META = request.META
    seen_by_axes.method = request.method
    seen_by_axes.path = seen_by_axes.path_info = request.path
    AxesProxyHandler.user_login_failed(
        sender=ApiKeyAuthentication, credentials={"username": _attacked_credential(key)}, request=seen_by_axes
    )
    return getattr(seen_by_axes, "axes_locked_out", False)  # axes leaves it unset when AXES_ENABLED is off


def _attacked_credential(key):
    """The key's public lookup (`ps_<lookup>`), never its secret."""
    lookup = ApiKey.parse_lookup(key)
    if lookup is None or not LOOKUP_SHAPE.fullmatch(lookup):
        return MALFORMED_KEY
    return f"{KEY_PREFIX}{lookup}"


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


def locked_out(request, original_response, credentials):
    """AXES_LOCKOUT_CALLABLE: the page a login form answers with while a name is locked out there."""
    seconds = settings.AUTH_FAILURE_WINDOW_SECONDS
    response = render(
        request, "registration/locked_out.html",
        {"username": (credentials or {}).get("username", ""), "minutes": math.ceil(seconds / 60)},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


class AnonymousThrottle(AnonRateThrottle):
    """ANONYMOUS_RATE per client address, for what anonymous clients may open (the API docs and schema).

    The counts live in the cache. When the cache does not answer, requests are let through
    rather than refused: a broker outage (the cache shares its Redis) must not become an
    outage of the site. It is logged when it starts and when it ends, not on every request.
    """

    def get_rate(self):
        return settings.ANONYMOUS_RATE

    def get_ident(self, request):
        # DRF's own ident trusts X-Forwarded-For, which any client can set to a new value on
        # every request; count by the address everything else uses.
        return client_address(request) or "unknown"

    def allow_request(self, request, view):
        try:
            allowed = super().allow_request(request, view)
        except (RedisError, OSError) as error:
            _cache_outage.began(error)
            return True
        if self.key is not None:
            _cache_outage.ended()
        return allowed


class CacheOutage:
    """Remembers, per process, whether the cache was last seen down, so each outage is logged once."""

    def __init__(self):
        self.down = False

    def began(self, error):
        if not self.down:
            self.down = True
            logger.error("The cache does not answer (%s: %s); anonymous requests are not rate-limited until "
                         "it does.", type(error).__name__, error)

    def ended(self):
        if self.down:
            self.down = False
            logger.info("The cache answers again; anonymous requests are rate-limited again.")


_cache_outage = CacheOutage()


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Describes the X-API-Key header in the OpenAPI schema."""

    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": KEY_HEADER}
