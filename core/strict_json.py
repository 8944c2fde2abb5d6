"""The one strict JSON reader for everything that takes JSON from outside (API bodies,
uploads, imports): orjson, plus one nesting limit, ``MAX_DEPTH``, that everything
downstream (validation, enrichment, ``json.dumps``) can handle without recursing into a
``RecursionError``."""

from typing import Any

import orjson

# Levels of arrays and objects one document may nest (a conversation needs about 5).
MAX_DEPTH = 100
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"

JSONDecodeError = orjson.JSONDecodeError


class TooDeep(ValueError):
    def __init__(self) -> None:
        super().__init__(TOO_DEEP)


def utf8_problem(content: bytes) -> str | None:
    """Why ``content`` is not UTF-8 text, naming the first bad byte and where it is
    (``not UTF-8 text: byte 0xe9 at position 17``), or None when it is."""
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text: byte 0x{content[exc.start]:02x} at position {exc.start:,}"
    return None


def loads(content: bytes | str) -> Any:
    """Parse ``content``; ``JSONDecodeError`` when it is not JSON orjson takes (nesting past
    1,024, numbers out of range, lone surrogates, NaN, bytes that are not UTF-8),
    ``TooDeep`` past ``MAX_DEPTH``."""
    value = orjson.loads(content)
    if _deeper_than(value, MAX_DEPTH):
        raise TooDeep()
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
