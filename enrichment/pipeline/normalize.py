"""Normalization of an enriched document into the exact bytes to store (DOMAIN.md §5).

Every string, dictionary keys included, loses its ASCII control characters other than tab,
LF and CR (U+0000-U+0008, U+000B, U+000C, U+000E-U+001F and DEL) and is then put in Unicode
NFC; stripping comes first because removing a control character can leave a sequence that
NFC would recompose. The result is UTF-8 JSON with a 2-space indent, non-ASCII characters
unescaped, keys in their given order and a trailing newline, written by orjson: what
``json.dumps(cleaned, indent=2, ensure_ascii=False) + "\\n"`` gives, except that floats
use the shortest round-trip form, with an exponent past 1e16 (``1e-7``, ``1e+16``) and non-finite
numbers are written ``null``, as JavaScript's ``JSON.stringify`` does (validation rejects
them, so they never come from a conversation). Equal input gives identical bytes. Keys
must be strings; integers must fit in 64 bits.

The document is serialised once at C speed and its bytes scanned for escaped control
characters and non-NFC text; only a document that needs fixing is walked in Python.

Report, stored in the conversation's record (keys are stable)::

    {
        "fixes": {
            "controlCharactersRemoved": int,  # characters removed, over all strings
            "stringsNfcNormalized": int,      # string occurrences NFC changed
        },
        "warnings": [{"code": str, "message": str}, ...],
        "errors": [{"code": str, "message": str}, ...],
        "sizeBytes": int,  # length of the returned bytes; 0 if writing failed
    }

Warning codes: ``DOCUMENT_TOO_SMALL`` (< 1,000 bytes), ``EMPTY_TRAINING_PAIRS``,
``MISSING_CONSULTANT_PROFILE``. Error codes: ``NOT_AN_OBJECT``, ``MISSING_DATASET_METADATA``
(missing or not an object), ``MISSING_TRAINING_PAIRS`` (missing or not an array),
``NOT_SERIALIZABLE`` (lone surrogates, non-string keys, keys that become identical once
cleaned, integers beyond 64 bits, values that are not JSON), ``DOCUMENT_TOO_LARGE`` (> 100 MiB).
Any error raises ``NormalizationError`` carrying the report.
"""

import re
import unicodedata
from typing import Any

import orjson

__all__ = ["NormalizationError", "normalize_document"]

MIN_SIZE_BYTES = 1_000
MAX_SIZE_BYTES = 100 * 1024 * 1024
INDENT = "  "

_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# In serialised JSON the control characters to strip appear as escapes: \b, \f or \u00XX
# (tab, LF and CR are written \t, \n, \r and kept), after an even run of backslashes.
_ESCAPE_CANDIDATE = re.compile(rb"\\(?:u00|[bf])")
_BACKSLASH_RUN = re.compile(rb"(\\+)(?:u00|[bf])")
_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
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
        "fixes": {"controlCharactersRemoved": 0, "stringsNfcNormalized": 0},
        "warnings": warnings,
        "errors": errors,
        "sizeBytes": 0,
    }

    if not isinstance(document, dict):
        errors.append(_problem("NOT_AN_OBJECT", "The enriched document is not a JSON object."))
        raise NormalizationError(_message(errors), report)
    _check_schema(document, warnings, errors)

    content = b""
    try:
        content, removed, normalized = _write(document)
    except (TypeError, ValueError, RecursionError) as exc:
        errors.append(_problem("NOT_SERIALIZABLE", f"The document is not serialisable: {exc}"))
    else:
        report["fixes"] = {
            "controlCharactersRemoved": removed,
            "stringsNfcNormalized": normalized,
        }
        size = len(content)
        report["sizeBytes"] = size
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


def _write(document: dict) -> tuple[bytes, int, int]:
    """Returns (JSON bytes, characters removed, strings NFC changed)."""
    try:
        content = orjson.dumps(document, option=_OPTIONS)
    except orjson.JSONEncodeError:
        content = None  # let the cleaning walk name the problem
    # Almost every document is already clean: one C-speed serialisation and two scans of
    # its bytes prove it, so the Python walk below runs only when something needs fixing.
    if (
        content is not None
        and not _has_escaped_control(content)
        and b"\x7f" not in content
        and (content.isascii() or unicodedata.is_normalized("NFC", content.decode("utf-8")))
    ):
        return content, 0, 0
    counts = {"removed": 0, "normalized": 0}
    cleaned = _clean(document, {}, counts)
    try:
        content = orjson.dumps(cleaned, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:
        raise ValueError(str(exc)) from None
    return content, counts["removed"], counts["normalized"]


def _has_escaped_control(content: bytes) -> bool:
    if not _ESCAPE_CANDIDATE.search(content):
        return False
    # An odd run of backslashes ends in an escape; an even one is escaped backslashes
    # followed by plain text (a literal "\\b" in a message, say).
    return any(len(match.group(1)) % 2 for match in _BACKSLASH_RUN.finditer(content))


def _clean(value: Any, cache: dict[str, tuple[str, int, bool]], counts: dict) -> Any:
    """A copy of ``value`` with every string cleaned (shared where nothing changed)."""
    kind = type(value)
    if kind is str or isinstance(value, str):
        text = str.__str__(value)
        entry = cache.get(text)
        if entry is None:
            entry = cache[text] = _clean_string(text)
        counts["removed"] += entry[1]
        counts["normalized"] += entry[2]
        return entry[0]
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"keys must be strings, not {type(key).__name__}")
            new_key = _clean(key, cache, counts)
            if new_key in cleaned:
                raise ValueError("two keys become identical once cleaned")
            cleaned[new_key] = _clean(item, cache, counts)
        return cleaned
    if isinstance(value, list | tuple):
        return [_clean(item, cache, counts) for item in value]
    if kind is float and (value != value or value in (_INFINITY, -_INFINITY)):
        raise ValueError(f"{value!r} is not a JSON number")
    if value is None or isinstance(value, bool | int | float):
        return value
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
