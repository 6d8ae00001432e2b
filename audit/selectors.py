"""Reading the audit trail: the leads' feed of everything, and one part's history."""

from dataclasses import dataclass, field
from datetime import datetime

from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db.models import BigIntegerField, Case, CharField, F, Prefetch, Q, Value, When
from django.db.models.functions import Cast

from audit.models import Access, AuthEvent, FileAccess, SignIn
from files.models import Kind, Revision
from partsite.models import ApiKey
from parts.lifecycle import Action, Status
from parts.models import Part, PartEvent

# --- The feed -------------------------------------------------------------------------------

# Where an entry comes from: django-auditlog's change log, the file-access record, the sign-in record.
CHANGE, FILE, SIGN_IN = "change", "file", "sign_in"
KINDS = [(CHANGE, "Change"), (FILE, "File access"), (SIGN_IN, "Sign-in")]

_CHANGE_ACTIONS = {
    LogEntry.Action.CREATE: ("create", "Created"),
    LogEntry.Action.UPDATE: ("update", "Changed"),
    LogEntry.Action.DELETE: ("delete", "Deleted"),
}
ACTIONS = list(_CHANGE_ACTIONS.values()) + Access.choices + SignIn.choices

# The object types an entry can be about: what django-auditlog records, by content-type name.
OBJECT_TYPES = {"part": Part, "revision": Revision, "user": get_user_model(), "group": Group, "apikey": ApiKey}
OBJECT_TYPE_CHOICES = [(name, model._meta.verbose_name.capitalize()) for name, model in OBJECT_TYPES.items()]

# The feed's columns, in this order in every part of the union (named unlike any model field).
FEED_COLUMNS = [
    "kind", "entry_id", "occurred_at", "action_name", "actor_name", "object_type", "object_key", "summary", "address",
]


def audit_feed(*, actor=None, actions=None, object_type=None, object_id=None, since=None, until=None):
    """Every change, file access and sign-in event, newest first, as one query of dicts.

    Each row has FEED_COLUMNS: `kind` (change, file, sign_in), `entry_id` (the row's id in its
    own table), `occurred_at`, `action_name` (see ACTIONS), `actor_name` (a username or None),
    `object_type` and `object_key` (a file access is about its revision, or about none for a ZIP
    archive, which the filter on a revision finds too; a sign-in is about its user), `summary`
    and `address` (the client's). Filters: `actor` is a username (any case), `actions` a
    collection of action names, `object_type` a key of OBJECT_TYPES, `object_id` an id,
    `since`/`until` datetimes (both inclusive). The result is a lazy union that counts,
    slices and iterates in the database, so it pages and streams at any size.
    """
    parts = []
    for source in _SOURCES:
        wanted = [action for action in source.actions if not actions or action in actions]
        queryset = source.rows(wanted, object_type, object_id) if wanted else None
        if queryset is None:
            continue
        if actor:
            queryset = queryset.filter(**{f"{source.actor_field}__iexact": actor})
        if since:
            queryset = queryset.filter(**{f"{source.time_field}__gte": since})
        if until:
            queryset = queryset.filter(**{f"{source.time_field}__lte": until})
        parts.append(queryset.order_by().values(*FEED_COLUMNS))
    if not parts:
        return _changes(list(_CHANGE_ACTIONS_BY_NAME), None, None).none().values(*FEED_COLUMNS)
    feed = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return feed.order_by("-occurred_at", "-kind", "-entry_id")


_CHANGE_ACTIONS_BY_NAME = {name: number for number, (name, _) in _CHANGE_ACTIONS.items()}


def _text(value):
    return Value(value, output_field=CharField())


def _columns(**expressions):
    """The union's columns in FEED_COLUMNS order, whatever order they were written in."""
    return {name: expressions[name] for name in FEED_COLUMNS}


def _changes(actions, object_type, object_id):
    queryset = LogEntry.objects.filter(action__in=[_CHANGE_ACTIONS_BY_NAME[name] for name in actions])
    if object_type:
        queryset = queryset.filter(content_type=ContentType.objects.get_for_model(OBJECT_TYPES[object_type]))
    if object_id is not None:
        queryset = queryset.filter(object_pk=str(object_id))
    action_name = Case(
        *[When(action=number, then=_text(name)) for number, (name, _) in _CHANGE_ACTIONS.items()],
        output_field=CharField(),
    )
    return queryset.annotate(**_columns(
        kind=_text(CHANGE), entry_id=Cast("id", BigIntegerField()), occurred_at=F("timestamp"),
        action_name=action_name, actor_name=F("actor__username"),
        object_type=Cast("content_type__model", CharField()), object_key=Cast("object_pk", CharField()),
        summary=Cast("object_repr", CharField()), address=F("remote_addr"),
    ))


