from django.contrib.auth import get_user_model

from audit.models import Access, AuthEvent, FileAccess, SignIn
from partsite.addresses import client_address
from partsite.models import KEY_PREFIX

WHAT_CHARS = FileAccess._meta.get_field("what").max_length


def file_access_record(*, request, access, revision):
    """Record a download or 3D view of one revision.

    files.responses calls it for every file it serves, once it knows the access is a new one.
    """
    what = f"{revision.part.part_number} {revision.label} {revision.filename} (sha256 {revision.sha256})"
    return FileAccess.objects.create(
        access=access, user=_user(request), revision=revision, part_id=revision.part_id, what=what[:WHAT_CHARS],
        client_address=client_address(request),
    )


def archive_access_record(*, request, name, revisions):
    """Record a ZIP archive as one access that names every revision in it (each with its part loaded)."""
    listed = ", ".join(f"{revision.part.part_number} {revision.label} {revision.filename}" for revision in revisions)
    what = f"{name}, {len(revisions)} files: {listed}" if revisions else f"{name}, no files"
    entry = FileAccess.objects.create(
        access=Access.ARCHIVE, user=_user(request),
        what=what if len(what) <= WHAT_CHARS else what[: WHAT_CHARS - 1] + "…",
        client_address=client_address(request),
    )
    archived = FileAccess.revisions.through
    archived.objects.bulk_create(archived(fileaccess=entry, revision=revision) for revision in revisions)
    return entry


def _user(request):
    return request.user if request.user.is_authenticated else None


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
