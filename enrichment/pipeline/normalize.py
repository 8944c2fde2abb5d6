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

Bounded memory: every training pair repeats the whole earlier history, so a document's
size grows with the square of its turn count (800 turns of 10 KB would make 3.3 GB). The
document is therefore serialised in pieces: the top-level object, each pair without its
history, and each turn's history entry once. Their sizes give the document's exact size
before a byte of it is assembled, so a document over the limit is refused at the cost of
serialising its conversation once, and ``Prepared.chunks()`` writes the document out a
pair at a time. Each piece is serialised at C speed and its bytes scanned for escaped control
characters and non-NFC text; only a piece that needs fixing is walked in Python.

Report, stored in the conversation's record (keys are stable)::

    {
        "fixes": {
            "controlCharactersRemoved": int,  # characters removed, over all strings
            "stringsNfcNormalized": int,      # string occurrences NFC changed
        },
        "warnings": [{"code": str, "message": str}, ...],
        "errors": [{"code": str, "message": str}, ...],
        "sizeBytes": int,  # the document's size (also when refused as too large);
                           # 0 if it could not be serialised
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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from conversations.imports import MAX_FILE_BYTES

from .enrich import HISTORY_KEY, EnrichedDocument

__all__ = ["NormalizationError", "Prepared", "normalize_document", "prepare_document"]

MIN_SIZE_BYTES = 1_000
# The largest document anything stores or reads (files bigger are refused at import).
MAX_SIZE_BYTES = MAX_FILE_BYTES
INDENT = "  "
PAIRS_KEY = "training_pairs"

_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# In serialised JSON the control characters to strip appear as escapes: \b, \f or \u00XX
# (tab, LF and CR are written \t, \n, \r and kept), after an even run of backslashes.
_ESCAPE_CANDIDATE = re.compile(rb"\\(?:u00|[bf])")
_BACKSLASH_RUN = re.compile(rb"(\\+)(?:u00|[bf])")
_OPTIONS = orjson.OPT_INDENT_2
_INFINITY = float("inf")

# Where the pairs go in the serialised top-level object, and the history in a serialised
# pair: an empty list under the key at exactly that indentation. Nothing else can look like
# it: quotes inside strings are escaped, and deeper keys are indented further.
_PAIRS_SLOT = b'\n  "' + PAIRS_KEY.encode() + b'": []'
_HISTORY_SLOT = b'\n      "' + HISTORY_KEY.encode() + b'": []'
# Serialised on their own, pieces start at depth 0; in the document, pairs sit at depth 2
# and history entries at depth 4. JSON text has no raw newline inside a string, so every
# newline in a piece is indentation.
_PAIR_NEWLINE = b"\n    "
_ENTRY_NEWLINE = b"\n        "
_PAIRS_OPEN, _PAIRS_CLOSE = b"[\n", b"\n  ]"
_HISTORY_OPEN, _HISTORY_CLOSE = b"[\n", b"\n      ]"
_SEPARATOR = b",\n"


class NormalizationError(ValueError):
    def __init__(self, message: str, report: dict) -> None:
        super().__init__(message)
        self.report = report

    def __reduce__(self) -> tuple:
        # Keeps the report when the error crosses a process boundary (pickling).
        return (type(self), (str(self), self.report))


@dataclass(frozen=True)
class Prepared:
    """A normalized document ready to write: its report, its exact size, and its bytes a
    pair at a time (``chunks``), so that it is never held whole unless the caller joins it."""

    report: dict
    size: int
    head: bytes  # the top-level object, with "training_pairs": [] where the pairs go
    pairs: list[tuple[bytes, bytes]]  # each pair around its history slot (or whole, "")
    history: list[bytes]  # each turn's history entry, indented for its place

    def chunks(self) -> Iterator[bytes]:
        if not self.pairs:
            yield self.head + b"\n"
            return
        cut = self.head.index(_PAIRS_SLOT) + len(_PAIRS_SLOT) - 2
        yield self.head[:cut] + _PAIRS_OPEN
        for index, (before, after) in enumerate(self.pairs):
            parts = [_SEPARATOR if index else b"", before]
            if after:
                parts += _history_block(self.history[:index])
                parts.append(after)
            yield b"".join(parts)
        yield _PAIRS_CLOSE + self.head[cut + 2 :] + b"\n"

    def content(self) -> bytes:
        return b"".join(self.chunks())


def normalize_document(document: dict | EnrichedDocument) -> tuple[bytes, dict]:
    """Clean and serialise ``document``; returns (bytes to store, report).

    Raises ``NormalizationError`` (with ``.report``) when a gate finds an error.
    """
    prepared = prepare_document(document)
    return prepared.content(), prepared.report


def prepare_document(document: dict | EnrichedDocument) -> Prepared:
    """Run every gate and measure the document without assembling it.

    Raises ``NormalizationError`` (with ``.report``) when a gate finds an error, a
    document over ``MAX_SIZE_BYTES`` included.
    """
    if isinstance(document, EnrichedDocument):
        fields, history = document.fields, document.history
    else:
        fields, history = document, None
    warnings: list[dict] = []
    errors: list[dict] = []
    report = {
        "fixes": {"controlCharactersRemoved": 0, "stringsNfcNormalized": 0},
        "warnings": warnings,
        "errors": errors,
        "sizeBytes": 0,
    }

    if not isinstance(fields, dict):
        errors.append(_problem("NOT_AN_OBJECT", "The enriched document is not a JSON object."))
        raise NormalizationError(_message(errors), report)
    _check_schema(fields, warnings, errors)

    prepared = None
    try:
        prepared = _serialise(fields, history, report)
    except (TypeError, ValueError, RecursionError) as exc:
        errors.append(_problem("NOT_SERIALIZABLE", f"The document is not serialisable: {exc}"))
    else:
        size = report["sizeBytes"] = prepared.size
        if size > MAX_SIZE_BYTES:
            errors.append(
                _problem(
                    "DOCUMENT_TOO_LARGE",
                    f"The document would be {size:,} bytes; the limit is {MAX_SIZE_BYTES:,}.",
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
    assert prepared is not None
    return prepared


def _problem(code: str, message: str) -> dict:
    return {"code": code, "message": message}


def _message(errors: list[dict]) -> str:
    return "; ".join(error["message"] for error in errors)


def _check_schema(document: dict, warnings: list[dict], errors: list[dict]) -> None:
    if not isinstance(document.get("dataset_metadata"), dict):
        errors.append(
            _problem("MISSING_DATASET_METADATA", "dataset_metadata is missing or not an object.")
        )
    pairs = document.get(PAIRS_KEY)
    if not isinstance(pairs, list):
        errors.append(
            _problem("MISSING_TRAINING_PAIRS", "training_pairs is missing or not an array.")
        )
    elif not pairs:
        warnings.append(_problem("EMPTY_TRAINING_PAIRS", "training_pairs is empty."))
    if "consultant_profile" not in document:
        warnings.append(_problem("MISSING_CONSULTANT_PROFILE", "consultant_profile is missing."))


def _history_block(entries: list[bytes]) -> list[bytes]:
    if not entries:
        return [b"[]"]
    return [_HISTORY_OPEN, _SEPARATOR.join(entries), _HISTORY_CLOSE]


def _history_block_size(count: int, entries_size: int) -> int:
    """The size of ``_history_block`` over ``count`` entries of ``entries_size`` bytes."""
    if not count:
        return 2
    return len(_HISTORY_OPEN) + entries_size + 2 * (count - 1) + len(_HISTORY_CLOSE)


def _serialise(fields: dict, history: list[dict] | None, report: dict) -> Prepared:
    """Every piece of the document, cleaned, with the document's exact size.

    Once the size passes ``MAX_SIZE_BYTES`` the pieces are only measured, not kept: the
    document will be refused, and its size is all that is left to tell.
    """
    limit = MAX_SIZE_BYTES
    cleaner = _Cleaner()
    pairs = fields.get(PAIRS_KEY)
    split = isinstance(pairs, list) and bool(pairs)
    head = cleaner.serialise({**fields, PAIRS_KEY: []} if split else fields)
    size = len(head) + 1  # the trailing newline
    if not split:
        report["fixes"] = cleaner.fixes()
        return Prepared(report, size, head, [], [])

    count = len(pairs)
    entries: list[bytes] = []
    lengths: list[int] = []
    if history is not None:
        # The last turn's entry appears in no pair's history; every other one appears in
        # each later pair.
        for position, entry in enumerate(history[: count - 1]):
            times = count - 1 - position
            text = b"        " + cleaner.serialise(entry, times=times).replace(
                b"\n", _ENTRY_NEWLINE
            )
            lengths.append(len(text))
            size += times * (len(text) + 2)
            if size <= limit:
                entries.append(text)

    size += len(_PAIRS_OPEN) + len(_PAIRS_CLOSE) - 2 + 2 * (count - 1)
    pieces: list[tuple[bytes, bytes]] = []
    entries_size = 0
    for index, pair in enumerate(pairs):
        text = b"    " + cleaner.serialise(pair).replace(b"\n", _PAIR_NEWLINE)
        slot = text.find(_HISTORY_SLOT) if history is not None else -1
        if slot < 0:
            piece = (text, b"")
            size += len(text)
        else:
            cut = slot + len(_HISTORY_SLOT) - 2
            piece = (text[:cut], text[cut + 2 :])
            # Each entry and the comma after it were counted with the history above.
            counted = entries_size + 2 * index if index else 0
            size += len(text) - 2 + _history_block_size(index, entries_size) - counted
            if index < len(lengths):
                entries_size += lengths[index]
        if size <= limit:
            pieces.append(piece)
    report["fixes"] = cleaner.fixes()
    return Prepared(report, size, head, pieces, entries)


class _Cleaner:
    """Serialises pieces, cleaning those that need it, and counts what it fixed."""

    def __init__(self) -> None:
        self.cache: dict[str, tuple[str, int, bool]] = {}
        self.removed = 0
        self.normalized = 0

    def fixes(self) -> dict:
        return {"controlCharactersRemoved": self.removed, "stringsNfcNormalized": self.normalized}

    def serialise(self, value: Any, *, times: int = 1) -> bytes:
        """``value`` as indented JSON, cleaned; its fixes count ``times`` (the number of
        times the piece appears in the document)."""
        try:
            content = orjson.dumps(value, option=_OPTIONS)
        except orjson.JSONEncodeError:
            content = None  # let the cleaning walk name the problem
        # Almost every piece is already clean: one C-speed serialisation and two scans of
        # its bytes prove it, so the Python walk below runs only when something needs fixing.
        if (
            content is not None
            and not _has_escaped_control(content)
            and b"\x7f" not in content
            and (content.isascii() or unicodedata.is_normalized("NFC", content.decode("utf-8")))
        ):
            return content
        counts = {"removed": 0, "normalized": 0}
        cleaned = _clean(value, self.cache, counts)
        try:
            content = orjson.dumps(cleaned, option=_OPTIONS)
        except orjson.JSONEncodeError as exc:
            raise ValueError(str(exc)) from None
        self.removed += counts["removed"] * times
        self.normalized += counts["normalized"] * times
        return content


def _clean_string(text: str) -> tuple[str, int, bool]:
    """Returns (cleaned text, control characters removed, whether NFC changed it)."""
    removed = 0
    if _CONTROL_CHARACTERS.search(text):
        text, removed = _CONTROL_CHARACTERS.subn("", text)
    # ASCII text is always NFC, and isascii() reads a flag in CPython.
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text, removed, False
    return unicodedata.normalize("NFC", text), removed, True


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
