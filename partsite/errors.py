"""Domain errors raised by services, and how the API answers them."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A refused request. Its message is shown to the user as it is."""

    http_status = status.HTTP_400_BAD_REQUEST

    def __init__(self, message, field=None, **details):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def as_json(self):
        body = {"detail": self.message, **self.details}
        if self.field:
            body[self.field] = [self.message]
        return body


class Invalid(DomainError):
    http_status = status.HTTP_400_BAD_REQUEST


class NotPermitted(DomainError):
    http_status = status.HTTP_403_FORBIDDEN


class NotFound(DomainError):
    http_status = status.HTTP_404_NOT_FOUND


class Conflict(DomainError):
    http_status = status.HTTP_409_CONFLICT


class TooLarge(DomainError):
    http_status = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


class Unprocessable(DomainError):
    """Well-formed, but it contradicts itself (a file whose SHA-256 is not the one declared)."""

    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_json(), status=exc.http_status)
    return exception_handler(exc, context)
