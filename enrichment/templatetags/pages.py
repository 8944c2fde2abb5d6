"""Template helpers shared by the list pages."""

from django import template
from django.http import QueryDict

register = template.Library()


@register.simple_tag(takes_context=True)
def query_with(context: template.Context, **changes) -> str:
    """The current query string with ``changes`` applied (``None`` removes a key).

    Keeps the list's filters in pagination and sort links.
    """
    query: QueryDict = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = str(value)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag
def sort_key(current: str, key: str) -> str:
    """The ordering a column header link switches to: ascending first, then descending."""
    return f"-{key}" if current == key else key


@register.filter
def sort_direction(current: str, key: str) -> str:
    """``ascending``/``descending`` when the list is sorted by ``key``, else ``none``
    (for ``aria-sort``)."""
    if current == key:
        return "ascending"
    if current == f"-{key}":
        return "descending"
    return "none"
