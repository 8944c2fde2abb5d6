"""The API's one error shape, ``{"success": false, "error": …, "code": …, …}``, for every
4xx and 5xx under ``/api/``: DRF's own errors (401, 403, 404, 405, 415, 429), bad bodies
(400, 413) and the domain's (``core.errors.DomainError``: its status, ``code`` and fields),
mapped in one exception handler (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``). ``error`` is for
people; ``code`` is a stable name for programs to test."""

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.api.parsers import TooDeep
from core.errors import DomainError, Unavailable

INVALID_REQUEST = "Invalid request"


INVALID_CODE = "invalid"
# How the error body shows a domain error's subject, by its model: (key, payload function).
_SUBJECTS: dict[type, tuple[str, Callable[[Any], dict]]] = {}


def shows_subject(model: type, key: str):
    """Register a payload function (beside the model's serializers) as the way error
    bodies show an error's subject of this model, under ``key``."""

    def register(payload: Callable[[Any], dict]) -> Callable[[Any], dict]:
        _SUBJECTS[model] = (key, payload)
        return payload

    return register


def _subject_fields(exc: DomainError) -> dict:
    if exc.subject is None:
        return {}
    key, payload = _SUBJECTS[type(exc.subject)]
    return {key: payload(exc.subject)}


def error_body(message: str, code: str, **extra) -> dict:
    return {"success": False, "error": message, "code": code, **extra}


class ApiError(exceptions.APIException):
    """An error with the API's shape: ``status``, a message, its code and extra keys."""

    def __init__(self, status: int, message: str, *, code: str, **extra) -> None:
        super().__init__(message, code=code)
        self.status_code = status
        self.default_code = code
        self.extra = extra


def not_found(message: str, **extra) -> ApiError:
    return ApiError(404, message, code="not_found", **extra)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        response = Response(
            error_body(
                exc.summary or exc.message, exc.code, **exc.fields(), **_subject_fields(exc)
            ),
            status=exc.status,
        )
        if isinstance(exc, Unavailable):
            response["Retry-After"] = str(exc.retry_after)
        return response
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's 500 handler answers (in the same shape under /api/)
    if isinstance(exc, exceptions.ValidationError):
        body = error_body(INVALID_REQUEST, INVALID_CODE, details=exc.detail)
    elif isinstance(exc, exceptions.ParseError | exceptions.UnsupportedMediaType):
        code = TooDeep.default_code if isinstance(exc, TooDeep) else INVALID_CODE
        body = error_body(INVALID_REQUEST, code, details={"body": [str(exc.detail)]})
    elif isinstance(exc, exceptions.APIException):
        body = error_body(str(exc.detail), exc.default_code, **getattr(exc, "extra", {}))
    else:  # Django's Http404 and PermissionDenied, which DRF answers as 404 and 403
        code = "not_found" if response.status_code == 404 else "permission_denied"
        body = error_body(str(exc) or response.data.get("detail", ""), code)
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
    error = serializers.CharField(help_text="What went wrong, for people.")
    code = serializers.CharField(
        help_text="A stable name for the error, for programs (e.g. not_found, invalid, "
        "throttled, name_taken)."
    )


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
