"""Sign-ins, failed sign-ins and refused API keys, from every login form and the API alike.

Django's auth signals cover the admin, the browsable API's and the pages' login forms; the
API-key authentication sends its own. Each receiver hands over to a service and nothing else.
"""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from audit import services
from partsite.auth import api_key_refused


@receiver(user_logged_in, dispatch_uid="audit.login")
def _logged_in(sender, request, user, **kwargs):
    services.auth_event_record_login(request=request, user=user)


@receiver(user_login_failed, dispatch_uid="audit.login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    # Django has already masked the password in `credentials`; only the name is read.
    services.auth_event_record_login_failed(request=request, username=credentials.get("username"))


@receiver(api_key_refused, dispatch_uid="audit.key_refused")
def _key_refused(sender, request, reason, api_key, **kwargs):
    services.auth_event_record_key_refused(request=request, reason=reason, api_key=api_key)
