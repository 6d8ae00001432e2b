from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import Access
from audit.services import file_access_record
from files import permissions, services
from files.filters import RevisionFilter
from files.models import GLB_CONTENT_TYPE, PREVIEW_CONTENT_TYPE, ConversionStatus, Kind, Revision, Upload
from files.responses import preview_response, stored_file_response
from files.selectors import revision_queryset
from files.serializers import (
    CreatedRevisionSerializer,
    RevisionSerializer,
    RevisionUploadSerializer,
    UploadSerializer,
    UploadStartSerializer,
)
from files.storage import direct_uploads, is_s3
from files.upload_handler import DigestingUploadHandler, S3StreamingUploadHandler
from partsite.errors import Conflict
from parts.models import Part

FILE_RESPONSES = {
    (200, "application/octet-stream"): OpenApiResponse(description="The file (local storage; Range supported)."),
    302: OpenApiResponse(description="A short-lived presigned link to the file (S3 storage)."),
}


def _created(revision, request):
    body = CreatedRevisionSerializer(revision, context={"request": request}).data
    return Response(body, status=status.HTTP_201_CREATED)


class PartRevisionsView(generics.ListAPIView):
    """A part's revisions, newest first; POST a multipart `file` to add one."""

    serializer_class = RevisionSerializer
    filterset_class = RevisionFilter

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body: digest the file as it comes, and spool it to disk, or
        # on S3 send it to the bucket in parts meanwhile.
        self.upload_handler = S3StreamingUploadHandler(request) if is_s3() else DigestingUploadHandler(request)
        request.upload_handlers = [self.upload_handler]
        return super().initialize_request(request, *args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            # Whatever went wrong (a refused file, a duplicate, a client gone, a database error),
            # parts streamed to S3 and not made a revision are aborted: nothing stays half-written.
            if isinstance(getattr(self, "upload_handler", None), S3StreamingUploadHandler):
                self.upload_handler.discard()

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
    context = {"request": request, "backend": direct_uploads(), "received": received}
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
        return _download(request, revision)


class PartBuiltDownloadView(APIView):
    @extend_schema(
        responses={**FILE_RESPONSES, 409: OpenApiResponse(description="The part has not been completed yet.")},
        summary="Download what was built: the revision completion recorded, byte for byte",
    )
    def get(self, request, part_pk):
        part = get_object_or_404(Part.objects.select_related("built_revision__part"), pk=part_pk)
        if part.built_revision is None:
            raise Conflict(f"{part.part_number} has not been built yet, so there is no built revision to download.")
        return _download(request, part.built_revision)


def _download(request, revision):
    file_access_record(request=request, revision=revision, access=Access.DOWNLOAD)
    return stored_file_response(
        request, key=revision.storage_key, size=revision.size, sha256=revision.sha256,
        filename=revision.filename, content_type=revision.content_type,
    )


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
        return _download(request, self.get_object())

    @extend_schema(
        responses={**FILE_RESPONSES, 409: OpenApiResponse(description="No model yet: conversion_status says why.")},
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
        file_access_record(request=request, revision=revision, access=Access.MODEL)
        stem = revision.filename.rsplit(".", 1)[0]
        return stored_file_response(
            request, key=revision.glb_key, size=revision.glb_size, sha256=revision.glb_sha256,
            filename=f"{stem}.glb", content_type=GLB_CONTENT_TYPE, as_attachment=False,
        )

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

    @extend_schema(request=None, responses=RevisionSerializer, summary="Convert this revision again")
    @action(detail=True, methods=["post"])
    def reconvert(self, request, pk=None):
        revision = services.revision_reconvert(revision=self.get_object(), actor=request.user)
        return Response(RevisionSerializer(revision, context={"request": request}).data)


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

