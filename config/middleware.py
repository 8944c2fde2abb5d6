"""Middleware of the whole site."""

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from config.logs import request_id
from core.errors import Unavailable

# An id a proxy in front already gave the request is kept, so that its log and ours match;
# anything else that arrives in the header is replaced (it ends up in every log line).
_INCOMING_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

access_logger = logging.getLogger("access")


class RequestIdMiddleware:
    """Gives each request an id (the proxy's ``X-Request-ID`` when it sent a sane one),
    echoes it in the response, and logs one access line when the response is ready.

    The id stays set until the response is closed, so that what Django logs after the
    middleware (``Not Found: …``) and while a download streams carries it too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        current = incoming if _INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex
        request_id.set(current)
        started = time.perf_counter()
        response = self.get_response(request)
        response["X-Request-ID"] = current
        access_logger.info(
            '%s "%s %s" %s %.1fms',
            request.META.get("REMOTE_ADDR", "-"),
            request.method,
            request.get_full_path(),
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response


def _forget_request_id(**kwargs) -> None:
    request_id.set(None)


request_finished.connect(_forget_request_id, dispatch_uid="config.middleware.request_id")


class UnavailablePagesMiddleware:
    """A page whose view met a failing dependency (``core.errors.Unavailable``: the file
    storage full or out of reach) answers 503 with ``Retry-After`` and the reason, not a
    bare 500. The API maps the same errors itself (``core.api.errors``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, Unavailable):
            return None
        response = HttpResponse(exc.message, status=exc.status, content_type="text/plain")
        response["Retry-After"] = str(exc.retry_after)
        return response
