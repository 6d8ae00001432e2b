"""Every write to a part. The API, the pages, the admin and commands all call these.

Each move is one transaction: it re-reads the part under a row lock (SQLite runs
transactions IMMEDIATE, which serialises them the same way), checks the move
against the lifecycle table, saves, and writes one timeline event.

files.services builds on these: it takes the same lock to number or delete a part's
revisions (part_lock), writes an upload's timeline event through part_upload_record,
and deletes a part with its files (part_delete_with_files, which calls part_delete).
Nothing here imports files' services: the import contract in .importlinter says so.
"""

from functools import wraps

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models.functions import Length
from django.utils import timezone

from files.models import ConversionStatus, Kind, Revision
from partsite.errors import Conflict, Invalid, NotPermitted
from partsite.events import EventType, event_record
from parts import permissions
from parts.lifecycle import MOVES, RELEASED, RELEASED_FIELDS, Action, Status, Type, illegal_move_message
from parts.materials import thickness_mismatch
from parts.models import PagePreference, Part, PartEvent
from parts.moves import MOVE_SPECS

User = get_user_model()

# Two people creating parts at once may pick the same next number; the loser tries again.
PART_NUMBER_ATTEMPTS = 5
EDITABLE_FIELDS = (
    "part_number", "name", "type", "material", "material_thickness", "subsystem", "amount", "notes",
    "onshape_url", "storage_location",
)


def _next_part_number():
    last = (
        Part.objects.filter(part_number__regex=r"^P-[0-9]+$")
        .order_by(Length("part_number").desc(), "-part_number")
        .values_list("part_number", flat=True)
        .first()
    )
    return f"P-{int(last[2:]) + 1 if last else 1:05d}"


def part_create(*, actor, part_number="", **fields):
    if not permissions.can_edit_parts(actor):
        raise NotPermitted("Only leads and fabricators may create parts.")
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise Invalid(f"Unknown part fields: {', '.join(sorted(unknown))}.")
    for _ in range(PART_NUMBER_ATTEMPTS):
        number = part_number or _next_part_number()
        try:
            with transaction.atomic():
                part = Part.objects.create(part_number=number, created_by=actor, **fields)
                PartEvent.objects.create(part=part, action=Action.CREATE, to_status=part.status, actor=actor)
                event_record(EventType.PART_CREATED, actor=actor, part=part)
                return part
        except IntegrityError:
            if part_number:
                raise Conflict(f"Part number {number!r} is already taken.", field="part_number") from None
    raise Conflict("Could not pick a free part number; try again.")


class ReleasedFieldsFrozen(Conflict):
    """A change to a released part's type, material, thickness or amount without a lead's reason.

    The API answers 409; the pages and the admin show the message. `fields` names what was refused."""


_FIELD_NAMES = {"type": "type", "material": "material", "material_thickness": "thickness", "amount": "amount"}


def _check_released_fields(part, actor, changes, reason):
    """Refuse a change to the released fields of a released part unless a lead gives a reason.

    Returns the timeline note of an allowed change to them, "" when none of them changes."""
    frozen = [name for name in RELEASED_FIELDS if name in changes]
    if not frozen or part.status not in RELEASED:
        return ""
    names = " and ".join(_FIELD_NAMES[name] for name in frozen)
    status = Status(part.status).label.lower()
    if not permissions.may_edit_released_parts(actor):
        raise ReleasedFieldsFrozen(
            f"{part.part_number} is {status}: its {names} {'are' if len(frozen) > 1 else 'is'} released with the "
            "approval and cannot be changed now. Ask a lead.",
            field=frozen[0], status=part.status, fields=frozen,
        )
    if not reason:
        raise ReleasedFieldsFrozen(
            f"{part.part_number} is {status}: changing its {names} is an edit of a released part; "
            "give a reason (it goes on the timeline).",
            field="reason", status=part.status, fields=frozen,
        )
    told = "; ".join(f"{_FIELD_NAMES[name]} {changes[name][0]} → {changes[name][1]}" for name in frozen)
    return f"{reason} ({told})"


def part_update(*, part, actor, reason="", **fields):
    """Change a part's fields. Those an approval released (RELEASED_FIELDS) are frozen while the part
    is released: a fabricator is refused, a lead needs a `reason`, which goes on the timeline."""
    if not permissions.can_edit_parts(actor):
        raise NotPermitted("Only leads and fabricators may edit parts.")
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise Invalid(f"These fields cannot be edited: {', '.join(sorted(unknown))}.")
    reason = (reason or "").strip()
    with transaction.atomic():
        part = Part.objects.select_for_update().get(pk=part.pk)
        changes = {name: [getattr(part, name), value] for name, value in fields.items() if getattr(part, name) != value}
        released_edit = _check_released_fields(part, actor, changes, reason)
        for name, value in fields.items():
            setattr(part, name, value)
        try:
            with transaction.atomic():
                part.save()
        except IntegrityError:
            raise Conflict(f"Part number {part.part_number!r} is already taken.", field="part_number") from None
        if released_edit:
            PartEvent.objects.create(
                part=part, action=Action.EDIT_RELEASED, from_status=part.status, to_status=part.status, actor=actor,
                note=released_edit,
            )
        if changes:
            event_record(EventType.PART_UPDATED, actor=actor, part=part, changes=changes)
    return part


