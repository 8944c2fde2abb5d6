"""What every app's pages share: the request type with HTMX details, telling a partial
swap from a whole page, redirecting after a POST, and small texts."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def is_partial_request(request: HtmxHttpRequest) -> bool:
    """An HTMX swap, not a history restore (which needs the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def redirect_to(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """A new page after a POST: HX-Redirect for htmx (a full page load), else a 302."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def conversations_text(count: int) -> str:
    return f"{count} conversation{pluralize(count)}"
