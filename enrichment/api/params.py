"""Query parameters, parsed strictly: a bad one is a 400 naming it, never a 500."""

from rest_framework.request import Request

from .errors import invalid

# Beyond any offset or size a database can page to (a bigint).
MAX_WHOLE_NUMBER = 2**62


def whole_number(
    request: Request, name: str, *, default: int, minimum: int = 0, maximum: int = MAX_WHOLE_NUMBER
) -> int:
    """``?name=`` as a whole number between ``minimum`` and ``maximum`` (ASCII digits only)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        raise invalid({name: [f"Must be a whole number between {minimum} and {maximum}."]})
    value = int(raw)
    if not minimum <= value <= maximum:
        raise invalid({name: [f"Must be a whole number between {minimum} and {maximum}."]})
    return value
