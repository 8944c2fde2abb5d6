"""Normalization of an enriched document into the exact bytes to store (DOMAIN.md §5).

Every string, dictionary keys included, loses its ASCII control characters other than tab,
LF and CR (U+0000-U+0008, U+000B, U+000C, U+000E-U+001F and DEL) and is then put in Unicode
NFC; stripping comes first because removing a control character can leave a sequence that
NFC would recompose. The result is UTF-8 JSON with a 2-space indent, non-ASCII characters
unescaped, keys in their given order and a trailing newline: byte for byte what
``json.dumps(cleaned, indent=2, ensure_ascii=False) + "\\n"`` gives, so equal input gives
identical bytes. Keys must be strings.

Cleaning and writing happen in one walk over the tree instead of building a cleaned copy
and handing it to ``json.dumps``, whose indenting encoder is pure Python: this halves the
cost of the stage (tests check the output against ``json.dumps``).

Report, stored in the conversation's record (keys are stable)::

    {
        "fixes": {
            "control_characters_removed": int,  # characters removed, over all strings
            "strings_nfc_normalized": int,      # string occurrences NFC changed
        },
        "warnings": [{"code": str, "message": str}, ...],
        "errors": [{"code": str, "message": str}, ...],
        "size_bytes": int,  # length of the returned bytes; 0 if writing failed
    }

Warning codes: ``DOCUMENT_TOO_SMALL`` (< 1,000 bytes), ``EMPTY_TRAINING_PAIRS``,
``MISSING_CONSULTANT_PROFILE``. Error codes: ``NOT_AN_OBJECT``, ``MISSING_DATASET_METADATA``
(missing or not an object), ``MISSING_TRAINING_PAIRS`` (missing or not an array),
``NOT_SERIALIZABLE`` (NaN or infinity, lone surrogates, non-string keys, keys that become
identical once cleaned, values that are not JSON), ``DOCUMENT_TOO_LARGE`` (> 100 MiB).
Any error raises ``NormalizationError`` carrying the report.
"""

import re
import unicodedata
from json.encoder import encode_basestring
from typing import Any

__all__ = ["NormalizationError", "normalize_document"]

MIN_SIZE_BYTES = 1_000
MAX_SIZE_BYTES = 100 * 1024 * 1024
INDENT = "  "

_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INFINITY = float("inf")


class NormalizationError(ValueError):
    def __init__(self, message: str, report: dict) -> None:
        super().__init__(message)
        self.report = report

    def __reduce__(self) -> tuple:
        # Keeps the report when the error crosses a process boundary (pickling).
        return (type(self), (str(self), self.report))


def normalize_document(document: dict) -> tuple[bytes, dict]:
    """Clean and serialise ``document``; returns (bytes to store, report).

    Raises ``NormalizationError`` (with ``.report``) when a gate finds an error.
    """
    warnings: list[dict] = []
    errors: list[dict] = []
    report = {
        "fixes": {"control_characters_removed": 0, "strings_nfc_normalized": 0},
        "warnings": warnings,
        "errors": errors,
        "size_bytes": 0,
    }

    if not isinstance(document, dict):
        errors.append(_problem("NOT_AN_OBJECT", "The enriched document is not a JSON object."))
        raise NormalizationError(_message(errors), report)
    _check_schema(document, warnings, errors)

    content = b""
    try:
        text, removed, normalized = _write(document)
        content = text.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        errors.append(_problem("NOT_SERIALIZABLE", f"The document is not serialisable: {exc}"))
    else:
        report["fixes"] = {
            "control_characters_removed": removed,
            "strings_nfc_normalized": normalized,
        }
        size = len(content)
        report["size_bytes"] = size
        if size > MAX_SIZE_BYTES:
            errors.append(
                _problem(
                    "DOCUMENT_TOO_LARGE",
                    f"The document is {size:,} bytes; the limit is {MAX_SIZE_BYTES:,}.",
                )
            )
        elif size < MIN_SIZE_BYTES:
            warnings.append(
                _problem(
                    "DOCUMENT_TOO_SMALL",
                    f"The document is only {size:,} bytes; real enriched files are 15-130 KB.",
                )
            )

    if errors:
        raise NormalizationError(_message(errors), report)
    return content, report


def _problem(code: str, message: str) -> dict:
    return {"code": code, "message": message}


def _message(errors: list[dict]) -> str:
    return "; ".join(error["message"] for error in errors)


