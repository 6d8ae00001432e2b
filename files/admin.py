from auditlog.mixins import AuditlogHistoryAdminMixin
from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html

from files import scanning, services
from files.models import CONVERSION_BADGE_COLOURS, ConversionStatus, Kind, Revision, Upload
from partsite.admin import badge
from partsite.errors import DomainError


def conversion_badge(revision):
    return badge(CONVERSION_BADGE_COLOURS[revision.conversion_status], revision.get_conversion_status_display())


def download_link(revision):
    return format_html('<a href="{}">Download</a>', reverse("revision-download", args=[revision.pk]))


def revision_link(revision):
    """A revision, linked to its admin page, with its download beside it."""
    if revision is None:
        return "-"
    page = reverse("admin:files_revision_change", args=[revision.pk])
    return format_html('<a href="{}">{} {}</a> ({})', page, revision.label, revision.filename, download_link(revision))


def preview_thumbnail(revision, width=96, height=72):
    if not revision.has_preview:
        return "-"
    return format_html('<img class="thumb" src="{}" width="{}" height="{}" alt="Preview of {}">',
                       revision.preview_url, width, height, revision.label)


class RevisionInline(admin.TabularInline):
    """A part's files, newest first, on its admin page: each with its preview, the state of its 3D model
    (and why it failed), its download (recorded like every download) and the part's 3D view."""

    model = Revision
    fields = ["preview", "revision", "file_size", "schema", "conversion", "uploaded_by", "uploaded_at", "download"]
    readonly_fields = fields
    ordering = ["kind", "-number"]
    extra = 0
    can_delete = False
    verbose_name_plural = "Files"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Revision")
    def revision(self, revision):
        page = reverse("admin:files_revision_change", args=[revision.pk])
        return format_html('<a href="{}">{} {}</a>', page, revision.label, revision.filename)

    @admin.display(description="Size")
    def file_size(self, revision):
        return filesizeformat(revision.size)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")

    @admin.display(description="Preview")
    def preview(self, revision):
        return preview_thumbnail(revision)

    @admin.display(description="3D model")
    def conversion(self, revision):
        if revision.kind != Kind.STEP:
            return "-"
        shown = conversion_badge(revision)
        if revision.conversion_error:
            shown = format_html('{} <span class="reason">{}</span>', shown, revision.conversion_error)
        if revision.conversion_status == ConversionStatus.READY:
            view = reverse("part-detail", args=[revision.part_id])
            shown = format_html('{} <a href="{}#viewer">3D view</a>', shown, view)
        return shown

    @admin.display(description="File")
    def download(self, revision):
        return download_link(revision)


