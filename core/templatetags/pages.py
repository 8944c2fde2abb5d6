"""Template helpers shared by the pages."""

from datetime import datetime

from django import template
from django.utils.dateparse import parse_datetime

register = template.Library()


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


@register.filter
def iso_datetime(value: str | None) -> datetime | str | None:
    """An ISO 8601 string stored in JSON (a report's ``validatedAt``) as a datetime, so
    the ``date`` filter can format it; anything unparseable comes back unchanged."""
    if not isinstance(value, str):
        return value
    try:
        return parse_datetime(value) or value
    except ValueError:
        return value


@register.filter
def duration(seconds: int | float | None) -> str:
    """A rough time span for people: ``45 s``, ``3 min 20 s``, ``2 h 5 min``; empty for
    ``None`` (so ``default`` can say "calculating")."""
    if seconds is None or seconds == "":
        return ""
    total = max(round(float(seconds)), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
