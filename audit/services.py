import re

from django.contrib.auth import get_user_model

from audit.models import AuthEvent, FileAccess, SignIn
from partsite.addresses import client_address
from partsite.models import KEY_PREFIX


def file_access_record(*, request, revision, access):
    """Record a download or preview; the later pieces of a ranged or resumed one are not new accesses."""
    if not _starts_at_the_beginning(request):
        return None
    entry = _file_access(request, revision, access)
    entry.save()
    return entry


def file_accesses_record(*, request, revisions, access):
    """Record one access per revision, all at once: the files of an archive, which is never sent in ranges."""
    return FileAccess.objects.bulk_create(_file_access(request, revision, access) for revision in revisions)


def _file_access(request, revision, access):
    return FileAccess(
        access=access,
        user=request.user if request.user.is_authenticated else None,
        revision=revision,
        part_id=revision.part_id,
        what=f"{revision.part.part_number} {revision.label} {revision.filename} (sha256 {revision.sha256})"[:400],
        client_address=client_address(request),
    )


def _starts_at_the_beginning(request):
    match = re.match(r"\s*bytes\s*=\s*(\d*)\s*-", request.headers.get("Range", ""))
    return match is None or match[1] in ("", "0")


def auth_event_record_login(*, request, user):
    return _auth_event(SignIn.LOGIN, request, user=user, username=user.get_username(), detail="signed in")


def auth_event_record_login_failed(*, request, username):
    """A wrong password or an unknown name; `username` is what was typed, the password is never seen here."""
    username = (username or "")[:150]
    user = get_user_model().objects.filter(username=username).first() if username else None
    return _auth_event(
        SignIn.LOGIN_FAILED, request, user=user, username=username, detail="wrong username or password"
    )


def auth_event_record_key_refused(*, request, reason, api_key=None):
    """A refused API key. Only the key's public lookup is kept, and only when it names a key we issued."""
    detail = reason
    if api_key is not None:
        detail += f" ({KEY_PREFIX}{api_key.lookup}…)"
    owner = api_key.user if api_key is not None else None
    return _auth_event(
        SignIn.KEY_REFUSED, request, user=owner, username=owner.get_username() if owner else "", detail=detail
    )


def _auth_event(event, request, *, user, username, detail):
    if getattr(request, "path", ""):
        detail = f"{detail} at {request.path}"
    return AuthEvent.objects.create(
        event=event, user=user, username=username, detail=detail[:400],
        client_address=client_address(request) if request is not None else None,
    )
