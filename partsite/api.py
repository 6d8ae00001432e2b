from drf_spectacular.utils import extend_schema, inline_serializer
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
