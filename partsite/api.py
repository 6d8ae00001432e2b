import threading

from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from partsite.roles import role_of


class AuthCheckView(APIView):
    """Who the request is authenticated as, and with which role."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses=inline_serializer(
            "AuthCheck",
            {
                "username": serializers.CharField(),
                "role": serializers.CharField(allow_null=True),
                "authenticated_by": serializers.ChoiceField(choices=["api_key", "session"]),
            },
        )
    )
    def get(self, request):
        return Response(
            {
                "username": request.user.username,
                "role": role_of(request.user),
                "authenticated_by": "api_key" if request.auth is not None else "session",
            }
        )


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema, drawn by one thread at a time in each process.

    drf-spectacular loads its extensions' target classes lazily, on the first schema drawn, and
    two threads doing it at once fail with a 500 (one sets a class to None while the other still
    imports it): the first clients after a restart, asking together, both got a server error."""

    _drawing = threading.Lock()

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        with self._drawing:
            return super().get(request, *args, **kwargs)
