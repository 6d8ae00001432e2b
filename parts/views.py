"""The shop-floor pages: the board, a part, and the stats. They call the same services as the API."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from audit.models import Follow
from audit.selectors import part_history
from files import onshape_import
from files.models import CONTENT_TYPES, ConversionStatus, Kind
from files.permissions import check_may_upload
from files.responses import revision_response
from files.scanning import is_servable
from files.services import check_content, check_size, kind_for_filename, revision_upload
from files.upload_handler import receiving_uploads
from partsite.errors import DomainError, NotPermitted
from partsite.pages import role_required, run_or_tell
from partsite.roles import Role, role_of
from parts import selectors
from parts.filters import PartFilter
from parts.forms import FirstFilesForm, MoveForm, PartForm
from parts.lifecycle import BADGE_COLOURS, MOVES, RELEASED, Action, Category, Status
from parts.materials import material_for, materials_by_name, thickness_mismatch
from parts.models import Part, category_q
from parts.moves import MOVE_SPECS
from parts.permissions import allowed_actions, can_edit_parts, may_edit_released_parts
from parts.serializers import MOVE_BODY_SERIALIZERS
from parts.services import MOVE_SERVICES, page_preference_set, part_create, part_update

BOARD_QUEUES = (Category.REVIEW, Category.CNC, Category.HAND, Category.MISC, Category.COMPLETED)
# A queue to open when none is asked for: the first of these with parts in it.
DEFAULT_QUEUE_ORDER = (Category.CNC, Category.HAND, Category.MISC, Category.REVIEW, Category.COMPLETED)
# Every queue at once: what a search and My work open, each card naming its queue.
EVERY_QUEUE = "all"
BOARD_PAGE_SIZE = 48
# The board's orders: (label, order). "What to make next" is the shop's own (selectors.board_order).
BOARD_SORTS = {
    "": ("What to make next", selectors.board_order),
    "newest": ("Newest first", lambda parts: parts.order_by("-created_at", "-id")),
    "part_number": ("Part number", lambda parts: parts.order_by("part_number")),
}


def _badge(status):
    return {"label": Status(status).label, "colour": BADGE_COLOURS[status]}


def board_queues(user):
    """The queues a person's board shows: leads also see the retired parts, to find and restore them."""
    return (*BOARD_QUEUES, Category.RETIRED) if role_of(user) == Role.LEAD else BOARD_QUEUES


