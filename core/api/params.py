"""Query parameters, parsed strictly: a bad one is a 400 naming it, never a 500. Each
parser has its schema beside it, so the OpenAPI document says exactly what is accepted."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request

from core.api.errors import invalid

# Beyond any offset or size a database can page to (a bigint).
MAX_WHOLE_NUMBER = 2**62


def whole_number(
    request: Request, name: str, *, default: int, minimum: int = 0, maximum: int = MAX_WHOLE_NUMBER
) -> int:
    """``?name=`` as a whole number between ``minimum`` and ``maximum`` (ASCII digits only;
    absent means ``default``, present but empty is refused)."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        raise invalid({name: [f"Must be a whole number between {minimum} and {maximum}."]})
    value = int(raw)
    if not minimum <= value <= maximum:
        raise invalid({name: [f"Must be a whole number between {minimum} and {maximum}."]})
    return value


def whole_number_parameter(
    name: str, *, minimum: int = 0, maximum: int = MAX_WHOLE_NUMBER, description: str = ""
) -> OpenApiParameter:
    schema = {"type": "integer", "minimum": minimum, "maximum": maximum}
    return OpenApiParameter(name, schema, description=description)


def flag(request: Request, name: str) -> bool:
    """``?name=true`` or ``?name=false`` (absent means false); anything else is refused."""
    raw = request.query_params.get(name)
    if raw is None:
        return False
    if raw not in {"true", "false"}:
        raise invalid({name: ["Must be true or false."]})
    return raw == "true"


def flag_parameter(name: str, *, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, {"type": "boolean", "default": False}, description=description)


def choice(request: Request, name: str, choices: list[str]) -> str | None:
    """``?name=`` as one of ``choices`` (absent means None; empty is refused)."""
    raw = request.query_params.get(name)
    if raw is not None and raw not in choices:
        raise invalid({name: [f"Must be one of: {', '.join(choices)}."]})
    return raw


def choice_parameter(name: str, choices: list[str], *, description: str = "") -> OpenApiParameter:
    return OpenApiParameter(name, {"type": "string", "enum": choices}, description=description)
