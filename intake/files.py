"""Importing generated conversation files as one completed batch job."""

import contextlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from conversations.fingerprints import content_hash
from conversations.imports import (
    MAX_FILE_BYTES,
    ImportFailed,
    UnusableJSON,
    load_json,
    read_bounded,
)
from conversations.models import (
    BatchItem,
    BatchItemStatus,
    BatchJob,
    BatchJobStatus,
    Conversation,
    EmotionalArc,
    Persona,
    ProcessingStatus,
    PromptTemplate,
    Tier,
    TrainingTopic,
)
from core import storage, strict_json
from core.errors import StorageFailed
from enrichment.models import EnrichmentRun
from intake.duplicates import Duplicate, split_duplicates
from intake.lifecycle import finish_batch_job


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


@dataclass
class ConversationImport:
    batch_job: BatchJob | None  # None when every file was a duplicate
    conversations: list[Conversation]
    warnings: list[str] = field(default_factory=list)
    enrichment_run: EnrichmentRun | None = None
    duplicates: list[Duplicate] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "batchJobId": str(self.batch_job.pk) if self.batch_job else None,
            "imported": len(self.conversations),
            "conversationIds": [str(c.conversation_id) for c in self.conversations],
            "unparseable": sum(
                1
                for c in self.conversations
                if c.processing_status == ProcessingStatus.PARSE_FAILED
            ),
            "warnings": self.warnings,
            "enrichmentRunId": str(self.enrichment_run.pk) if self.enrichment_run else None,
            "duplicates": [duplicate.as_json() for duplicate in self.duplicates],
        }


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


def _name_from_path(path: Path) -> str:
    stem = path.name.split(".", 1)[0]
    return stem.replace("-", " ").replace("_", " ").strip().capitalize()[:255]


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


def import_conversations(
    paths: list[Path],
    *,
    owner: AbstractBaseUser | None,
    batch_name: str | None = None,
    tier: str = Tier.TEMPLATE,
    auto_enrich: bool = True,
    allow_duplicates: bool = False,
) -> ConversationImport:
    """Import conversation files as one completed batch job, all or nothing.

    Every file is read before anything is written; a failure while writing removes the
    files already stored and rolls the rows back. With ``auto_enrich`` the finished job
    starts a background enrichment run, like any job that completes.
    """
    if not paths:
        raise ImportFailed("no conversation files given")
    sources = [read_source(Path(path)) for path in paths]
    return import_sources(
        sources,
        owner=owner,
        batch_name=batch_name,
        tier=tier,
        auto_enrich=auto_enrich,
        allow_duplicates=allow_duplicates,
    )


def import_sources(
    sources: list[SourceFile],
    *,
    owner: AbstractBaseUser | None,
    batch_name: str | None = None,
    tier: str = Tier.TEMPLATE,
    auto_enrich: bool = True,
    allow_duplicates: bool = False,
) -> ConversationImport:
    """Import files already read (``import_conversations``, the upload page).

    Content imported before by the same owner (or twice in ``sources``) is left out and
    reported in ``duplicates`` unless ``allow_duplicates``; when nothing is left, no
    batch job is created.
    """
    duplicates: list[Duplicate] = []
    if not allow_duplicates:
        kept, duplicates = split_duplicates(
            [source.content_hash for source in sources],
            [source.path.name for source in sources],
            owner=owner,
        )
        sources = [sources[index] for index in kept]
        if not sources:
            return ConversationImport(None, [], duplicates=duplicates)
    scaffolding = Scaffolding()
    warnings: list[str] = []
    now = timezone.now()
    written: list[str] = []
    committed = False
    try:
        with transaction.atomic():
            job = BatchJob.objects.create(
                name=batch_name or f"Import {now:%Y-%m-%d %H:%M}",
                status=BatchJobStatus.PROCESSING,
                total_items=len(sources),
                # Every file becomes a successful item with a new conversation, not
                # enriched yet (see ``conversations.counts``).
                conversations_total=len(sources),
                tier=tier,
                created_by=owner,
                started_at=now,
                auto_enrich=auto_enrich,
                duplicate_items=len(duplicates),
            )
            # One file at a time: a set-aside document is parsed again here and dropped
            # once its conversation is built.
            conversations = [
                _import_one(
                    source.parsed(), job, position, owner, scaffolding, warnings, written, tier
                )
                for position, source in enumerate(sources, start=1)
            ]
            run = finish_batch_job(job)
        committed = True
    except BaseException:
        # Only a rolled-back import loses its files; a failure after the commit (in an
        # on-commit callback) must not delete files of rows that now exist.
        if not committed:
            for path in written:
                # Storage that refused a write may refuse the clean-up too; the import's
                # own error is the one to report.
                with contextlib.suppress(OSError):
                    storage.default_storage.delete(path)
        raise
    return ConversationImport(job, conversations, warnings, run, duplicates)


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


def _import_one(
    source: SourceFile,
    job: BatchJob,
    position: int,
    owner,
    scaffolding: Scaffolding,
    warnings: list[str],
    written: list[str],
    tier: str,
) -> Conversation:
    conversation = build_conversation(
        source,
        owner=owner,
        name=_name_from_path(source.path),
        tier=tier,
        links=scaffolding.link(source.data, warnings, source.path),
        written=written,
    )
    conversation.save(force_insert=True)
    BatchItem.objects.create(
        batch_job=job,
        position=position,
        topic=conversation.training_topic.name if conversation.training_topic else "",
        tier=tier,
        parameters=item_parameters(conversation),
        status=BatchItemStatus.COMPLETED,
        conversation=conversation,
    )
    return conversation
