from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from files import permissions, services
from files.filters import RevisionFilter
from files.models import PREVIEW_CONTENT_TYPE, ConversionStatus, Kind, OnshapeImport, Revision, Upload
from files.onshape_import import onshape_import_start
from files.responses import coarse_model_response, dxf_response, model_response, preview_response, revision_response
from files.scanning import revision_rescan
from files.selectors import revision_queryset
from files.serializers import (
    CompareSerializer,
    CreatedRevisionSerializer,
    OnshapeImportSerializer,
    RevisionSerializer,
    RevisionUploadSerializer,
    UploadSerializer,
    UploadStartSerializer,
    compare_json,
)
from files.storage import vault
from files.upload_handler import receiving_uploads
from partsite.errors import Conflict
from parts.models import Part

FILE_RESPONSES = {
    (200, "application/octet-stream"): OpenApiResponse(description="The file, sent by Partsite (Range supported)."),
    302: OpenApiResponse(description="A short-lived presigned link to the file in object storage."),
}


def _created(revision, request):
    body = CreatedRevisionSerializer(revision, context={"request": request}).data
    return Response(body, status=status.HTTP_201_CREATED)


class PartRevisionsView(generics.ListAPIView):
    """A part's revisions, newest first; POST a multipart `file` to add one."""

    serializer_class = RevisionSerializer
    filterset_class = RevisionFilter

    def dispatch(self, request, *args, **kwargs):
        # The file is digested as it arrives and stored as fast as the vault's backend can take it.
        with receiving_uploads(request):
            return super().dispatch(request, *args, **kwargs)

    def get_part(self):
        return get_object_or_404(Part, pk=self.kwargs["part_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no part
            return Revision.objects.none()
        return revision_queryset().filter(part=self.get_part()).order_by("kind", "-number")

    @extend_schema(
        request={"multipart/form-data": RevisionUploadSerializer},
        responses={201: CreatedRevisionSerializer},
        summary="Upload a new revision (multipart)",
    )
    def post(self, request, part_pk):
        part = self.get_part()
        permissions.check_may_upload(request.user)
        body = RevisionUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        revision = services.revision_upload(
            part=part, actor=request.user, uploaded_file=body.validated_data["file"],
            description=body.validated_data["description"], kind=body.validated_data.get("kind"),
        )
        return _created(revision, request)


def _upload_response(upload, request, status_code=status.HTTP_200_OK):
    try:
        received = services.upload_received(upload)
    except Conflict:  # its parts are gone; the upload now says so in `status` and `error`
        received = {}
    context = {"request": request, "vault": vault(), "received": received}
    return Response(UploadSerializer(upload, context=context).data, status=status_code)


class PartUploadsView(APIView):
    @extend_schema(request=UploadStartSerializer, responses={201: UploadSerializer},
                   summary="Start a direct, resumable upload")
    def post(self, request, part_pk):
        part = get_object_or_404(Part, pk=part_pk)
        permissions.check_may_upload(request.user)
        body = UploadStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = services.upload_start(part=part, actor=request.user, **body.validated_data)
        return _upload_response(upload, request, status.HTTP_201_CREATED)


class PartDownloadView(APIView):
    @extend_schema(responses=FILE_RESPONSES, summary="Download the approved STEP revision, else the latest")
    def get(self, request, part_pk):
        part = get_object_or_404(Part.objects.select_related("approved_revision"), pk=part_pk)
        revision = part.approved_revision or part.revisions.latest_step()
        if revision is None:
            raise Conflict(f"{part.part_number} has no STEP revision yet.")
        return revision_response(request, revision)


class PartBuiltDownloadView(APIView):
    @extend_schema(
        responses={**FILE_RESPONSES, 409: OpenApiResponse(description="The part has not been completed yet.")},
        summary="Download what was built: the revision completion recorded, byte for byte",
    )
    def get(self, request, part_pk):
        part = get_object_or_404(Part.objects.select_related("built_revision__part"), pk=part_pk)
        if part.built_revision is None:
            raise Conflict(f"{part.part_number} has not been built yet, so there is no built revision to download.")
        return revision_response(request, part.built_revision)


class RevisionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                      viewsets.GenericViewSet):
    """Every revision of every part, searchable. Deleting one is a lead's call."""

    serializer_class = RevisionSerializer
    filterset_class = RevisionFilter

    def get_queryset(self):
        return revision_queryset().order_by("-uploaded_at", "-id")

    def perform_destroy(self, revision):
        services.revision_delete(revision=revision, actor=self.request.user)

    @extend_schema(responses=FILE_RESPONSES, summary="Download the file, byte for byte")
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        return revision_response(request, self.get_object())

    @extend_schema(
        responses={**FILE_RESPONSES, 409: OpenApiResponse(description="No model yet: conversion_status says why.")},
        parameters=[OpenApiParameter("detail", str, enum=["coarse"], required=False, description=(
            "`coarse`: a large model's coarse version (a tenth of its triangles), 404 when it has none."))],
        summary="The 3D model (GLB) converted from this STEP revision",
    )
    @action(detail=True, methods=["get"])
    def model(self, request, pk=None):
        revision = self.get_object()
        if revision.kind != Kind.STEP:
            raise Conflict("Only STEP revisions have a 3D model.", conversion_status=revision.conversion_status)
        if revision.conversion_status != ConversionStatus.READY:
            raise Conflict(
                f"The 3D model of {revision.label} is not ready: "
                f"{ConversionStatus(revision.conversion_status).label.lower()}."
                + (f" {revision.conversion_error}" if revision.conversion_error else ""),
                conversion_status=revision.conversion_status, conversion_error=revision.conversion_error,
            )
        if request.GET.get("detail") == "coarse":
            return coarse_model_response(request, revision)
        return model_response(request, revision)

    @extend_schema(
        responses={
            (200, PREVIEW_CONTENT_TYPE): OpenApiResponse(description="The PNG preview."),
            304: OpenApiResponse(description="The preview the browser has is still current (If-None-Match)."),
            404: OpenApiResponse(description="No preview yet, or none could be drawn: the message says why."),
        },
        summary="A PNG preview of the 3D model, for thumbnails",
    )
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """Not recorded as a file access, unlike the model: a board of thumbnails would bury the real ones."""
        return preview_response(request, self.get_object())

    @extend_schema(
        responses={**FILE_RESPONSES, 409: OpenApiResponse(description="No DXF: the model is not a plate, or not measured yet.")},
        summary="The DXF of a plate: outline, through-holes and pockets in mm, for the router or laser",
    )
    @action(detail=True, methods=["get"])
    def dxf(self, request, pk=None):
        revision = self.get_object()
        if not revision.dxf_key:
            raise Conflict(_no_dxf_reason(revision), conversion_status=revision.conversion_status)
        return dxf_response(request, revision)

    @extend_schema(
        responses={200: CompareSerializer, 409: OpenApiResponse(description="Either revision is not measured yet.")},
        summary="How revision {other} differs from this one: size, volume, mass, solids, holes, and whether the geometry changed",
    )
    @action(detail=True, methods=["get"], url_path=r"compare/(?P<other>[0-9]+)")
    def compare(self, request, pk=None, other=None):
        """Any two STEP revisions, of one part or of two (a replacement part, a copy for another
        robot): `same_part` says which. Anyone who may read revisions may compare them."""
        first = self.get_object()
        second = get_object_or_404(self.get_queryset(), pk=other)
        for revision in (first, second):
            if revision.facts is None:
                raise Conflict(
                    f"{revision.part.part_number} {revision.label} has not been measured yet"
                    + (f": {revision.geometry_error}" if revision.geometry_error else
                       " (a drawing is never measured)." if revision.kind != Kind.STEP else ": its conversion is "
                       f"{ConversionStatus(revision.conversion_status).label.lower()}."),
                    revision=revision.pk,
                )
        return Response(compare_json(first, second))

    @extend_schema(request=None, responses=RevisionSerializer, summary="Scan this revision for malware again (lead)")
    @action(detail=True, methods=["post"])
    def rescan(self, request, pk=None):
        revision = revision_rescan(revision=self.get_object(), actor=request.user)
        return Response(RevisionSerializer(revision, context={"request": request}).data)

    @extend_schema(request=None, responses=RevisionSerializer, summary="Convert this revision again")
    @action(detail=True, methods=["post"])
    def reconvert(self, request, pk=None):
        revision = services.revision_reconvert(revision=self.get_object(), actor=request.user)
        return Response(RevisionSerializer(revision, context={"request": request}).data)


def _no_dxf_reason(revision):
    if revision.kind != Kind.STEP:
        return f"{revision.label} is a drawing; only a STEP model of a plate has a DXF."
    if revision.geometry is None:
        return f"{revision.label} has not been measured yet" + (
            f": {revision.geometry_error}" if revision.geometry_error
            else f": its conversion is {ConversionStatus(revision.conversion_status).label.lower()}."
        )
    return f"{revision.label} has no DXF: it is not a plate ({revision.facts.not_plate})."


class PartOnshapeImportsView(generics.ListAPIView):
    """A part's imports from Onshape, newest first; POST starts one (leads and fabricators)."""

    serializer_class = OnshapeImportSerializer
    filterset_class = None

    def get_part(self):
        return get_object_or_404(Part, pk=self.kwargs["part_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return OnshapeImport.objects.none()
        return OnshapeImport.objects.filter(part=self.get_part()).select_related("requested_by")

    @extend_schema(
        request=None, responses={202: OnshapeImportSerializer},
        summary="Import the part's Onshape tab as a new revision (STEP, or PDF for a drawing), in the background",
    )
    def post(self, request, part_pk):
        started = onshape_import_start(part=self.get_part(), actor=request.user)
        return Response(OnshapeImportSerializer(started).data, status=status.HTTP_202_ACCEPTED)


class OnshapeImportViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """One import from Onshape: its status, why it failed, the revision it made."""

    serializer_class = OnshapeImportSerializer
    queryset = OnshapeImport.objects.select_related("requested_by")
    filterset_class = None


class UploadViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A direct upload: its parts (with fresh URLs), completing it, aborting it."""

    serializer_class = UploadSerializer
    queryset = Upload.objects.select_related("part")

    def get_object(self):
        upload = super().get_object()
        permissions.check_may_use_upload(self.request.user, upload)
        return upload

    def retrieve(self, request, pk=None):
        return _upload_response(self.get_object(), request)

    @extend_schema(responses={204: None}, summary="Abort the upload and discard its parts")
    def destroy(self, request, pk=None):
        services.upload_abort(upload=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={201: CreatedRevisionSerializer},
                   summary="Verify the parts received and make them a revision")
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        revision = services.upload_complete(upload=self.get_object(), actor=request.user)
        return _created(revision, request)

