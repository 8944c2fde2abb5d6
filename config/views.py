"""Error pages: the API answers in JSON, the pages in HTML; the login lockout page."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        # An id that is not even a UUID never matches a route; say so as the API does.
        return JsonResponse({"success": False, "error": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"success": False, "error": "Internal server error."}, status=500)
    return defaults.server_error(request)


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """A login refused by the lockout (django-axes' ``AXES_LOCKOUT_CALLABLE``): 429 with
    the wait, on the login page's own layout."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": max(1, seconds // 60)},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