def _file_accesses(actions, object_type, object_id):
    if object_type not in (None, "revision"):
        return None
    queryset = FileAccess.objects.filter(access__in=actions)
    if object_id is not None:
        in_archives = FileAccess.revisions.through.objects.filter(revision_id=object_id).values("fileaccess_id")
        queryset = queryset.filter(Q(revision_id=object_id) | Q(pk__in=in_archives))
    return queryset.annotate(**_columns(
        kind=_text(FILE), entry_id=Cast("id", BigIntegerField()), occurred_at=F("at"),
        action_name=Cast("access", CharField()), actor_name=F("user__username"), object_type=_text("revision"),
        object_key=Cast("revision_id", CharField()), summary=Cast("what", CharField()), address=F("client_address"),
    ))


def _sign_ins(actions, object_type, object_id):
    if object_type not in (None, "user"):
        return None
    queryset = AuthEvent.objects.filter(event__in=actions)
    if object_id is not None:
        queryset = queryset.filter(user_id=object_id)
    return queryset.annotate(**_columns(
        kind=_text(SIGN_IN), entry_id=Cast("id", BigIntegerField()), occurred_at=F("at"),
        action_name=Cast("event", CharField()), actor_name=Cast("username", CharField()), object_type=_text("user"),
        object_key=Cast("user_id", CharField()), summary=Cast("detail", CharField()), address=F("client_address"),
    ))


@dataclass(frozen=True)
class _Source:
    rows: object
    actions: list
    actor_field: str
    time_field: str


_SOURCES = [
    _Source(_changes, list(_CHANGE_ACTIONS_BY_NAME), "actor__username", "timestamp"),
    _Source(_file_accesses, Access.values, "user__username", "at"),
    _Source(_sign_ins, SignIn.values, "username", "at"),
]


def with_changes(rows):
    """The feed rows (dicts) given, each with `changes`: the field changes of a change entry, else None."""
    rows = list(rows)
    change_ids = [row["entry_id"] for row in rows if row["kind"] == CHANGE]
    changes = dict(LogEntry.objects.filter(pk__in=change_ids).values_list("pk", "changes")) if change_ids else {}
    for row in rows:
        row["changes"] = changes.get(row["entry_id"]) if row["kind"] == CHANGE else None
    return rows


# --- One part's history -----------------------------------------------------------------------

# Kinds of history entry, and their order when two happen at the same instant.
HISTORY_KINDS = ("event", "revision", "change", "access")

# Fields that the lifecycle moves write; their changes are told by the move's timeline event.
_MOVE_FIELDS = {
    "status", "assignee", "claimed_at", "reviewer", "reviewed_at", "completed_at", "completed_incorrectly",
    "approved_revision", "built_revision", "built_sha256", "storage_location", "approved_drawing", "built_drawing",
}


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    kind: str
    action: str
    actor: str | None
    summary: str
    details: dict = field(default_factory=dict)


def part_history(part):
    """Everything that happened to a part, oldest first, as a list of HistoryEntry.

    Each entry has `at` (a datetime), `kind`, `action`, `actor` (a username, or None for the
    system or a deleted user), `summary` (one sentence for people) and `details` (a dict):

    - kind "event": a lifecycle move from the timeline (action: create, approve, claim, ...);
      details `from_status`, `to_status`, `note`.
    - kind "revision": a file uploaded (action "upload"; details `revision`, `label`,
      `kind`, `filename`, `size`, `sha256`, `description`) or deleted (action "delete"; the
      same details as far as the change log kept them). Uploads of deleted revisions stay.
    - kind "change": an edit of the part's fields (action "update"); details `changes`,
      {field: [old, new]} as text. Fields a lifecycle move sets are told by its event instead.
    - kind "access": a download or 3D preview of one of its revisions (action "download" or
      "model"; details `revision` and `what`), or a ZIP archive that held some of them (action
      "archive"; details `revisions`, this part's, and `what`). Client addresses are in the
      leads' audit feed only.

    Entries at the same instant come in HISTORY_KINDS order, then in the order they were written.
    """
    entries = [*_events(part), *_revisions(part), *_field_changes(part), *_accesses(part)]
    return [entry for _, entry in sorted(entries, key=lambda pair: pair[0])]


def _order(at, kind, row_id):
    return (at, HISTORY_KINDS.index(kind), row_id)


def _username(user):
    return user.get_username() if user is not None else None


