from functools import cached_property

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from files.facts import facts_difference
from files.selectors import revisions_with_same_bytes_elsewhere
from files.models import ConversionStatus, Kind, OnshapeImport, Revision, Upload, UploadStatus
from partsite.serializers import Username, datetime_field
from parts.materials import material_for, materials_by_name


def _absolute(request, name, *args):
    path = reverse(name, args=args)
    return request.build_absolute_uri(path) if request else path


class _RevisionLinksSerializer(serializers.ModelSerializer):
    """A revision with the links to its file and its preview."""

    download_url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField(
        help_text="A PNG preview of the 3D model; null until one is drawn (show a placeholder)."
    )

    def get_download_url(self, revision) -> str:
        return _absolute(self.context.get("request"), "revision-download", revision.pk)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_preview_url(self, revision):
        path, request = revision.preview_url, self.context.get("request")
        return request.build_absolute_uri(path) if path and request else path


class RevisionBriefSerializer(_RevisionLinksSerializer):
    """A revision as a part's JSON shows it."""

    class Meta:
        model = Revision
        fields = ["id", "number", "label", "kind", "filename", "size", "sha256", "uploaded_at", "conversion_status",
                  "download_url", "preview_url"]

    def to_representation(self, revision):
        # Written out: a page of parts shows up to 150 of these, and DRF's field-by-field
        # path with two reverse() calls each took most of the page's time. The JSON is the
        # same (parts/tests/test_list_json.py).
        revision_url = f"{self._revisions_url}{revision.pk}"
        return {
            "id": revision.pk,
            "number": revision.number,
            "label": revision.label,
            "kind": revision.kind,
            "filename": revision.filename,
            "size": revision.size,
            "sha256": revision.sha256,
            "uploaded_at": self._datetimes.to_representation(revision.uploaded_at),
            "conversion_status": revision.conversion_status,
            "download_url": f"{revision_url}/download/",
            "preview_url": f"{revision_url}/preview/?v={revision.preview_version}" if revision.preview_key else None,
        }

    @cached_property
    def _datetimes(self):
        return datetime_field()

    @cached_property
    def _revisions_url(self):
        """/api/revisions/ (absolute when there is a request), reversed once for the whole page."""
        return _absolute(self.context.get("request"), "revision-list")


class OnshapeSourceSerializer(serializers.Serializer):
    """Where in Onshape an imported revision was exported from."""

    document_id = serializers.CharField()
    element_id = serializers.CharField()
    wvm = serializers.ChoiceField(choices=["w", "v", "m"], help_text="What the part's link named: workspace, version, microversion.")
    wvm_id = serializers.CharField()
    microversion_id = serializers.CharField(help_text="The exact state of the document that was exported.")


class HoleSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["through_holes", "pockets_top", "pockets_bottom"])
    shape = serializers.ChoiceField(choices=["circle", "profile"])
    diameter_mm = serializers.FloatField(required=False, help_text="A round hole's diameter.")
    size_mm = serializers.ListField(child=serializers.FloatField(), required=False, help_text="Any other's extent [x, y].")


class PlateSerializer(serializers.Serializer):
    thickness_mm = serializers.FloatField()
    outline_mm = serializers.ListField(child=serializers.FloatField(), help_text="The outline's extent [x, y].")
    holes = HoleSerializer(many=True, help_text="Through-holes and pockets, as the DXF draws them.")


class UnitWarningSerializer(serializers.Serializer):
    message = serializers.CharField()
    factor = serializers.FloatField(help_text="The scale that would make the size plausible.")
    written_in = serializers.CharField(help_text="The unit the file would then have been written in.")
    plausible_size_mm = serializers.ListField(child=serializers.FloatField())


