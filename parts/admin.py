from auditlog.mixins import AuditlogHistoryAdminMixin
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import models
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_object_actions import DjangoObjectActions

from audit.selectors import part_history
from files.admin import RevisionInline, revision_link
from files.models import ConversionStatus
from files.services import part_delete_with_files
from partsite.admin import badge
from partsite.errors import DomainError
from parts import permissions, selectors, services
from parts.admin_actions import bulk_action, dry_run, object_move
from parts.exchange import IMPORT_COLUMNS, MAX_IMPORT_BYTES, parts_import
from parts.lifecycle import BADGE_COLOURS, MOVES, RELEASED, Action, Category, Status
from parts.materials import part_thickness_mismatch
from parts.models import Material, Part, PartEvent, category_q
from parts.permissions import allowed_actions


class PartEventInline(admin.TabularInline):
    """The part's timeline, read-only, in words: "Approve: in review → approved", by whom, and why."""

    model = PartEvent
    fields = ["created_at", "move", "who", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "timeline entry"
    verbose_name_plural = "Timeline"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description="What")
    def move(self, event):
        return str(event)

    @admin.display(description="Who")
    def who(self, event):
        return event.actor.get_username() if event.actor else "-"


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return Status.choices

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset


class QueueFilter(admin.SimpleListFilter):
    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return Category.choices

    def queryset(self, request, queryset):
        return queryset.filter(category_q(self.value())) if self.value() else queryset


class NewerRevisionFilter(admin.SimpleListFilter):
    title = "newer revision than approved"
    parameter_name = "newer_revision"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        newer = selectors.parts_with_newer_revision(queryset)
        return newer if self.value() == "yes" else queryset.exclude(pk__in=newer.values("pk"))


class ConversionFailedFilter(admin.SimpleListFilter):
    title = "latest model's conversion"
    parameter_name = "conversion_failed"

    def lookups(self, request, model_admin):
        return [("yes", "Failed"), ("no", "Not failed")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        failed = selectors.parts_whose_latest_conversion_failed(queryset)
        return failed if self.value() == "yes" else queryset.exclude(pk__in=failed.values("pk"))


class PartAdminForm(forms.ModelForm):
    reason = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason for changing a released part",
        help_text="Needed to change the type, material, thickness or amount of an approved part; it goes on the "
                  "timeline.",
    )

    class Meta:
        model = Part
        fields = []  # the admin adds the fieldsets' fields, with its own widgets


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file", help_text=f"UTF-8, with a header line naming the columns: {', '.join(IMPORT_COLUMNS)}. "
                                    "Only name is required; the export's other columns are ignored.",
    )


# The previewed file travels to the confirmation signed, so what is confirmed is what was checked.
IMPORT_SALT = "parts.admin.import"
IMPORT_PREVIEW_SECONDS = 3600