def _check_schema(document: dict, warnings: list[dict], errors: list[dict]) -> None:
    if not isinstance(document.get("dataset_metadata"), dict):
        errors.append(
            _problem("MISSING_DATASET_METADATA", "dataset_metadata is missing or not an object.")
        )
    pairs = document.get("training_pairs")
    if not isinstance(pairs, list):
        errors.append(
            _problem("MISSING_TRAINING_PAIRS", "training_pairs is missing or not an array.")
        )
    elif not pairs:
        warnings.append(_problem("EMPTY_TRAINING_PAIRS", "training_pairs is empty."))
    if "consultant_profile" not in document:
        warnings.append(_problem("MISSING_CONSULTANT_PROFILE", "consultant_profile is missing."))


def _clean_string(text: str) -> tuple[str, int, bool]:
    """Returns (cleaned text, control characters removed, whether NFC changed it)."""
    removed = 0
    if _CONTROL_CHARACTERS.search(text):
        text, removed = _CONTROL_CHARACTERS.subn("", text)
    # ASCII text is always NFC, and isascii() reads a flag in CPython.
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text, removed, False
    return unicodedata.normalize("NFC", text), removed, True


def _write(document: dict) -> tuple[str, int, int]:
    """Returns (JSON text, characters removed, strings NFC changed)."""
    # Enriched documents repeat every turn's text in later pairs' histories, often as the
    # same str object, so each distinct string is cleaned and escaped once.
    cache: dict[str, tuple[str, str, int, bool]] = {}
    removed = 0
    normalized = 0
    parts: list[str] = []
    append = parts.append

    def string(text: str) -> tuple[str, str, int, bool]:
        """Returns the cache entry (JSON literal, cleaned text, removed, NFC changed)."""
        nonlocal removed, normalized
        entry = cache.get(text)
        if entry is None:
            cleaned, count, changed = _clean_string(text)
            entry = cache[text] = (encode_basestring(cleaned), cleaned, count, changed)
        if entry[2]:
            removed += entry[2]
        if entry[3]:
            normalized += 1
        return entry

    def walk(value: Any, indent: str) -> None:
        kind = type(value)
        if kind is str:
            append(string(value)[0])
        elif kind is dict:
            obj(value, indent)
        elif kind is list:
            array(value, indent)
        elif value is None:
            append("null")
        elif value is True:
            append("true")
        elif value is False:
            append("false")
        elif kind is int:
            append(int.__repr__(value))
        elif kind is float:
            append(number(value))
        else:
            other(value, indent)

    def obj(mapping: dict, indent: str) -> None:
        if not mapping:
            append("{}")
            return
        inner = indent + INDENT
        separator = "{" + inner
        renamed = False
        for key, item in mapping.items():
            if type(key) is not str:
                if not isinstance(key, str):
                    raise TypeError(f"keys must be strings, not {type(key).__name__}")
                key = str.__str__(key)
            entry = string(key)
            if entry[2] or entry[3]:
                renamed = True
            append(separator)
            append(entry[0])
            append(": ")
            walk(item, inner)
            separator = "," + inner
        if renamed:
            # Two keys can only collide if cleaning changed one of them: rare, checked late.
            cleaned = [cache[str.__str__(key)][1] for key in mapping]
            if len(set(cleaned)) < len(cleaned):
                raise ValueError("two keys become identical once cleaned")
        append(indent + "}")

    def array(items: list | tuple, indent: str) -> None:
        if not items:
            append("[]")
            return
        inner = indent + INDENT
        separator = "[" + inner
        for item in items:
            append(separator)
            walk(item, inner)
            separator = "," + inner
        append(indent + "]")

    def number(value: float) -> str:
        if value != value or value == _INFINITY or value == -_INFINITY:
            raise ValueError(f"{value!r} is not a JSON number")
        return float.__repr__(value)

    def other(value: Any, indent: str) -> None:
        # Subclasses (StrEnum, IntEnum, OrderedDict) and tuples: written as json.dumps would.
        if isinstance(value, str):
            append(string(str.__str__(value))[0])
        elif isinstance(value, dict):
            obj(value, indent)
        elif isinstance(value, list | tuple):
            array(value, indent)
        elif isinstance(value, int):
            append(int.__repr__(value))
        elif isinstance(value, float):
            append(number(value))
        else:
            raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    walk(document, "\n")
    append("\n")
    return "".join(parts), removed, normalized