def _events(part):
    for event in PartEvent.objects.filter(part=part).exclude(action=Action.UPLOAD).select_related("actor"):
        summary = Action(event.action).label
        if event.from_status and event.from_status != event.to_status:
            summary += f": {Status(event.from_status).label.lower()} → {Status(event.to_status).label.lower()}"
        if event.note:
            summary += f". {event.note}"
        details = {"from_status": event.from_status, "to_status": event.to_status, "note": event.note}
        yield _order(event.created_at, "event", event.pk), HistoryEntry(
            event.created_at, "event", event.action, _username(event.actor), summary, details
        )


def _revisions(part):
    for revision in Revision.objects.filter(part=part).select_related("uploaded_by"):
        details = {
            "revision": revision.pk, "label": revision.label, "kind": revision.kind, "filename": revision.filename,
            "size": revision.size, "sha256": revision.sha256, "description": revision.description,
        }
        yield _order(revision.uploaded_at, "revision", revision.pk), HistoryEntry(
            revision.uploaded_at, "revision", "upload", _username(revision.uploaded_by),
            f"Uploaded {revision.label} {revision.filename}", details,
        )
    # Deleted revisions are gone from their table; the change log kept their upload and deletion.
    revision_type = ContentType.objects.get_for_model(Revision)
    # The part is in additional_data; entries written while the change log kept ids have it in `changes`.
    deletions = LogEntry.objects.filter(
        Q(additional_data__part=part.pk) | Q(changes__part__0=str(part.pk)),
        content_type=revision_type, action=LogEntry.Action.DELETE,
    )
    deleted_ids = list(deletions.values_list("object_pk", flat=True))
    entries = LogEntry.objects.filter(
        content_type=revision_type, object_pk__in=deleted_ids,
        action__in=[LogEntry.Action.CREATE, LogEntry.Action.DELETE],
    ).select_related("actor")
    for entry in entries:
        deleted = entry.action == LogEntry.Action.DELETE
        values = {name: change[0 if deleted else 1] for name, change in entry.changes_dict.items()}
        label = f"{'R' if values.get('kind') == Kind.STEP else 'D'}{values.get('number', '?')}"
        details = {
            "revision": int(entry.object_pk), "label": label, "kind": values.get("kind"),
            "filename": values.get("filename"), "size": _int_or_none(values.get("size")),
            "sha256": values.get("sha256"), "description": values.get("description") or "",
        }
        summary = f"Deleted {label} {details['filename']}" if deleted else (
            f"Uploaded {label} {details['filename']} (since deleted)"
        )
        yield _order(entry.timestamp, "revision", entry.pk), HistoryEntry(
            entry.timestamp, "revision", "delete" if deleted else "upload", _username(entry.actor), summary, details
        )


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _field_changes(part):
    entries = LogEntry.objects.get_for_object(part).filter(action=LogEntry.Action.UPDATE).select_related("actor")
    for entry in entries:
        changes = entry.changes_dict
        if "status" in changes:
            changes = {name: change for name, change in changes.items() if name not in _MOVE_FIELDS}
        if not changes:
            continue
        summary = "Changed " + "; ".join(
            f"{_verbose_name(name)} from “{old}” to “{new}”" for name, (old, new) in changes.items()
        )
        yield _order(entry.timestamp, "change", entry.pk), HistoryEntry(
            entry.timestamp, "change", "update", _username(entry.actor), summary, {"changes": changes}
        )


def _verbose_name(name):
    try:
        return str(Part._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # a field since removed from the model keeps its stored name
        return name


def _accesses(part):
    archives = FileAccess.revisions.through.objects.filter(revision__part=part).values("fileaccess_id")
    accesses = FileAccess.objects.filter(Q(part=part) | Q(pk__in=archives)).select_related("user", "revision")
    this_parts = Prefetch("revisions", Revision.objects.filter(part=part), "archived")
    for access in accesses.prefetch_related(this_parts):
        if access.access == Access.ARCHIVE:
            archived = sorted(access.archived, key=lambda revision: (revision.kind != Kind.STEP, revision.number))
            files = ", ".join(f"{revision.label} {revision.filename}" for revision in archived)
            details = {"revisions": [revision.pk for revision in archived], "what": access.what}
        else:
            revision = access.revision  # `what` names a deleted revision too, with its SHA-256
            files = f"{revision.label} {revision.filename}" if revision is not None else access.what
            details = {"revision": access.revision_id, "what": access.what}
        summary = f"{Access(access.access).label}: {files}"
        yield _order(access.at, "access", access.pk), HistoryEntry(
            access.at, "access", access.access, _username(access.user), summary, details
        )