class GeometrySerializer(serializers.Serializer):
    """Facts measured on the B-rep (not the mesh), in the file's length unit converted to mm."""

    size_mm = serializers.ListField(child=serializers.FloatField(), allow_null=True,
                                    help_text="Bounding box size [x, y, z]; null without solid geometry.")
    volume_mm3 = serializers.FloatField(allow_null=True)
    area_mm2 = serializers.FloatField(allow_null=True)
    centre_of_mass_mm = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    solids = serializers.IntegerField()
    mass_kg = serializers.FloatField(allow_null=True, help_text="Volume × the density of the part's material, when it is in the table.")
    material = serializers.CharField(allow_null=True, help_text="The table's material the mass is reckoned with.")
    unit_warning = UnitWarningSerializer(allow_null=True, help_text="A size no shop part has: a likely unit error.")
    plate = PlateSerializer(allow_null=True, help_text="Null unless the model is one solid cut from a plate.")
    not_plate = serializers.CharField(help_text="Why the model is not a plate (empty for a plate).")
    data_sha256 = serializers.CharField(help_text="SHA-256 of the STEP's DATA section: equal when only the header differs.")


class RevisionSerializer(_RevisionLinksSerializer):
    part_number = serializers.CharField(source="part.part_number", read_only=True)
    onshape = serializers.SerializerMethodField(help_text="Where in Onshape it was imported from; null for an upload.")
    uploaded_by = Username()
    model_url = serializers.SerializerMethodField(help_text="The GLB, once the conversion is ready.")
    geometry = serializers.SerializerMethodField(help_text="Measured with the conversion; null until then.")
    dxf_url = serializers.SerializerMethodField(help_text="A plate's DXF (outline, holes, pockets in mm); null for others.")

    class Meta:
        model = Revision
        fields = [
            "id", "part", "part_number", "number", "label", "kind", "filename", "description", "size", "sha256",
            "content_type", "uploaded_by", "uploaded_at",
            "schema", "file_schema", "originating_system", "preprocessor", "author", "organization",
            "file_timestamp", "product_names",
            "conversion_status", "conversion_error", "conversion_attempts", "conversion_queued_at",
            "conversion_started_at", "conversion_finished_at", "conversion_seconds", "triangles", "bbox_mm",
            "download_url", "model_url", "preview_url", "preview_error",
            "scan_status", "scan_signature", "scan_error", "scanned_at", "onshape",
            "geometry", "geometry_error", "dxf_url",
        ]
        read_only_fields = fields

    @extend_schema_field(GeometrySerializer(allow_null=True))
    def get_geometry(self, revision):
        return geometry_json(revision, self._materials)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_dxf_url(self, revision):
        return _absolute(self.context.get("request"), "revision-dxf", revision.pk) if revision.dxf_key else None

    @cached_property
    def _materials(self):
        return materials_by_name()

    @extend_schema_field(OnshapeSourceSerializer(allow_null=True))
    def get_onshape(self, revision):
        return revision.onshape_source

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_model_url(self, revision):
        if revision.conversion_status != ConversionStatus.READY:
            return None
        return _absolute(self.context.get("request"), "revision-model", revision.pk)


def geometry_json(revision, materials=None):
    """The revision's facts as the API shows them (GeometrySerializer), or None before they are measured."""
    facts = revision.facts
    if facts is None:
        return None
    material = material_for(revision.part.material, materials)
    warning = facts.unit_warning
    return {
        "size_mm": list(facts.size_mm) if facts.size_mm else None,
        "volume_mm3": facts.volume_mm3,
        "area_mm2": facts.area_mm2,
        "centre_of_mass_mm": list(facts.centre_of_mass_mm) if facts.centre_of_mass_mm else None,
        "solids": facts.solids,
        "mass_kg": facts.mass_kg(material.density_kg_m3) if material else None,
        "material": material.name if material else None,
        "unit_warning": {
            "message": warning.message, "factor": warning.factor, "written_in": warning.written_in,
            "plausible_size_mm": list(warning.plausible_size_mm),
        } if warning else None,
        "plate": {key: facts.plate[key] for key in ("thickness_mm", "outline_mm", "holes")} if facts.plate else None,
        "not_plate": facts.not_plate,
        "data_sha256": facts.data_sha256,
    }


class ComparedRevisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    part = serializers.IntegerField()
    part_number = serializers.CharField()
    sha256 = serializers.CharField()


class FactChangeSerializer(serializers.Serializer):
    a = serializers.JSONField(help_text="The first revision's value (a number, [x, y, z] or null).")
    b = serializers.JSONField()
    change = serializers.JSONField(help_text="b - a, per axis for a size; null when either is unknown.")


