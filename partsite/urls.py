from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace, csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from partsite import health
from partsite.api import AuthCheckView, SchemaView
from parts.api import PartViewSet

# The API docs draw their icons from data: URLs. ReDoc also styles itself with <style> elements it
# writes at run time (no nonce can reach them) and searches in a worker it starts from a blob:
# URL. These pages show only the public schema.
swagger_policy = csp_update({"img-src": ["data:"]})
redoc_policy = csp_replace(
    {"img-src": [SELF, "data:"], "style-src": [SELF, UNSAFE_INLINE], "worker-src": [SELF, "blob:"]}
)

# An exception nobody caught: 503 naming the dependency that is down, or the 500 of a bug.
handler500 = "partsite.outages.server_error"

router = DefaultRouter()
router.register("parts", PartViewSet, basename="part")

urlpatterns = [
    path("health/", health.health, name="health"),
    path("ready/", health.ready, name="ready"),
    path("admin/", admin.site.urls),
    path("api/auth/check/", AuthCheckView.as_view(), name="auth-check"),
    path("api/schema/", SchemaView.as_view(permission_classes=[]), name="schema"),
    # The split view serves Swagger UI's setup as a script of its own, not inline.
    path("api/docs/", swagger_policy(SpectacularSwaggerSplitView.as_view(url_name="schema", permission_classes=[])),
         name="swagger-ui"),
    path("api/redoc/", redoc_policy(SpectacularRedocView.as_view(url_name="schema", permission_classes=[])),
         name="redoc"),
    path("api/", include(router.urls)),
    path("api/", include("files.urls")),
    path("", include("audit.urls")),
    path("api-auth/", include("rest_framework.urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("parts.urls")),
]
