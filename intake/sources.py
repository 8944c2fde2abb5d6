"""One conversation as it comes in (a file, an upload, an item's text or document): read,
parsed, linked to its scaffolding and stored as a new conversation."""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from conversations.fingerprints import content_hash
from conversations.imports import (
    MAX_FILE_BYTES,
    ImportFailed,
    UnusableJSON,
    load_json,
    read_bounded,
)
from conversations.models import (
    Conversation,
    EmotionalArc,
    Persona,
    ProcessingStatus,
    PromptTemplate,
    TrainingTopic,
)
from core import storage, strict_json
from core.errors import StorageFailed


@dataclass
class SourceFile:
    path: Path
    content: bytes
    data: dict | None  # None when the file is not parseable JSON (kept anyway)
    parse_error: str = ""  # why ``data`` is None
    # Set by ``without_document()``: the document was parsed once and dropped, to be read
    # and parsed again when the file is imported (an upload holds one at a time).
    set_aside: bool = False
    fingerprint: str = ""
    reread: Callable[[], bytes] | None = None

    @property
    def content_hash(self) -> str:
        if not self.fingerprint:
            self.fingerprint = content_hash(self.content, self.data)
        return self.fingerprint

    def without_document(self, reread: Callable[[], bytes]) -> "SourceFile":
        """This file with its content and parsed document dropped (a parsed document takes
        several times its file's size in memory); ``parsed()`` reads both again, with
        ``reread`` (from the uploaded file, kept on disk)."""
        fingerprint = self.content_hash
        return SourceFile(self.path, b"", None, self.parse_error, True, fingerprint, reread)

    def parsed(self) -> "SourceFile":
        if not self.set_aside:
            return self
        again = parse_source(self.path, self.reread())
        again.fingerprint = self.fingerprint
        return again


def read_source(path: Path) -> SourceFile:
    return parse_source(path, read_bounded(path))


def parse_source(path: Path, content: bytes) -> SourceFile:
    """One conversation file's content, parsed (an upload's too: ``path`` names it)."""
    if len(content) > MAX_FILE_BYTES:
        raise ImportFailed(
            f"{path}: larger than {MAX_FILE_BYTES:,} bytes, the most enrichment can take"
        )
    if not content.strip():
        raise ImportFailed(f"{path}: is empty (a generation that produced nothing)")
    if problem := strict_json.utf8_problem(content):
        # Not text at all (another encoding, binary): nothing to keep for validation.
        raise ImportFailed(f"{path}: {problem}")
    try:
        data = load_json(content)
    except UnusableJSON as exc:
        if not _is_broken_json(content):
            # Valid JSON only for a lenient parser (a 100,000-deep array, a 5,000-digit
            # number, a lone surrogate): nothing downstream could use it.
            raise ImportFailed(f"{path}: cannot be imported: {exc}") from None
        # A truncated model reply is real output: it is imported and fails validation later.
        return SourceFile(path, content, None, f"not valid JSON ({exc})")
    if not isinstance(data, dict):
        return SourceFile(path, content, None, f"not a JSON object (a {type(data).__name__})")
    return SourceFile(path, content, data)


def _is_broken_json(content: bytes) -> bool:
    """Not JSON at all (truncated, not text), as opposed to JSON beyond our limits."""
    try:
        json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return True
    except (RecursionError, ValueError):
        return False
    return False


class Scaffolding:
    """Every scaffolding row an import may link to, loaded once."""

    def __init__(self) -> None:
        self.personas = {p.persona_key: p for p in Persona.objects.all()}
        self.arcs = {a.arc_key: a for a in EmotionalArc.objects.all()}
        self.topics = {t.topic_key: t for t in TrainingTopic.objects.all()}
        self.templates = list(PromptTemplate.objects.filter(is_active=True).order_by("name"))
        self.templates_by_name = {t.name: t for t in PromptTemplate.objects.all()}
        self.by_id = {
            str(row.pk): row
            for rows in (self.personas, self.arcs, self.topics)
            for row in rows.values()
        }

    def _lookup(self, params: dict, prefix: str, by_key: dict, warnings: list[str], path: Path):
        key = params.get(f"{prefix}_key")
        if isinstance(key, str) and key:
            if key in by_key:
                return by_key[key]
            row = self.by_id.get(str(params.get(f"{prefix}_id")))
            if row is not None:
                return row
            warnings.append(f"{path.name}: unknown {prefix.replace('_', ' ')} {key!r}, not linked")
        return None

    def template_for(self, params: dict, arc: EmotionalArc | None, warnings, path: Path):
        name = params.get("template_name")
        if isinstance(name, str) and name:
            if name in self.templates_by_name:
                return self.templates_by_name[name]
            warnings.append(f"{path.name}: unknown template {name!r}, chosen by emotional arc")
        if arc is None:
            return None
        # As the original did: the first active template written for the conversation's arc.
        return next((t for t in self.templates if t.emotional_arc_type == arc.arc_key), None)

    def link(self, data: dict | None, warnings: list[str], path: Path) -> dict:
        params = data.get("input_parameters") if data else None
        if not isinstance(params, dict):
            return {}
        persona = self._lookup(params, "persona", self.personas, warnings, path)
        arc = self._lookup(params, "emotional_arc", self.arcs, warnings, path)
        topic = self._lookup(params, "training_topic", self.topics, warnings, path)
        template = self.template_for(params, arc, warnings, path)
        return {
            "persona": persona,
            "emotional_arc": arc,
            "training_topic": topic,
            "template": template,
        }