@role_required
def board(request):
    filters = request.GET.copy()
    filters.pop("category", None)
    filters.pop("ordering", None)
    queues = board_queues(request.user)
    filtered = PartFilter(filters, queryset=selectors.part_queryset(), request=request).qs
    if Category.RETIRED not in queues:
        filtered = filtered.exclude(status=Status.RETIRED)
    stats = selectors.part_stats(filtered)["categories"]
    # A search or a person's work spans every queue; the tabs then count the matches in each.
    spanning = bool(request.GET.get("search", "").strip() or request.GET.get("assignee"))
    queue = request.GET.get("queue", "")
    if queue not in queues and not (queue == EVERY_QUEUE and spanning):
        queue = EVERY_QUEUE if spanning else next((q for q in DEFAULT_QUEUE_ORDER if stats[q]["count"]), Category.CNC)
    sort = request.GET.get("sort", "") if request.GET.get("sort", "") in BOARD_SORTS else ""
    shown = filtered if queue == EVERY_QUEUE else filtered.filter(category_q(queue))
    page = Paginator(BOARD_SORTS[sort][1](shown), BOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    reasons = selectors.remake_reasons(page)
    for part in page:
        part.remake_reason = reasons.get(part.pk)
        part.badge = _badge(part.status)
        part.queue_label = Category(part.category).label
        part.can_claim = Action.CLAIM in allowed_actions(request.user, part)
        part.thickness_mismatch = thickness_mismatch(part, part.approved_revision or part.latest_revision)
    kept = request.GET.copy()
    for name in ("queue", "page"):
        kept.pop(name, None)
    tabs = [{"value": q.value, "label": q.label, **stats[q]} for q in queues]
    if spanning:
        tabs.insert(0, {"value": EVERY_QUEUE, "label": "All queues", "count": sum(tab["count"] for tab in tabs)})
    return render(request, "parts/board.html", {
        "queues": tabs,
        "queue": queue,
        "every_queue": queue == EVERY_QUEUE,
        "page": page,
        "filters": {name: request.GET.get(name, "") for name in ("subsystem", "material", "assignee", "search")},
        "sort": sort,
        "sorts": [(value, label) for value, (label, _) in BOARD_SORTS.items()],
        "kept_query": kept.urlencode(),
        "my_work": request.GET.get("assignee") == "me",
        "may_create": can_edit_parts(request.user),
        **selectors.board_filter_choices(),
    })


def _move_buttons(user, part):
    """The moves this user may make on this part now, each with its button and the form it asks for."""
    buttons = []
    for action in allowed_actions(user, part):
        action = Action(action)
        spec = MOVE_SPECS[action]
        buttons.append({
            "action": action.value,
            "label": action.label,
            "style": spec.style.value,
            "form": MoveForm(spec, part=part, auto_id=f"{action.value}-%s"),
            "target": _badge(MOVES[action].target or part.status),
        })
    return buttons


def _files_and_model(part):
    """What the part page shows of its files and its 3D model, which the page keeps up to date (part_live),
    of a part read with selectors.part_queryset()."""
    revisions = list(part.revisions.select_related("uploaded_by").order_by("kind", "-number"))
    shown = part.approved_revision or part.latest_revision
    model_ready = shown is not None and shown.conversion_status == ConversionStatus.READY and is_servable(shown)
    busy = [r for r in revisions if r.conversion_status in (ConversionStatus.PENDING, ConversionStatus.RUNNING)]
    return {
        "part": part,
        "revisions": [r for r in revisions if r.kind == Kind.STEP],
        "drawings": [r for r in revisions if r.kind == Kind.DRAWING],
        "shown": shown,
        "model_ready": model_ready,
        # Every revision the 3D view can show, for its revision picker and compare mode.
        "models": [
            r for r in revisions
            if r.kind == Kind.STEP and r.conversion_status == ConversionStatus.READY and is_servable(r)
        ],
        # What the 3D panel shows, as one word: it changes when the panel must be drawn again.
        "viewer_state": f"{shown.pk}:{'ready' if model_ready else shown.conversion_status}" if shown else "none",
        "busy": bool(busy),
        **_geometry_context(part, shown),
    }


@role_required
def part_detail(request, pk):
    part = get_object_or_404(selectors.part_queryset(), pk=pk)
    try:
        check_may_upload(request.user)
        may_upload = part.status != Status.RETIRED
    except NotPermitted:
        may_upload = False
    return render(request, "parts/detail.html", {
        **_files_and_model(part),
        "remake_reason": selectors.remake_reasons([part]).get(part.pk),
        "badge": _badge(part.status),
        "queue_label": Category(part.category).label,
        "moves": _move_buttons(request.user, part),
        "allowed": allowed_actions(request.user, part),
        "released_statuses": [status.value for status in RELEASED],
        "timeline": _with_repeats_folded(part_history(part)[::-1]),
        "may_upload": may_upload,
        "may_edit": can_edit_parts(request.user),
        "following": Follow.objects.filter(user=request.user, part=part).exists(),
        "may_import": may_upload and bool(part.onshape_url) and onshape_import.is_configured(),
        "last_import": part.onshape_imports.select_related("revision").first(),
    })


@role_required
def part_live(request, pk):
    """The part page's files and 3D panel as they are now, for the page to update itself without reloading."""
    context = _files_and_model(get_object_or_404(selectors.part_queryset(), pk=pk))
    return JsonResponse({
        "busy": context["busy"],
        "viewer_state": context["viewer_state"],
        "viewer_html": render_to_string("parts/_viewer.html", context, request=request),
        "files_html": render_to_string("parts/_files.html", context, request=request),
        "revisions": [
            {"id": r.pk, "label": r.label, "filename": r.filename, "conversion_status": r.conversion_status}
            for r in (*context["revisions"], *context["drawings"])
        ],
    })


def _geometry_context(part, shown):
    """The facts block of the part page (templates/parts/_facts.html) and the size the 3D view shows."""
    facts = shown.facts if shown is not None else None
    material = material_for(part.material, materials_by_name()) if facts else None
    return {
        "facts": facts,
        "facts_material": material,
        "facts_mass_kg": facts.mass_kg(material.density_kg_m3) if facts and material else None,
        "thickness_mismatch": thickness_mismatch(part, shown),
        # The B-rep's size where measured, else the mesh's: the 3D view shows the server's size.
        "shown_size_mm": (facts.size_mm if facts and facts.size_mm else shown.bbox_mm) if shown else None,
    }


def _with_repeats_folded(history):
    """(entry, times) pairs: someone opening the same 3D view five times in a row is one line."""
    folded = []
    for entry in history:
        previous = folded[-1][0] if folded else None
        if previous and entry.kind == previous.kind == "access" and (entry.actor, entry.summary) == (
            previous.actor, previous.summary
        ):
            folded[-1][1] += 1
        else:
            folded.append([entry, 1])
    return folded


@require_POST
@role_required
def part_move(request, pk, action):
    part = get_object_or_404(selectors.part_queryset(), pk=pk)
    if action not in MOVE_SPECS:
        messages.error(request, f"There is no move called {action!r}.")
        return _back(request, part)
    action = Action(action)
    spec = MOVE_SPECS[action]
    # The page's form sends the move's body as the API takes it, so it gets the API's checks and messages.
    arguments = {}
    if action in MOVE_BODY_SERIALIZERS:
        body = MOVE_BODY_SERIALIZERS[action](data=request.POST)
        if not body.is_valid():
            for problems in body.errors.values():
                for problem in problems:
                    messages.error(request, problem)
            return _back(request, part)
        arguments = body.validated_data
    confirmation = spec.confirmation
    if confirmation and confirmation.applies(part) and not request.POST.get(confirmation.name):
        messages.error(request, confirmation.refusal.format(part=part))
        return _back(request, part)
    service = MOVE_SERVICES[action]
    run_or_tell(
        request,
        lambda: service(part=part, actor=request.user, **arguments),
        lambda moved: f"{action.label}: {moved.part_number} is now {Status(moved.status).label.lower()}.",
    )
    return _back(request, part)


def _back(request, part):
    """Back to where the button was (the board's claim button), else to the part."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("part-detail", pk=part.pk)


@require_POST
@role_required
def part_onshape_import(request, pk):
    """The part page's Import from Onshape button: the import runs in the worker; the page shows how it goes."""
    part = get_object_or_404(Part, pk=pk)
    run_or_tell(
        request, lambda: onshape_import.onshape_import_start(part=part, actor=request.user),
        "Importing from Onshape: reload the page in a moment to see the new revision.",
    )
    return redirect("part-detail", pk=part.pk)


@role_required
def drawing_view(request, pk, revision_pk):
    """A PDF drawing shown in the browser rather than downloaded (a DXF, which browsers cannot show, is downloaded)."""
    part = get_object_or_404(selectors.part_queryset(), pk=pk)
    drawing = get_object_or_404(part.revisions, pk=revision_pk, kind=Kind.DRAWING)
    try:
        return revision_response(request, drawing, inline=drawing.content_type == CONTENT_TYPES[Kind.DRAWING])
    except DomainError as refused:  # not served (malware scan): said in words, the tab shows no page around it
        return HttpResponse(refused.message, status=refused.http_status, content_type="text/plain; charset=utf-8")


@role_required
def stats(request):
    summary = selectors.part_stats()
    openable = board_queues(request.user)
    return render(request, "parts/stats.html", {
        "queues": [
            {"value": q.value, "label": q.label, "openable": q in openable, **summary["categories"][q]} for q in Category
        ],
        "statuses": [{**_badge(s), **summary["statuses"][s]} for s in Status],
        "total": summary["total"],
        "buckets": selectors.completion_time_buckets(),
        "leaders": selectors.completion_leaderboard(),
    })


def _may_not_edit(request):
    return render(request, "403.html", {"exception": "Only leads and fabricators may create and edit parts."},
                  status=403)


def _check_first_files(files):
    """Refuse, on its field, a first file that is not what it says, before the part is created:
    a refused file must not leave a part behind."""
    if not files.is_valid():
        return False
    for name, kind in (("step_file", Kind.STEP), ("drawing_file", Kind.DRAWING)):
        uploaded = files.cleaned_data.get(name)
        if not uploaded:
            continue
        try:
            kind_for_filename(uploaded.name, kind)
            check_size(uploaded.digest.size)
            check_content(kind, uploaded.digest, uploaded.name)
        except DomainError as refused:
            files.add_error(name, refused.message)
    return files.is_valid()


@csrf_exempt  # checked below, once the upload handler is in place to take the files as they arrive
@role_required
def part_create_page(request):
    """A new part, with its first STEP model and drawing if they are at hand."""
    if not can_edit_parts(request.user):
        return _may_not_edit(request)
    with receiving_uploads(request):
        return csrf_protect(_part_create_page)(request)


def _part_create_page(request):
    if request.method != "POST":
        return render(request, "parts/edit.html", {"form": PartForm(), "files": FirstFilesForm(), "creating": True})
    form = PartForm(request.POST)
    files = FirstFilesForm(request.POST, request.FILES)
    if all([form.is_valid(), _check_first_files(files)]):
        try:
            part = part_create(actor=request.user, **form.cleaned_data)
        except DomainError as refused:
            form.refuse(refused)
        else:
            added = _add_first_files(request, part, files)
            messages.success(request, f"{part.part_number} {part.name} created{added}.")
            return redirect("part-detail", pk=part.pk)
    return render(request, "parts/edit.html", {"form": form, "files": files, "creating": True}, status=400)


def _add_first_files(request, part, files):
    """Upload the new part's files; the part stays whatever becomes of them (a message says so)."""
    added = []
    for name in ("step_file", "drawing_file"):
        uploaded = files.cleaned_data.get(name)
        if not uploaded:
            continue
        try:
            revision = revision_upload(part=part, actor=request.user, uploaded_file=uploaded)
        except DomainError as refused:
            messages.error(request, f"{uploaded.name} was not added: {refused.message}")
        else:
            added.append(f"{revision.label} {revision.filename}")
    return f" with {' and '.join(added)}" if added else ""


@role_required
def part_edit_page(request, pk):
    part = get_object_or_404(Part, pk=pk)
    if not can_edit_parts(request.user):
        return _may_not_edit(request)
    may_edit_released = may_edit_released_parts(request.user)
    if request.method != "POST":
        form = PartForm(instance=part, may_edit_released=may_edit_released)
        return render(request, "parts/edit.html", {"form": form, "part": part})
    # The form works on a copy: the part as stored is what the service re-reads under its lock.
    form = PartForm(request.POST, instance=Part.objects.get(pk=part.pk), may_edit_released=may_edit_released)
    if form.is_valid():
        try:
            changed = part_update(part=part, actor=request.user, reason=form.reason, **form.changes())
        except DomainError as refused:
            form.refuse(refused)
        else:
            messages.success(request, f"{changed.part_number} saved." if form.changed_data else "Nothing changed.")
            return redirect("part-detail", pk=changed.pk)
    return render(request, "parts/edit.html", {"form": form, "part": part}, status=400)


@require_POST
@role_required
def high_contrast_toggle(request):
    """The header's High contrast button: on or off for this person, on every device."""
    page_preference_set(user=request.user, high_contrast=request.POST.get("high_contrast") == "on")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("board")