def part_delete(*, part, actor):
    """Delete a part that has no files left: files.services.part_delete_with_files removes them first."""
    permissions.check_may_delete(actor)
    with transaction.atomic():
        part_lock(part.pk).delete()


def part_lock(part_id):
    """The part re-read under a row lock, held until the caller's transaction ends."""
    try:
        return Part.objects.select_for_update().get(pk=part_id)
    except Part.DoesNotExist:
        raise Conflict("This part no longer exists.") from None


def check_part_takes_files(part):
    if part.status == Status.RETIRED:
        raise Conflict(f"{part.part_number} is retired; restore it before adding files.", status=part.status)


def part_upload_record(*, part, actor, note):
    """Put a new file on the timeline of a part the caller has locked (part_lock), as a move would be."""
    part.save(update_fields=["updated_at"])
    PartEvent.objects.create(
        part=part, action=Action.UPLOAD, from_status=part.status, to_status=part.status, actor=actor, note=note,
    )


def _move(action, part, actor, note="", decide=None, **changes):
    """Make one lifecycle move; the one place that writes status and moves on the timeline.

    `decide(part)` returns more changes, worked out from the part as it is under the lock; `note`
    may be a function of the part as moved, for a note that tells what was decided.
    """
    permissions.check_may_attempt(actor, action)
    move = MOVES[action]
    with transaction.atomic():
        part = part_lock(part.pk)
        if part.status not in move.sources:
            raise Conflict(_refusal(action, part, actor), status=part.status)
        permissions.check_may_move(actor, action, part)
        from_status, previous_assignee = part.status, part.assignee
        if move.target is not None:
            part.status = move.target
        if decide:
            changes.update(decide(part))
        for name, value in changes.items():
            setattr(part, name, value)
        part.save()
        if callable(note):
            note = note(part)
        PartEvent.objects.create(
            part=part, action=action, from_status=from_status, to_status=part.status, actor=actor, note=note,
        )
        event_record(
            EventType.PART_MOVED, actor=actor, part=part, action=action, from_status=from_status,
            to_status=part.status, note=note,
            previous_assignee=previous_assignee.get_username() if previous_assignee else None,
        )
    return part


def _refusal(action, part, actor):
    """Why a move cannot start from the part's status: for a part someone is making, who."""
    if action in (Action.CLAIM, Action.ASSIGN) and part.status == Status.IN_PROGRESS and part.assignee_id:
        if part.assignee_id == actor.pk:
            return f"You are already making {part.part_number}."
        return (
            f"{part.part_number} is already being made by {part.assignee.get_username()}; "
            "ask them or a lead to put it back."
        )
    return illegal_move_message(action, part.status)


# Each move's service, found by the API, the pages and the admin from the move's name.
MOVE_SERVICES = {}


def _move_service(action):
    """Make the decorated function the service of `action`: its body is checked against the
    move's declaration (parts.moves.MOVE_SPECS) first, so it gets every field, stripped, the
    required ones present and any person one who can be assigned."""
    spec = MOVE_SPECS[action]

    def register(service):
        @wraps(service)
        def checked(*, part, actor, **body):
            return service(part=part, actor=actor, **spec.clean(action, body))

        MOVE_SERVICES[action] = checked
        return checked

    return register


# A 3D model in these states has not been looked at: its revision is approved only when chosen by name.
_UNCONFIRMED_MODEL = {
    ConversionStatus.FAILED: "{label}'s 3D model failed to convert",
    ConversionStatus.PENDING: "{label} is still waiting to be converted",
    ConversionStatus.RUNNING: "{label} is still being converted",
}


def _latest_drawing(part):
    return part.revisions.filter(kind=Kind.DRAWING).order_by("-number").first()


def _release(part, revision, thickness_confirmed=False):
    """What an approval of `part` (locked) pins: the chosen STEP revision, else the latest one, and the
    latest drawing. A CNC part is cut from its model, so it is not approved without one; a model that
    failed to convert or is not converted yet is approved only when the lead chose it; a plate not as
    thick as the part says only when the lead confirmed it."""
    if revision is not None:
        revision = Revision.objects.filter(pk=revision.pk, part=part, kind=Kind.STEP).first()
        if revision is None:
            raise Invalid(f"That is not one of {part.part_number}'s STEP revisions.", field="revision")
    else:
        revision = part.revisions.latest_step()
        if revision is not None and revision.conversion_status in _UNCONFIRMED_MODEL:
            told = _UNCONFIRMED_MODEL[revision.conversion_status].format(label=revision.label)
            raise Conflict(f"{told}; choose {revision.label} by name to approve it anyway.", field="revision")
    if revision is None and part.type == Type.CNC:
        raise Conflict("no STEP revision; a CNC part is approved with the model it is cut from.")
    mismatch = thickness_mismatch(part, revision)
    if mismatch is not None and not thickness_confirmed:
        raise Conflict(f"{revision.label}: {mismatch.message} Confirm the thickness (thickness_confirmed) to "
                       "approve it anyway.", field="thickness_confirmed")
    return {"approved_revision": revision, "approved_drawing": _latest_drawing(part)}


