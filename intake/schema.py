"""The request bodies of the intake API as JSON Schema, written by hand: an item is exactly
one of three kinds, which a serializer cannot tell the schema generator."""

from conversations.models import Priority, Tier
from intake.items import MAX_ITEMS_PER_CALL, PARAMETER_KEYS

# Text that fits a text column: anything but NUL.
_NO_NUL = r"^[^\u0000]*$"
# A name: that, with something besides spaces (the serializer checks the same pattern).
NAME_PATTERN = r"^[^\u0000]*[^\u0000 \t\n\r][^\u0000]*$"


def _text(*, max_length: int | None = None, non_blank: bool = False, **extra) -> dict:
    schema: dict = {"type": "string", "pattern": _NO_NUL, **extra}
    if max_length is not None:
        schema["maxLength"] = max_length
    if non_blank:
        schema["minLength"] = 1
    return schema


CREATE_JOB_REQUEST = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {**_text(max_length=255), "pattern": NAME_PATTERN, "description": "Its name."},
        "autoEnrich": {
            "type": "boolean",
            "default": True,
            "description": "Enrich its conversations in the background once it is finished.",
        },
        "tier": {"type": "string", "enum": Tier.values, "default": Tier.TEMPLATE},
        "priority": {"type": "string", "enum": Priority.values, "default": Priority.NORMAL},
    },
}

_PARAMETERS = {
    "type": "object",
    "description": "Scaffolding keys the item was generated from (they link its conversation).",
    "properties": {name: _text(max_length=255) for name in PARAMETER_KEYS},
    "additionalProperties": False,
}
_COMMON = {
    "topic": _text(max_length=255),
    "name": _text(max_length=255, description="The conversation's name (default: its topic)."),
    "parameters": _PARAMETERS,
}
_KINDS = {
    "conversation": (
        "A conversation document",
        {"type": "object", "description": "Parsed or raw model output, as a JSON object."},
    ),
    "raw": (
        "The model's text as it came",
        {
            "type": "string",
            "pattern": NAME_PATTERN,
            "description": "Not valid JSON: the item fails, the text is kept. Not empty: for "
            "a generation that produced nothing, send its `error`.",
        },
    ),
    "error": (
        "A generation that failed",
        _text(non_blank=True, description="Why it failed."),
    ),
}


def _item(kind: str) -> dict:
    title, schema = _KINDS[kind]
    others = [other for other in _KINDS if other != kind]
    return {
        "type": "object",
        "title": title,
        "required": [kind],
        "properties": {kind: schema, **_COMMON},
        "not": {"anyOf": [{"required": [other]} for other in others]},
    }


ADD_ITEMS_REQUEST = {
    "type": "object",
    "required": ["items"],
    "properties": {
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_ITEMS_PER_CALL,
            "items": {"oneOf": [_item(kind) for kind in _KINDS]},
        },
        "allowDuplicates": {
            "type": "boolean",
            "default": False,
            "description": "Store items whose content you imported before (default: skip).",
        },
    },
}
