"""Error pages: the API answers in JSON, the pages in HTML; the login lockout page."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views import defaults
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from core.api.errors import INVALID_CODE, error_body
from intake.views import too_many_files


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        # Django's own refusals before the API sees the request (a body over
        # DATA_UPLOAD_MAX_MEMORY_SIZE read by something other than the API's parser).
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse(
                error_body("The request body is too large.", "too_large"), status=413
            )
        return JsonResponse(error_body("Bad request.", INVALID_CODE), status=400)
    upload_pages = {reverse("batch-job-new"), reverse("batch-job-new-preview")}
    if (
        isinstance(exception, TooManyFilesSent)
        and request.path in upload_pages
        and request.user.is_authenticated
    ):
        # Too many files to parse: the upload page says so instead of a bare 400.
        return too_many_files(request)
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        # An id that is not even a UUID never matches a route; say so as the API does.
        return JsonResponse(error_body("Not found.", "not_found"), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("Internal server error.", "server_error"), status=500)
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


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links: send them to the icon."""
    return HttpResponseRedirect(static("favicon.svg"))
