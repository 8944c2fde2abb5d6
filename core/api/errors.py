"""The API's one error shape, ``{"success": false, "error": …, …}``, for every 4xx and 5xx
under ``/api/``: DRF's own errors (401, 403, 404, 405, 415, 429), bad bodies (400, 413) and
the domain's (unknown ids → 404 with ``missing``, nothing to do → 409), mapped in one
exception handler (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from enrichment.runs.lifecycle import NothingToEnrich, RunNotCancellable
from enrichment.selection import ConversationsNotFound, ScopeNotFound

INVALID_REQUEST = "Invalid request"


class ApiError(exceptions.APIException):
    """An error with the API's shape: ``status``, a message, and extra keys."""

    def __init__(self, status: int, message: str, **extra) -> None:
        super().__init__(message)
        self.status_code = status
        self.extra = extra


def not_found(message: str, **extra) -> ApiError:
    return ApiError(404, message, **extra)


def _translate(exc: Exception) -> Exception:
    """Domain errors as API errors."""
    if isinstance(exc, ConversationsNotFound):
        return not_found("Some conversations were not found.", missing=exc.missing)
    if isinstance(exc, ScopeNotFound):
        return not_found(str(exc), missing=exc.missing)
    if isinstance(exc, NothingToEnrich):
        return ApiError(409, str(exc))
    if isinstance(exc, RunNotCancellable):
        from enrichment.serializers import RunSerializer

        return ApiError(409, str(exc), run=RunSerializer(exc.run).data)
    return exc


def exception_handler(exc: Exception, context: dict) -> Response | None:
    exc = _translate(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's 500 handler answers (in the same shape under /api/)
    if isinstance(exc, exceptions.ValidationError):
        body = {"success": False, "error": INVALID_REQUEST, "details": exc.detail}
    elif isinstance(exc, exceptions.ParseError | exceptions.UnsupportedMediaType):
        body = {"success": False, "error": INVALID_REQUEST, "details": {"body": [str(exc.detail)]}}
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        body = {"success": False, "error": str(detail), **getattr(exc, "extra", {})}
    response.data = body
    return response


def invalid(details: dict) -> exceptions.ValidationError:
    """A 400 for a bad query parameter: ``details`` names each one."""
    return exceptions.ValidationError(details)


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@authentication_classes([])
@permission_classes([AllowAny])
def not_found_view(request: Request) -> Response:
    """Any path under /api/ that no route takes (a malformed id included)."""
    raise exceptions.NotFound("Not found.")


# The error shapes, for the schema ---------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=False)
    error = serializers.CharField()


class InvalidRequestSerializer(ErrorSerializer):
    details = serializers.JSONField()


class NotFoundSerializer(ErrorSerializer):
    missing = serializers.ListField(child=serializers.CharField(), required=False)


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


ERROR_RESPONSES = {
    401: error_response("Not authenticated (no session, no valid token)."),
    403: error_response("Authenticated but not allowed (e.g. missing CSRF token)."),
    405: error_response("Method not allowed."),
    429: error_response(
        "Too many requests (per user, per address without credentials, or wrong tokens per "
        "address): retry after the seconds in the Retry-After header."
    ),
}
INVALID = OpenApiResponse(InvalidRequestSerializer, description="Bad body or query parameter.")
NOT_FOUND = OpenApiResponse(NotFoundSerializer, description="Unknown or not visible to you.")
TOO_LARGE = error_response("The body is larger than the API takes.")