def build_conversation(
    source: SourceFile,
    *,
    owner,
    name: str,
    tier: str,
    links: dict,
    written: list[str],
    fingerprint: str | None = None,
) -> Conversation:
    """A new conversation for ``source``, its files stored (their paths added to
    ``written``), not saved yet. ``links`` are its scaffolding rows (``Scaffolding.link``)."""
    conversation = Conversation(
        conversation_id=uuid.uuid4(),
        created_by=owner,
        conversation_name=name[:255],
        tier=tier,
        content_hash=fingerprint or source.content_hash,
        **links,
    )
    owner_segment = conversation.owner_segment
    business_id = str(conversation.conversation_id)
    conversation.raw_response_path = storage.raw_path(owner_segment, business_id)
    conversation.raw_response_size = _store(source, conversation.raw_response_path, source.content)
    written.append(conversation.raw_response_path)
    if source.data is None:
        conversation.processing_status = ProcessingStatus.PARSE_FAILED
    else:
        turns = source.data.get("turns")
        conversation.turn_count = len(turns) if isinstance(turns, list) else 0
        # orjson writes the bytes at once; json.dumps(indent=2) builds them from a list of
        # pieces several times the file's size.
        parsed = orjson.dumps(source.data, option=orjson.OPT_INDENT_2)
        conversation.file_path = storage.parsed_path(owner_segment, business_id)
        conversation.file_size = _store(source, conversation.file_path, parsed)
        written.append(conversation.file_path)
        conversation.processing_status = ProcessingStatus.COMPLETED
    return conversation


def _store(source: SourceFile, path: str, content: bytes) -> int:
    try:
        return storage.write_file(path, content)
    except OSError as exc:
        raise StorageFailed.from_os_error(f"storing {source.path} as {path}", exc) from None


def item_parameters(conversation: Conversation) -> dict:
    """A batch item's ``parameters``: the scaffolding its conversation was generated from."""

    def text(pk) -> str | None:
        return str(pk) if pk else None

    return {
        "templateId": text(conversation.template_id),
        "persona_id": text(conversation.persona_id),
        "emotional_arc_id": text(conversation.emotional_arc_id),
        "training_topic_id": text(conversation.training_topic_id),
    }


def with_input_parameters(document: dict, links: dict, merged: dict | None = None) -> dict:
    """The document with the ``input_parameters`` the original's parse step added (DOMAIN
    §2): the ids, keys and names of its scaffolding ``links`` over ``merged`` (the keys a
    caller gave), and ``client_persona`` as "<persona name> - <archetype>"."""
    merged = merged or {}
    persona = links.get("persona")
    arc = links.get("emotional_arc")
    topic = links.get("training_topic")
    parameters = {
        **merged,
        "persona_id": str(persona.pk) if persona else "",
        "persona_key": persona.persona_key if persona else merged.get("persona_key", ""),
        "persona_name": persona.name if persona else "",
        "emotional_arc_id": str(arc.pk) if arc else "",
        "emotional_arc_key": arc.arc_key if arc else merged.get("emotional_arc_key", ""),
        "emotional_arc_name": arc.name if arc else "",
        "training_topic_id": str(topic.pk) if topic else "",
        "training_topic_key": topic.topic_key if topic else merged.get("training_topic_key", ""),
        "training_topic_name": topic.name if topic else "",
    }
    document = {**document, "input_parameters": parameters}
    metadata = document.get("conversation_metadata")
    if persona is not None and persona.name and isinstance(metadata, dict):
        archetype = persona.archetype or "Client"
        document["conversation_metadata"] = {
            **metadata,
            "client_persona": f"{persona.name} - {archetype}",
        }
    return document