@admin.register(Revision)
class RevisionAdmin(AuditlogHistoryAdminMixin, admin.ModelAdmin):
    """Revisions are immutable: they are uploaded through the API or pages, and here only looked at,
    converted again or deleted (through the same services as the API)."""

    list_display = ["part", "label", "filename", "kind", "file_size", "schema", "conversion", "uploaded_by",
                    "uploaded_at", "download"]
    list_display_links = ["label", "filename"]
    list_filter = ["kind", "conversion_status", "scan_status", "schema", "uploaded_at"]
    search_fields = ["filename", "description", "part__part_number", "part__name", "sha256", "uploaded_by__username"]
    list_select_related = ["part", "uploaded_by"]
    date_hierarchy = "uploaded_at"
    actions = ["reconvert", "rescan", "delete_selected"]
    show_auditlog_history_link = True
    fieldsets = [
        (None, {"fields": ["part", "label", "kind", "filename", "description", "file_size", "sha256",
                           "content_type", "uploaded_by", "uploaded_at", "download"]}),
        ("STEP header", {"fields": ["schema", "file_schema", "originating_system", "preprocessor", "author",
                                    "organization", "file_timestamp", "product_names"]}),
        ("3D model", {"fields": ["conversion", "conversion_error", "conversion_attempts", "conversion_queued_at",
                                 "conversion_started_at", "conversion_finished_at", "conversion_seconds",
                                 "conversion_peak_memory_mb", "triangles", "bbox_mm", "preview", "preview_error"]}),
        ("Measured geometry", {"fields": ["measured_facts", "unit_check", "plate_check", "dxf", "geometry_error"]}),
        ("Malware scan", {"fields": ["scan_status", "scan_signature", "scan_error", "scan_attempts", "scanned_at"]}),
        ("Imported from Onshape", {"fields": ["onshape_document_id", "onshape_element_id", "onshape_wvm",
                                              "onshape_wvm_id", "onshape_microversion_id"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # immutable: the page is for looking, with no Save buttons

    @admin.display(description="Revision")
    def label(self, revision):
        return revision.label

    @admin.display(description="Size", ordering="size")
    def file_size(self, revision):
        return filesizeformat(revision.size)

    @admin.display(description="Conversion", ordering="conversion_status")
    def conversion(self, revision):
        return conversion_badge(revision)

    @admin.display(description="File")
    def download(self, revision):
        return download_link(revision)

    @admin.display(description="Preview")
    def preview(self, revision):
        if not revision.has_preview:
            return "-"
        return format_html('<img src="{}" width="240" height="180" alt="Preview of {}">', revision.preview_url,
                           revision.label)

    @admin.display(description="Facts")
    def measured_facts(self, revision):
        facts = revision.facts
        if facts is None:
            return "-"
        volume = "-" if facts.volume_mm3 is None else f"{facts.volume_mm3:,.0f} mm³"
        return (f"{facts.size_label or 'no size'} · volume {volume} · surface {facts.area_mm2:,.0f} mm² · "
                f"{facts.solids} solid{'s' if facts.solids != 1 else ''}")

    @admin.display(description="Units")
    def unit_check(self, revision):
        facts = revision.facts
        if facts is None:
            return "-"
        return facts.unit_warning.message if facts.unit_warning else "plausible for a shop part"

    @admin.display(description="Plate")
    def plate_check(self, revision):
        facts = revision.facts
        if facts is None:
            return "-"
        if not facts.plate:
            return f"not a plate: {facts.not_plate}"
        return f"{facts.plate_thickness_mm:.2f} mm thick, {facts.holes} holes or pockets"

    @admin.display(description="DXF")
    def dxf(self, revision):
        if not revision.dxf_key:
            return "-"
        return format_html('<a href="{}">Download DXF</a>', reverse("revision-dxf", args=[revision.pk]))

    def delete_model(self, request, revision):
        services.revision_delete(revision=revision, actor=request.user)

    def delete_queryset(self, request, queryset):
        for revision in queryset:
            try:
                services.revision_delete(revision=revision, actor=request.user)
            except DomainError as refused:
                self.message_user(request, f"{revision.part.part_number} {revision.label}: {refused.message}",
                                  messages.ERROR)

    @admin.action(description="Scan the selected revisions for malware again")
    def rescan(self, request, queryset):
        for revision in queryset:
            try:
                scanning.revision_rescan(revision=revision, actor=request.user)
            except DomainError as refused:
                self.message_user(request, refused.message, messages.ERROR)
                return
        self.message_user(request, f"Queued {queryset.count()} scan(s).")

    @admin.action(description="Convert the selected STEP revisions again")
    def reconvert(self, request, queryset):
        started = 0
        for revision in queryset:
            try:
                services.revision_reconvert(revision=revision, actor=request.user)
                started += 1
            except DomainError as refused:
                self.message_user(request, f"{revision.part.part_number} {revision.label}: {refused.message}",
                                  messages.ERROR)
        if started:
            self.message_user(request, f"Started {started} conversion{'s' if started != 1 else ''}.")


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    """Direct uploads in flight or finished; an open one can be aborted, which discards its parts."""

    list_display = ["id", "part", "filename", "file_size", "status", "created_by", "created_at", "expires_at"]
    list_filter = ["status", "kind"]
    search_fields = ["filename", "part__part_number"]
    list_select_related = ["part", "created_by"]
    actions = ["abort"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Upload._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # looked at, and aborted with the action; the page has no Save buttons

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Size", ordering="size")
    def file_size(self, upload):
        return filesizeformat(upload.size)

    @admin.action(description="Abort the selected uploads")
    def abort(self, request, queryset):
        for upload in queryset:
            try:
                services.upload_abort(upload=upload, actor=request.user)
                self.message_user(request, f"Aborted the upload of {upload.filename}.")
            except DomainError as refused:
                self.message_user(request, f"{upload.filename}: {refused.message}", messages.ERROR)