class CompareSerializer(serializers.Serializer):
    a = ComparedRevisionSerializer()
    b = ComparedRevisionSerializer()
    same_part = serializers.BooleanField()
    same_bytes = serializers.BooleanField()
    same_data = serializers.BooleanField(help_text="The DATA sections are identical: the files differ at most in their header.")
    geometry_changed = serializers.BooleanField()
    basis = serializers.CharField(help_text="Why geometry_changed says what it says.")
    changed = serializers.ListField(child=serializers.CharField(), help_text="The facts that differ beyond rounding.")
    differences = serializers.DictField(child=FactChangeSerializer(), help_text=(
        "size_mm, volume_mm3, area_mm2, mass_kg, solids, holes, plate_thickness_mm"
    ))


def compare_json(first, second):
    """The compare endpoint's body (CompareSerializer): how `second` differs from `first`."""
    materials = materials_by_name()

    def brief(revision):
        return {"id": revision.pk, "label": revision.label, "part": revision.part_id,
                "part_number": revision.part.part_number, "sha256": revision.sha256}

    masses = [geometry_json(revision, materials)["mass_kg"] for revision in (first, second)]
    return {
        "a": brief(first), "b": brief(second), "same_part": first.part_id == second.part_id,
        "same_bytes": first.sha256 == second.sha256,
        **facts_difference(first.facts, second.facts, *masses),
    }


class SameFileSerializer(serializers.Serializer):
    part = serializers.IntegerField()
    part_number = serializers.CharField()
    revision = serializers.IntegerField()
    label = serializers.CharField()


class CreatedRevisionSerializer(RevisionSerializer):
    same_file_on_other_parts = serializers.SerializerMethodField(
        help_text="Other parts that already hold these exact bytes."
    )

    class Meta(RevisionSerializer.Meta):
        fields = RevisionSerializer.Meta.fields + ["same_file_on_other_parts"]
        read_only_fields = fields

    @extend_schema_field(SameFileSerializer(many=True))
    def get_same_file_on_other_parts(self, revision):
        return [
            {"part": other.part_id, "part_number": other.part.part_number, "revision": other.pk, "label": other.label}
            for other in revisions_with_same_bytes_elsewhere(revision)
        ]


class RevisionUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="A .step/.stp model or a .pdf drawing.")
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    kind = serializers.ChoiceField(
        choices=Kind.choices, required=False, help_text="Taken from the file's extension when not given."
    )


class UploadStartSerializer(serializers.Serializer):
    filename = serializers.CharField(max_length=255)
    size = serializers.IntegerField(min_value=0, help_text="Bytes.")
    sha256 = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$", required=False, allow_blank=True, default="",
        error_messages={"invalid": "Must be 64 hexadecimal characters."},
        help_text="The file's SHA-256, checked when the upload is completed.",
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    kind = serializers.ChoiceField(choices=Kind.choices, required=False)


class UploadPartSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    url = serializers.URLField()
    method = serializers.CharField()
    received = serializers.BooleanField()


class UploadSerializer(serializers.ModelSerializer):
    """A direct upload. Part n carries bytes (n-1)*part_size up to n*part_size, sent to its URL."""

    sha256 = serializers.CharField(source="declared_sha256", read_only=True)
    parts = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = ["id", "part", "kind", "filename", "description", "size", "sha256", "part_size", "status", "error",
                  "revision", "created_at", "expires_at", "parts"]
        read_only_fields = fields

    @extend_schema_field(UploadPartSerializer(many=True))
    def get_parts(self, upload):
        """Fresh part URLs while the upload is open; `received` tells a client what to resend."""
        if upload.status != UploadStatus.OPEN:
            return []
        vault, received, request = self.context["vault"], self.context["received"], self.context["request"]
        return [
            {"number": number, "url": vault.part_url(upload, number, request), "method": "PUT",
             "received": number in received}
            for number in range(1, upload.part_count + 1)
        ]


class OnshapeImportSerializer(serializers.ModelSerializer):
    """An import from Onshape: where from, how far it got, why it failed, and the revision it made."""

    requested_by = Username()

    class Meta:
        model = OnshapeImport
        fields = [
            "id", "part", "status", "error", "requested_by", "created_at", "finished_at", "document_id", "wvm",
            "wvm_id", "element_id", "element_type", "element_name", "microversion_id", "revision",
        ]
        read_only_fields = fields
