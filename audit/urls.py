from django.urls import path
from rest_framework.routers import SimpleRouter

from audit import api, views

router = SimpleRouter()
router.register("api/audit", api.AuditViewSet, basename="audit")
router.register("api/notifications", api.NotificationViewSet, basename="notification")
router.register("api/webhooks", api.WebhookEndpointViewSet, basename="webhook")

urlpatterns = [
    path("audit/", views.audit_page, name="audit-page"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/settings/", views.inbox_settings, name="inbox-settings"),
    path("inbox/read-all/", views.inbox_read_all, name="inbox-read-all"),
    path("inbox/<int:pk>/open/", views.inbox_open, name="inbox-open"),
    path("parts/<int:pk>/follow/", views.part_follow, name="part-follow"),
    path("api/parts/<int:pk>/follow/", api.PartFollowView.as_view(), name="part-follow-api"),
    *router.urls,
]
