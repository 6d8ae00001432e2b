from auditlog.mixins import AuditlogHistoryAdminMixin
from django import forms
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import models
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from audit.selectors import part_history
from files.admin import RevisionInline, revision_link
from partsite.admin import badge
from partsite.errors import DomainError
from parts import permissions, services
from parts.exchange import IMPORT_COLUMNS, MAX_IMPORT_BYTES, parts_import
from parts.forms import MoveForm
from parts.lifecycle import BADGE_COLOURS, Action, Status
from parts.materials import part_thickness_mismatch
from parts.models import Material, Part, PartEvent
from parts.moves import MOVE_SPECS


class PartEventInline(admin.TabularInline):
    model = PartEvent
    fields = ["created_at", "action", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Timeline"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return Status.choices

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file", help_text=f"UTF-8, with a header line naming the columns: {', '.join(IMPORT_COLUMNS)}. "
                                    "Only name is required; the export's other columns are ignored.",
    )


# The previewed file travels to the confirmation signed, so what is confirmed is what was checked.
IMPORT_SALT = "parts.admin.import"
IMPORT_PREVIEW_SECONDS = 3600


def _bulk(request, queryset, service, **arguments):
    """Run one service per selected part; report what was done and what was refused."""
    done, refused = 0, []
    for part in queryset:
        try:
            service(part=part, actor=request.user, **arguments)
            done += 1
        except DomainError as error:
            refused.append(f"{part.part_number}: {error.message}")
    if done:
        messages.success(request, f"{done} part{'s' if done != 1 else ''} updated.")
    for message in refused:
        messages.error(request, message)


def _move_action(action):
    """An admin action making `action` on each selected part; a move that needs an answer (a
    reason, an assignee) first asks for it on an intermediate page, like Django's delete
    confirmation. The form and the checks come from the move's declaration (parts.moves)."""
    spec = MOVE_SPECS[action]

    def make_move(modeladmin, request, queryset):
        form = MoveForm(spec, data=request.POST if "apply" in request.POST or not spec.asks else None)
        if form.is_valid():
            _bulk(request, queryset, services.MOVE_SERVICES[action], **form.cleaned_data)
            return None
        return render(
            request,
            "admin/parts/part/action_form.html",
            {"title": action.label, "form": form, "parts": queryset, "action_name": action.value,
             "opts": Part._meta, "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME},
        )

    make_move.__name__ = action.value
    return admin.action(description=f"{action.label}: the selected parts")(make_move)


@admin.register(Part)
class PartAdmin(AuditlogHistoryAdminMixin, admin.ModelAdmin):
    list_display = [
        "part_number", "name", "status_badge", "category", "type", "subsystem", "material", "amount",
        "assignee", "updated_at",
    ]
    list_display_links = ["part_number", "name"]
    list_filter = [StatusFilter, "type", "subsystem", "material", "completed_incorrectly", "assignee"]
    search_fields = ["part_number", "name", "notes", "subsystem", "material", "assignee__username"]
    list_select_related = ["assignee"]
    readonly_fields = [
        "status_badge", "category", "assignee", "claimed_at", "reviewer", "reviewed_at", "completed_at",
        "completed_incorrectly", "approved", "latest", "built", "created_by", "created_at", "updated_at",
        "built_sha256", "history", "thickness_check",
    ]
    fieldsets = [
        (None, {"fields": ["part_number", "name", "type", "amount", "notes", "onshape_url"]}),
        ("Material", {"fields": ["material", "material_thickness", "thickness_check", "subsystem"]}),
        ("Lifecycle", {"fields": readonly_fields[:8] + ["storage_location"]}),
        ("CAD", {"fields": ["approved", "latest", "built", "built_sha256"]}),
        ("Record", {"fields": ["created_by", "created_at", "updated_at"]}),
        ("History", {"fields": ["history"], "classes": ["collapse"]}),
    ]
    inlines = [RevisionInline, PartEventInline]
    actions = [_move_action(move) for move in (Action.APPROVE, Action.ASSIGN, Action.SEND_BACK)]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    show_auditlog_history_link = True
    change_list_template = "admin/parts/part/change_list.html"

    def get_urls(self):
        importing = path("import/", self.admin_site.admin_view(self.import_view), name="parts_part_import")
        return [importing, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_import": permissions.can_import_parts(request.user)}
        return super().changelist_view(request, extra_context)

    def import_view(self, request):
        """Upload a CSV file, see the dry run's report, then confirm: all the parts are created, or none."""
        if not permissions.can_import_parts(request.user):
            raise PermissionDenied
        form, report, token = ImportForm(), None, ""
        if request.method == "POST" and "confirm" in request.POST:
            try:
                data = signing.loads(request.POST.get("token", ""), salt=IMPORT_SALT, max_age=IMPORT_PREVIEW_SECONDS)
            except signing.BadSignature:
                messages.error(request, "This preview has expired; upload the file again.")
                return redirect("admin:parts_part_import")
            report = parts_import(data=data.encode("latin-1"), actor=request.user)
            if report.ok:
                messages.success(request, report.summary())
                return redirect("admin:parts_part_changelist")
        elif request.method == "POST":
            form = ImportForm(request.POST, request.FILES)
            if form.is_valid():
                data = form.cleaned_data["file"].read(MAX_IMPORT_BYTES + 1)
                report = parts_import(data=data, actor=request.user, dry_run=True)
                if report.ok:
                    token = signing.dumps(data.decode("latin-1"), salt=IMPORT_SALT, compress=True)
        context = {
            **self.admin_site.each_context(request), "title": "Import parts from CSV", "opts": Part._meta,
            "form": form, "report": report, "token": token,
        }
        return render(request, "admin/parts/part/import.html", context)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, part):
        return badge(BADGE_COLOURS[part.status], part.get_status_display())

    @admin.display(description="Approved revision")
    def approved(self, part):
        return revision_link(part.approved_revision)

    @admin.display(description="Thickness check")
    def thickness_check(self, part):
        if part.pk is None:
            return "-"
        mismatch = part_thickness_mismatch(part)
        if mismatch is None:
            return "no mismatch found (the model is not a plate, or agrees, or nothing is stated)"
        return format_html('<strong class="warning-inline">{}</strong>', mismatch.message)

    @admin.display(description="Latest STEP revision")
    def latest(self, part):
        return revision_link(part.revisions.latest_step())

    @admin.display(description="Built from")
    def built(self, part):
        return revision_link(part.built_revision)

    @admin.display(description="Field changes, moves, revisions and file accesses, oldest first")
    def history(self, part):
        if part.pk is None:
            return "-"
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((f"{timezone.localtime(entry.at):%Y-%m-%d %H:%M:%S}", entry.kind, entry.actor or "-", entry.summary)
             for entry in part_history(part)),
        )
        return format_html(
            "<table><thead><tr><th>When</th><th>Kind</th><th>Who</th><th>What</th></tr></thead>"
            "<tbody>{}</tbody></table>", rows,
        )

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in form.cleaned_data if name in services.EDITABLE_FIELDS}
        try:
            if change:
                services.part_update(part=obj, actor=request.user, **fields)
            else:
                created = services.part_create(actor=request.user, **fields)
                obj.pk, obj.part_number = created.pk, created.part_number
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)


@admin.register(Material)
class MaterialAdmin(AuditlogHistoryAdminMixin, admin.ModelAdmin):
    """The stock materials and their densities: a part's mass is its model's volume times its material's density."""

    list_display = ["name", "density_kg_m3", "default_thickness", "other_names"]
    search_fields = ["name", "other_names"]
    show_auditlog_history_link = True