class PartAdmin(DjangoObjectActions, AuditlogHistoryAdminMixin, admin.ModelAdmin):
    """The lead's desk: the review queue, a part's revisions and moves, and bulk moves with a confirmation.

    Every write goes through parts.services (moves, edits) or files.services (deletes), as in the API."""

    form = PartAdminForm
    list_display = [
        "thumbnail", "part_number", "name", "status_badge", "queue", "assignee", "markers", "type", "subsystem",
        "material", "amount", "updated_at",
    ]
    list_display_links = ["part_number", "name"]
    list_filter = [
        StatusFilter, QueueFilter, NewerRevisionFilter, ConversionFailedFilter, "type", "subsystem", "material",
        "completed_incorrectly", "assignee",
    ]
    search_fields = ["part_number", "name", "notes", "subsystem", "material", "assignee__username"]
    readonly_fields = [
        "status_badge", "queue", "assignee", "claimed_at", "reviewer", "reviewed_at", "completed_at",
        "completed_incorrectly", "approved", "approved_drawing_link", "newer", "latest", "built", "built_drawing_link",
        "created_by", "created_at", "updated_at", "built_sha256", "history", "thickness_check",
    ]
    fieldsets = [
        (None, {"fields": ["part_number", "name", "type", "amount", "notes", "onshape_url"]}),
        ("Material", {"fields": ["material", "material_thickness", "thickness_check", "subsystem"]}),
        ("Released part", {"fields": ["reason"], "description": (
            "Approval freezes the type, material, thickness and amount until the part is sent back; a lead "
            "changes them with a reason.")}),
        ("Lifecycle", {"fields": readonly_fields[:8] + ["storage_location"]}),
        ("CAD", {"fields": ["approved", "approved_drawing_link", "newer", "latest", "built", "built_drawing_link",
                            "built_sha256"]}),
        ("Record", {"fields": ["created_by", "created_at", "updated_at"]}),
        ("History", {"fields": ["history"], "classes": ["collapse"]}),
    ]
    inlines = [RevisionInline, PartEventInline]
    actions = [
        *(bulk_action(move) for move in (Action.APPROVE, Action.ASSIGN, Action.SEND_BACK, Action.RETIRE)),
        bulk_action("delete"),
    ]
    # A button on the part's page per move allowed_actions gives (get_change_actions).
    change_actions = [move.value for move in MOVES]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    show_auditlog_history_link = True
    change_list_template = "admin/parts/part/change_list.html"
    change_form_template = "admin/parts/part/change_form.html"

    def get_queryset(self, request):
        return selectors.part_queryset()

    def view_on_site(self, part):
        return part.get_absolute_url()

    def get_fieldsets(self, request, obj=None):
        """The reason for changing released fields is asked only of a released part."""
        if obj is not None and obj.status in RELEASED:
            return self.fieldsets
        return [fieldset for fieldset in self.fieldsets if fieldset[0] != "Released part"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deletes go through the service, with their files: delete_parts
        return actions

    def get_change_actions(self, request, object_id, form_url):
        part = self.get_object(request, object_id)
        return allowed_actions(request.user, part) if part else []

    def get_deleted_objects(self, objs, request):
        """What a deletion takes with it: the part and its files. Nothing is protected: the service
        refuses a part whose revisions are pinned (retire it instead), as the API does."""
        deleted = []
        for part in objs:
            files = [f"{r.label} {r.filename}" for r in part.revisions.order_by("kind", "-number")]
            deleted += [f"Part: {part}", [f"File: {name}" for name in files]] if files else [f"Part: {part}"]
        count = sum(1 for part in objs)
        perms_needed = set() if permissions.can_delete_parts(request.user) else {"part"}
        return deleted, {"parts": count}, perms_needed, []

    def delete_view(self, request, object_id, extra_context=None):
        part = self.get_object(request, unquote(object_id))
        if part is None:
            return super().delete_view(request, object_id, extra_context)
        if not permissions.can_delete_parts(request.user):
            raise PermissionDenied
        deletable, refusal = dry_run("delete", part, request.user, {})
        if not deletable:
            messages.error(request, refusal)
            return redirect("admin:parts_part_change", part.pk)
        if request.method == "POST":
            try:
                part_delete_with_files(part=part, actor=request.user)
            except DomainError as refused:
                messages.error(request, refused.message)
                return redirect("admin:parts_part_change", part.pk)
            messages.success(request, f"Deleted {part.part_number} and its files.")
            return redirect("admin:parts_part_changelist")
        return super().delete_view(request, object_id, extra_context)

    def get_urls(self):
        importing = path("import/", self.admin_site.admin_view(self.import_view), name="parts_part_import")
        return [importing, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        part = self.get_object(request, unquote(object_id))
        if part is not None:
            extra_context = {**(extra_context or {}), "badge": badge(BADGE_COLOURS[part.status], part.get_status_display())}
        return super().change_view(request, object_id, form_url, extra_context)

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

    @admin.display(description="Queue")
    def queue(self, part):
        return Category(part.category).label

    @admin.display(description="")
    def thumbnail(self, part):
        shown = part.approved_revision or part.latest_revision
        if shown is None or not shown.preview_key:
            return "-"
        return format_html('<img class="thumb" src="{}" width="64" height="48" alt="Preview of {}" loading="lazy">',
                           shown.preview_url, shown.label)

    @admin.display(description="Notes")
    def markers(self, part):
        told = []
        newer = part.newer_revision
        if newer is not None:
            told.append(format_html('<span class="marker newer">{} newer than approved {}</span>', newer.label,
                                    part.approved_revision.label))
        latest = part.latest_revision
        if latest is not None and latest.conversion_status == ConversionStatus.FAILED:
            told.append(format_html('<span class="marker failed">{} conversion failed</span>', latest.label))
        return format_html_join(" ", "{}", ((marker,) for marker in told)) if told else ""

    @admin.display(description="Approved revision")
    def approved(self, part):
        return revision_link(part.approved_revision)

    @admin.display(description="Approved drawing")
    def approved_drawing_link(self, part):
        return revision_link(part.approved_drawing)

    @admin.display(description="Newer than approved")
    def newer(self, part):
        newer = part.newer_revision if part.pk else None  # read with get_queryset(): part_queryset()
        if newer is None:
            return "-"
        return format_html("<strong>{} is newer than the approved {}</strong>: {}", newer.label,
                           part.approved_revision.label, revision_link(newer))

    @admin.display(description="Built drawing")
    def built_drawing_link(self, part):
        return revision_link(part.built_drawing)

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
                services.part_update(part=obj, actor=request.user, reason=form.cleaned_data.get("reason", ""),
                                     **fields)
            else:
                created = services.part_create(actor=request.user, **fields)
                obj.pk, obj.part_number = created.pk, created.part_number
        except DomainError as error:
            request.partsite_refused = error.message

    def response_change(self, request, obj):
        return self._refused(request, obj) or super().response_change(request, obj)

    def response_add(self, request, obj, post_url_continue=None):
        return self._refused(request, obj) or super().response_add(request, obj, post_url_continue)

    def _refused(self, request, obj):
        """Back to the form, with the service's refusal instead of "changed successfully"."""
        refusal = getattr(request, "partsite_refused", None)
        if refusal is None:
            return None
        self.message_user(request, refusal, messages.ERROR)
        return redirect(request.path)


for _move in MOVES:
    setattr(PartAdmin, _move.value, object_move(_move))
admin.site.register(Part, PartAdmin)


@admin.register(Material)
class MaterialAdmin(AuditlogHistoryAdminMixin, admin.ModelAdmin):
    """The stock materials and their densities: a part's mass is its model's volume times its material's density."""

    list_display = ["name", "density_kg_m3", "default_thickness", "other_names"]
    search_fields = ["name", "other_names"]
    show_auditlog_history_link = True
