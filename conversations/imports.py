"""Importing scaffolding rows (personas, arcs, topics, templates) from NDJSON exports."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from django.db import models, transaction

from conversations.models import EmotionalArc, Persona, PromptTemplate, TrainingTopic
from core import strict_json
from core.errors import DomainError

# An input at least as large as the largest document enrichment writes could never be
# enriched (the document holds every turn at least once), so it is refused at the door,
# before it is read into memory.
MAX_FILE_BYTES = 100 * 1024 * 1024

_REASONS = {
    "depth limit exceeded": strict_json.TOO_DEEP,
    "number is infinity": "a number too large to store",
    "surrogate": "a lone surrogate (such as \\ud800), which is not text",
    "not valid UTF-8": "not UTF-8 text",
}


class ImportFailed(DomainError):
    """Bad input for an import; the message names the file (and line)."""

    code = "unreadable"
    summary = "Invalid request"

    def fields(self) -> dict:
        return {"details": {"items": [self.message]}}


class UnusableJSON(ValueError):
    """JSON that the strict parser refuses; the message says why, and where."""


def load_json(content: bytes | str) -> Any:
    """Parse JSON strictly, as the API does (``core.strict_json``): nesting deeper than
    ``MAX_DEPTH``, numbers out of range, lone surrogates, text that is not UTF-8 and syntax
    errors raise ``UnusableJSON`` with the reason, never a RecursionError later on."""
    if isinstance(content, bytes) and content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]  # a UTF-8 byte order mark, as some editors write
    try:
        return strict_json.loads(content)
    except strict_json.TooDeep as exc:
        raise UnusableJSON(str(exc)) from None
    except strict_json.JSONDecodeError as exc:
        message = str(exc)
        reason = next((text for key, text in _REASONS.items() if key in message), None)
        raise UnusableJSON(f"{reason} ({message})" if reason else message) from None


def read_bounded(path: Path) -> bytes:
    """The file's bytes, refused with a reason naming it when missing, unreadable or
    over ``MAX_FILE_BYTES``."""
    try:
        with path.open("rb") as handle:
            content = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ImportFailed(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportFailed(f"{path}: is a directory, not a file to import") from None
    except OSError as exc:
        raise ImportFailed(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(content) > MAX_FILE_BYTES:
        raise ImportFailed(
            f"{path}: larger than {MAX_FILE_BYTES:,} bytes, the most enrichment can take "
            "(its enriched document would be larger than the largest one it writes)"
        )
    return content


@dataclass(frozen=True)
class ScaffoldingKind:
    model: type[models.Model]
    natural_key: str  # column in the export
    lookup: str  # model field holding the natural key
    columns: tuple[str, ...]  # export columns that are model fields (besides the key)


KINDS: dict[str, ScaffoldingKind] = {
    "personas": ScaffoldingKind(
        Persona,
        "persona_key",
        "persona_key",
        ("name", "archetype", "demographics", "financial_background", "is_active"),
    ),
    "emotional_arcs": ScaffoldingKind(
        EmotionalArc,
        "arc_key",
        "arc_key",
        ("name", "starting_emotion", "ending_emotion", "is_active"),
    ),
    "training_topics": ScaffoldingKind(
        TrainingTopic,
        "topic_key",
        "topic_key",
        ("name", "category", "complexity_level", "is_active"),
    ),
    "prompt_templates": ScaffoldingKind(
        PromptTemplate,
        "template_name",
        "name",
        (
            "category",
            "tier",
            "emotional_arc_type",
            "suitable_personas",
            "suitable_topics",
            "is_active",
            "template_text",
            "description",
            "variables",
            "structure",
            "tone",
            "style_notes",
            "quality_threshold",
            "required_elements",
            "methodology_principles",
            "complexity_baseline",
        ),
    ),
}

# Columns the export has that neither go to a model field nor to ``data``.
_DROPPED = {"id", "created_at", "updated_at", "created_by"}


@dataclass
class ImportCounts:
    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: list[dict] = field(default_factory=list, repr=False)

    def __str__(self) -> str:
        total = self.created + self.updated + self.unchanged
        return (
            f"{self.kind}: {total} rows ({self.created} created, "
            f"{self.updated} updated, {self.unchanged} unchanged)"
        )


def kind_for_path(path: Path) -> str:
    kind = path.name.split(".", 1)[0]
    if kind not in KINDS:
        raise ImportFailed(
            f"{path}: unknown scaffolding kind {kind!r} (the file name must start with one of: "
            f"{', '.join(KINDS)})"
        )
    return kind


def _row_values(kind: ScaffoldingKind, row: dict) -> dict:
    values: dict = {}
    model_fields = {f.name for f in kind.model._meta.fields}
    for column in kind.columns:
        if column not in row:
            continue
        value = row[column]
        target = "name" if column == "template_name" else column
        model_field = kind.model._meta.get_field(target)
        if value is None and not model_field.null:
            value = model_field.get_default()
        values[target] = value
    if kind.natural_key == "template_name":
        values["name"] = row["template_name"]
    extra = {
        key: value
        for key, value in row.items()
        if key not in kind.columns
        and key != kind.natural_key
        and key not in _DROPPED
        and key not in model_fields - {"data"}
    }
    values["data"] = extra
    return values


def read_scaffolding_file(path: Path) -> tuple[str, list[dict]]:
    """Parse and check every line of one export; errors name the file and line."""
    kind_name = kind_for_path(path)
    kind = KINDS[kind_name]
    content = read_bounded(path)
    if problem := strict_json.utf8_problem(content):
        raise ImportFailed(f"{path}: {problem}")
    text = content.decode("utf-8")
    rows: list[dict] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = load_json(line)
        except UnusableJSON as exc:
            raise ImportFailed(f"{path}, line {number}: not valid JSON: {exc}") from None
        if not isinstance(row, dict):
            raise ImportFailed(f"{path}, line {number}: expected a JSON object")
        if b"\\u0000" in orjson.dumps(row):
            raise ImportFailed(
                f"{path}, line {number}: contains a NUL character (\\u0000), "
                "which the database cannot store"
            )
        key = row.get(kind.natural_key)
        if not isinstance(key, str) or not key.strip():
            raise ImportFailed(f"{path}, line {number}: missing {kind.natural_key!r}")
        if kind.natural_key != "template_name" and not isinstance(row.get("name"), str):
            raise ImportFailed(f"{path}, line {number}: missing 'name'")
        if key in seen:
            raise ImportFailed(
                f"{path}, line {number}: {kind.natural_key} {key!r} repeats line {seen[key]}"
            )
        seen[key] = number
        try:
            values = _row_values(kind, row)
            instance = kind.model(**{kind.lookup: key, **values})
            instance.clean_fields(exclude=["id"])
        except Exception as exc:
            raise ImportFailed(f"{path}, line {number}: {exc}") from None
        rows.append({"key": key, "values": values})
    return kind_name, rows


def import_scaffolding(paths: Iterable[Path]) -> list[ImportCounts]:
    """Upsert every row of the given exports by natural key, all or nothing."""
    parsed = [read_scaffolding_file(Path(path)) for path in paths]
    results: list[ImportCounts] = []
    with transaction.atomic():
        for kind_name, rows in parsed:
            kind = KINDS[kind_name]
            counts = ImportCounts(kind_name)
            existing = {
                getattr(obj, kind.lookup): obj
                for obj in kind.model.objects.filter(
                    **{f"{kind.lookup}__in": [row["key"] for row in rows]}
                )
            }
            for row in rows:
                obj = existing.get(row["key"])
                if obj is None:
                    kind.model.objects.create(**{**row["values"], kind.lookup: row["key"]})
                    counts.created += 1
                    continue
                changed = [
                    name for name, value in row["values"].items() if getattr(obj, name) != value
                ]
                if not changed:
                    counts.unchanged += 1
                    continue
                for name in changed:
                    setattr(obj, name, row["values"][name])
                obj.save(update_fields=[*changed, "updated_at"])
                counts.updated += 1
            results.append(counts)
    return results