def _confirmed_thickness(part):
    """What the timeline says of a thickness the lead confirmed at approval: "" when there was none to confirm."""
    mismatch = thickness_mismatch(part, part.approved_revision)
    return f"Thickness confirmed: {mismatch.message.rstrip('.')}" if mismatch else ""


def _pinned(part):
    """What the timeline says a release pinned: "R2 bracket.step with D1 bracket.pdf"."""
    pinned = [f"{r.label} {r.filename}" for r in (part.approved_revision, part.approved_drawing) if r is not None]
    return " with ".join(pinned)


def _with_note(*texts):
    return ". ".join(text for text in texts if text)


def _record_built_revision(part):
    """What the fabricator built: the approved revision and drawing, or the latest when none was approved."""
    built = part.approved_revision or part.revisions.latest_step()
    return {
        "built_revision": built, "built_sha256": built.sha256 if built else "",
        "built_drawing": part.approved_drawing or _latest_drawing(part),
    }


@_move_service(Action.APPROVE)
def part_approve(*, part, actor, note, revision=None, thickness_confirmed=False):
    """Release the part: pin `revision` (the latest STEP revision when None) and the latest drawing."""
    return _move(
        Action.APPROVE, part, actor,
        lambda moved: _with_note(f"Approved {_pinned(moved)}" if _pinned(moved) else "", _confirmed_thickness(moved),
                                 note),
        decide=lambda locked: _release(locked, revision, thickness_confirmed), reviewer=actor,
        reviewed_at=timezone.now(),
    )


@_move_service(Action.REPIN)
def part_repin(*, part, actor, note, revision=None, thickness_confirmed=False):
    """Approve another revision of a released part (a newer upload does not move the pin by itself)."""
    before = {}

    def decide(locked):
        before["label"] = locked.approved_revision.label if locked.approved_revision else "no model"
        pins = _release(locked, revision, thickness_confirmed)
        if pins["approved_revision"] is None:
            raise Conflict("no STEP revision to approve.")
        if (pins["approved_revision"].pk, getattr(pins["approved_drawing"], "pk", None)) == (
            locked.approved_revision_id, locked.approved_drawing_id
        ):
            raise Conflict(f"{pins['approved_revision'].label} is already the approved revision.", field="revision")
        return pins

    return _move(
        Action.REPIN, part, actor,
        lambda moved: _with_note(f"Approved {_pinned(moved)} in place of {before['label']}",
                                 _confirmed_thickness(moved), note),
        decide=decide, reviewer=actor, reviewed_at=timezone.now(),
    )


@_move_service(Action.CLAIM)
def part_claim(*, part, actor):
    return _move(Action.CLAIM, part, actor, assignee=actor, claimed_at=timezone.now())


@_move_service(Action.ASSIGN)
def part_assign(*, part, actor, assignee):
    return _move(
        Action.ASSIGN, part, actor, f"Assigned to {assignee.username}", assignee=assignee, claimed_at=timezone.now(),
    )


@_move_service(Action.UNCLAIM)
def part_unclaim(*, part, actor, storage_location):
    return _move(
        Action.UNCLAIM, part, actor, f"Stored at {storage_location}",
        assignee=None, claimed_at=None, storage_location=storage_location,
    )


@_move_service(Action.COMPLETE)
def part_complete(*, part, actor, storage_location):
    changes = {"completed_at": timezone.now(), "completed_incorrectly": False}
    if storage_location:
        changes["storage_location"] = storage_location
    return _move(
        Action.COMPLETE, part, actor, f"Stored at {storage_location}" if storage_location else "",
        decide=_record_built_revision, **changes,
    )


@_move_service(Action.REVERT)
def part_revert(*, part, actor, reason):
    return _move(Action.REVERT, part, actor, reason, completed_at=None)


@_move_service(Action.MARK_INCORRECT)
def part_mark_incorrect(*, part, actor, reason):
    return _move(
        Action.MARK_INCORRECT, part, actor, reason,
        completed_incorrectly=True, completed_at=None, assignee=None, claimed_at=None,
    )


@_move_service(Action.SEND_BACK)
def part_send_back(*, part, actor, reason):
    return _move(
        Action.SEND_BACK, part, actor, reason,
        reviewer=None, reviewed_at=None, approved_revision=None, approved_drawing=None, assignee=None,
        claimed_at=None,
    )


@_move_service(Action.RETIRE)
def part_retire(*, part, actor, reason):
    return _move(Action.RETIRE, part, actor, reason, assignee=None, claimed_at=None)


@_move_service(Action.RESTORE)
def part_restore(*, part, actor, note):
    return _move(
        Action.RESTORE, part, actor, note, reviewer=None, reviewed_at=None, approved_revision=None,
        approved_drawing=None, completed_at=None,
    )


def page_preference_set(*, user, high_contrast):
    """Keep a person's choice of the high-contrast theme."""
    PagePreference.objects.update_or_create(user=user, defaults={"high_contrast": high_contrast})
