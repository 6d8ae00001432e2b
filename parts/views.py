"""The shop-floor pages: the board, a part, and the stats. They call the same services as the API."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from audit.models import Follow
from audit.selectors import part_history
from files import onshape_import
from files.models import ConversionStatus, Kind
from files.permissions import check_may_upload
from files.responses import revision_response
from files.scanning import is_servable
from partsite.errors import DomainError, NotPermitted
from partsite.pages import role_required, run_or_tell
from parts import selectors
from parts.filters import PartFilter
from parts.forms import MoveForm
from parts.lifecycle import BADGE_COLOURS, MOVES, Action, Category, Status
from parts.materials import material_for, materials_by_name, thickness_mismatch
from parts.models import Part, category_q
from parts.moves import MOVE_SPECS
from parts.permissions import allowed_actions
from parts.serializers import MOVE_BODY_SERIALIZERS
from parts.services import MOVE_SERVICES

BOARD_QUEUES = (Category.REVIEW, Category.CNC, Category.HAND, Category.MISC, Category.COMPLETED)
# A queue to open when none is asked for: the first of these with parts in it.
DEFAULT_QUEUE_ORDER = (Category.CNC, Category.HAND, Category.MISC, Category.REVIEW, Category.COMPLETED)
BOARD_PAGE_SIZE = 48

def _badge(status):
    return {"label": Status(status).label, "colour": BADGE_COLOURS[status]}


@role_required
def board(request):
    filters = request.GET.copy()
    filters.pop("category", None)
    queue = request.GET.get("queue", "")
    filtered = PartFilter(filters, queryset=selectors.part_queryset(), request=request).qs
    stats = selectors.part_stats(filtered)["categories"]
    if queue not in BOARD_QUEUES:
        queue = next((q for q in DEFAULT_QUEUE_ORDER if stats[q]["count"]), Category.CNC)
    parts = selectors.board_order(filtered.filter(category_q(queue)))
    page = Paginator(parts, BOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    for part in page:
        part.badge = _badge(part.status)
        part.can_claim = Action.CLAIM in allowed_actions(request.user, part)
        part.thickness_mismatch = thickness_mismatch(part, part.approved_revision or part.latest_revision)
    choices = selectors.board_filter_choices()
    kept = request.GET.copy()
    for name in ("queue", "page"):
        kept.pop(name, None)
    return render(request, "parts/board.html", {
        "queues": [{"value": q.value, "label": q.label, **stats[q]} for q in BOARD_QUEUES],
        "queue": queue,
        "page": page,
        "filters": {name: request.GET.get(name, "") for name in ("subsystem", "material", "assignee", "search")},
        "kept_query": kept.urlencode(),
        "my_work": request.GET.get("assignee") == "me",
        **choices,
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
            "target": _badge(MOVES[action].target),
        })
    return buttons


@role_required
def part_detail(request, pk):
    part = get_object_or_404(selectors.part_queryset(), pk=pk)
    revisions = list(part.revisions.select_related("uploaded_by").order_by("kind", "-number"))
    shown = part.approved_revision or part.latest_revision
    try:
        check_may_upload(request.user)
        may_upload = part.status != Status.RETIRED
    except NotPermitted:
        may_upload = False
    return render(request, "parts/detail.html", {
        "part": part,
        "badge": _badge(part.status),
        "queue_label": Category(part.category).label,
        "revisions": [r for r in revisions if r.kind == Kind.STEP],
        "drawings": [r for r in revisions if r.kind == Kind.DRAWING],
        "shown": shown,
        "model_ready": (
            shown is not None and shown.conversion_status == ConversionStatus.READY and is_servable(shown)
        ),
        "moves": _move_buttons(request.user, part),
        "timeline": _with_repeats_folded(part_history(part)[::-1]),
        "may_upload": may_upload,
        "following": Follow.objects.filter(user=request.user, part=part).exists(),
        "may_import": may_upload and bool(part.onshape_url) and onshape_import.is_configured(),
        "last_import": part.onshape_imports.select_related("revision").first(),
        **_geometry_context(part, shown),
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
    """A PDF drawing shown in the browser rather than downloaded."""
    part = get_object_or_404(selectors.part_queryset(), pk=pk)
    drawing = get_object_or_404(part.revisions, pk=revision_pk, kind=Kind.DRAWING)
    try:
        return revision_response(request, drawing, inline=True)
    except DomainError as refused:  # not served (malware scan): said in words, the tab shows no page around it
        return HttpResponse(refused.message, status=refused.http_status, content_type="text/plain; charset=utf-8")


@role_required
def stats(request):
    summary = selectors.part_stats()
    return render(request, "parts/stats.html", {
        "queues": [{"value": q.value, "label": q.label, **summary["categories"][q]} for q in Category],
        "statuses": [{**_badge(s), **summary["statuses"][s]} for s in Status],
        "total": summary["total"],
        "buckets": selectors.completion_time_buckets(),
        "leaders": selectors.completion_leaderboard(),
    })
