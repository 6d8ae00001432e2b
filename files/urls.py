from django.urls import path
from rest_framework.routers import SimpleRouter

from files import api, views

router = SimpleRouter()
router.register("revisions", api.RevisionViewSet, basename="revision")
router.register("uploads", api.UploadViewSet, basename="upload")
router.register("onshape-imports", api.OnshapeImportViewSet, basename="onshape-import")

urlpatterns = [
    path("parts/<int:part_pk>/revisions/", api.PartRevisionsView.as_view(), name="part-revisions"),
    path("parts/<int:part_pk>/uploads/", api.PartUploadsView.as_view(), name="part-uploads"),
    path("parts/<int:part_pk>/onshape-import/", api.PartOnshapeImportsView.as_view(), name="part-onshape-import"),
    path("parts/<int:part_pk>/download/", api.PartDownloadView.as_view(), name="part-download"),
    path("parts/<int:part_pk>/built/download/", api.PartBuiltDownloadView.as_view(), name="part-built-download"),
    path("uploads/<uuid:upload_id>/parts/<int:number>/", views.upload_part, name="upload-part"),
    *router.urls,
]
