"""The admin's moves and deletes, for one part (buttons on its page) and for many (bulk actions).

Nothing here decides a move: each calls the move's service (parts.services.MOVE_SERVICES) or the
API's delete (files.services.part_delete_with_files). A bulk action first shows, per part, what
will happen: it makes the move with the same service and the same answers inside a transaction
that is rolled back, so what it shows is what the service does, refusals included. Storage I/O
happens only once a deletion commits (on_commit), so the rolled-back run touches no file.
"""

from django.contrib import admin, messages
from django.db import transaction
from django.shortcuts import render

from files.services import part_delete_with_files
from partsite.errors import DomainError
from parts.forms import MoveForm
from parts.lifecycle import Action, Status
from parts.models import Part
from parts.moves import MOVE_SPECS
from parts.permissions import allowed_actions
from parts.services import MOVE_SERVICES


class _RolledBack(Exception):
    def __init__(self, outcome):
        super().__init__(outcome)
        self.outcome = outcome


def _files(part):
    count = part.revisions.count()
    return f"{count} file{'s' if count != 1 else ''}"


def _pins(part):
    pinned = [f"{r.label} {r.filename}" for r in (part.approved_revision, part.approved_drawing) if r is not None]
    return " with ".join(pinned) or "no file"


def describe(action, before, after):
    """What a move did to a part, in the words of the admin's report: "In review → Approved; pins R2 x.step"."""
    told = []
    if after.status != before.status:
        told.append(f"{Status(before.status).label} → {Status(after.status).label}")
    if action in (Action.APPROVE, Action.REPIN):
        told.append(f"pins {_pins(after)}")
    if after.assignee_id and after.assignee_id != before.assignee_id:
        told.append(f"assigned to {after.assignee.get_username()}")
    return "; ".join(told) or "no change"


def run(action, part, actor, arguments):
    """Make the move; (True, what it did) or (False, why it was refused)."""
    before = Part.objects.filter(pk=part.pk).first()
    if before is None:
        return False, "This part no longer exists."
    try:
        if action == "delete":
            files = _files(before)
            part_delete_with_files(part=part, actor=actor)
            return True, f"deleted with its {files}"
        moved = MOVE_SERVICES[action](part=part, actor=actor, **arguments)
    except DomainError as refused:
        return False, refused.message
    return True, describe(action, before, moved)


def dry_run(action, part, actor, arguments):
    """What `run` would do, found by doing it in a transaction that is rolled back."""
    try:
        with transaction.atomic():
            outcome = run(action, part, actor, arguments)
            raise _RolledBack(outcome)
    except _RolledBack as done:
        return done.outcome


def _report(request, results):
    for part, (done, told) in results:
        (messages.success if done else messages.error)(request, f"{part.part_number}: {told}")


def bulk_action(action):
    """A bulk action making `action` (a move, or "delete") on each selected part.

    First a page lists the parts and asks what the move needs (a reason, an assignee); once that is
    given it shows, per part, what will happen; Confirm does it and reports per part what happened
    and why not, e.g. "P-00031: no STEP revision; ...". Each part's latest revision is the one a bulk
    approval pins (a revision is chosen part by part, on the part's page)."""
    spec = MOVE_SPECS.get(action)
    label = Action(action).label if spec else "Delete"

    def act(modeladmin, request, queryset):
        parts = list(queryset.order_by("part_number"))
        asked = "apply" in request.POST or "preview" in request.POST
        form = MoveForm(spec, data=request.POST if asked or not spec.asks else None) if spec else None
        ready = form is None or form.is_valid()
        arguments = {name: value for name, value in form.cleaned_data.items()} if form and ready else {}
        if ready and "apply" in request.POST:
            _report(request, [(part, run(action, part, request.user, arguments)) for part in parts])
            return None
        plans = [(part, dry_run(action, part, request.user, arguments) if ready else None) for part in parts]
        return render(request, "admin/parts/part/action_form.html", {
            **modeladmin.admin_site.each_context(request),
            "title": f"{label}: {len(parts)} part{'s' if len(parts) != 1 else ''}",
            "label": label, "form": form, "plans": plans, "ready": ready, "action_name": act.__name__,
            "opts": Part._meta, "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        })

    act.__name__ = "delete_parts" if action == "delete" else str(action.value)
    description = "Delete the selected parts and their files" if action == "delete" else f"{label}: the selected parts"
    return admin.action(description=description)(act)


def object_move(action):
    """The button on a part's admin page making `action` on it (django-object-actions calls it with the
    part): it asks what the move takes on a page of its own (the revision to approve, with previews;
    whom to assign; a reason), then calls the move's service and goes back to the part."""
    spec = MOVE_SPECS[action]

    def move(modeladmin, request, part):
        if action.value not in allowed_actions(request.user, part):
            messages.error(request, f"You may not {action.label.lower()} {part.part_number} now.")
            return None
        form = MoveForm(spec, part=part, admin=True, data=request.POST if "apply" in request.POST else None)
        if not spec.fields or form.is_valid():
            done, told = run(action, part, request.user, form.cleaned_data if spec.fields else {})
            (messages.success if done else messages.error)(request, f"{part.part_number}: {told}")
            return None
        return render(request, "admin/parts/part/move_form.html", {
            **modeladmin.admin_site.each_context(request),
            "title": f"{action.label}: {part.part_number} {part.name}", "part": part, "form": form,
            "label": action.label, "opts": Part._meta, "original": part,
        })

    move.__name__ = action.value
    move.label = action.label
    move.short_description = MOVE_SPECS[action].summary
    move.methods = ("POST",)
    move.button_type = "form"
    return move
