from django.urls import path
from rest_framework.routers import SimpleRouter

from audit import api, views

router = SimpleRouter()
router.register("api/audit", api.AuditViewSet, basename="audit")

urlpatterns = [
    path("audit/", views.audit_page, name="audit-page"),
    *router.urls,
]
