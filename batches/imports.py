"""Importing generated conversation files as one completed batch job."""

import contextlib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from enrichment import storage
from enrichment.imports import ImportFailed, UnusableJSON, load_json, read_bounded
from enrichment.models import (
    Conversation,
    EmotionalArc,
    EnrichmentRun,
    Persona,
    ProcessingStatus,
    PromptTemplate,
    Tier,
    TrainingTopic,
)

from .lifecycle import finish_batch_job
from .models import BatchItem, BatchItemStatus, BatchJob, BatchJobStatus


@dataclass
class SourceFile:
    path: Path
    content: bytes
    data: dict | None  # None when the file is not parseable JSON (kept anyway)


@dataclass
class ConversationImport:
    batch_job: BatchJob
    conversations: list[Conversation]
    warnings: list[str] = field(default_factory=list)
    enrichment_run: EnrichmentRun | None = None

    def summary(self) -> dict:
        return {
            "batchJobId": str(self.batch_job.pk),
            "imported": len(self.conversations),
            "conversationIds": [str(c.conversation_id) for c in self.conversations],
            "unparseable": sum(
                1
                for c in self.conversations
                if c.processing_status == ProcessingStatus.PARSE_FAILED
            ),
            "warnings": self.warnings,
            "enrichmentRunId": str(self.enrichment_run.pk) if self.enrichment_run else None,
        }


def read_source(path: Path) -> SourceFile:
    content = read_bounded(path)
    try:
        data = load_json(content)
    except UnusableJSON as exc:
        if not _is_broken_json(content):
            # Valid JSON only for a lenient parser (a 100,000-deep array, a 5,000-digit
            # number, a lone surrogate): nothing downstream could use it.
            raise ImportFailed(f"{path}: cannot be imported: {exc}") from None
        # A truncated model reply is real output: it is imported and fails validation later.
        data = None
    if data is not None and not isinstance(data, dict):
        data = None
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


class _Scaffolding:
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
) -> ConversationImport:
    """Import conversation files as one completed batch job, all or nothing.

    Every file is read before anything is written; a failure while writing removes the
    files already stored and rolls the rows back. With ``auto_enrich`` the finished job
    starts a background enrichment run, like any job that completes.
    """
    if not paths:
        raise ImportFailed("no conversation files given")
    sources = [read_source(Path(path)) for path in paths]
    scaffolding = _Scaffolding()
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
                tier=tier,
                created_by=owner,
                started_at=now,
                auto_enrich=auto_enrich,
            )
            conversations = [
                _import_one(source, job, position, owner, scaffolding, warnings, written, tier)
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
    return ConversationImport(job, conversations, warnings, run)


def _store(source: SourceFile, path: str, content: bytes) -> int:
    try:
        return storage.write_file(path, content)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ImportFailed(f"{source.path}: cannot be stored as {path} ({reason})") from None


def _import_one(
    source: SourceFile,
    job: BatchJob,
    position: int,
    owner,
    scaffolding: _Scaffolding,
    warnings: list[str],
    written: list[str],
    tier: str,
) -> Conversation:
    conversation = Conversation(
        conversation_id=uuid.uuid4(),
        created_by=owner,
        conversation_name=_name_from_path(source.path),
        tier=tier,
        **scaffolding.link(source.data, warnings, source.path),
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
        parsed = json.dumps(source.data, indent=2, ensure_ascii=False).encode()
        conversation.file_path = storage.parsed_path(owner_segment, business_id)
        conversation.file_size = _store(source, conversation.file_path, parsed)
        written.append(conversation.file_path)
        conversation.processing_status = ProcessingStatus.COMPLETED
    conversation.save(force_insert=True)
    BatchItem.objects.create(
        batch_job=job,
        position=position,
        topic=conversation.training_topic.name if conversation.training_topic else "",
        tier=tier,
        parameters={
            "templateId": str(conversation.template_id) if conversation.template_id else None,
            "persona_id": str(conversation.persona_id) if conversation.persona_id else None,
            "emotional_arc_id": (
                str(conversation.emotional_arc_id) if conversation.emotional_arc_id else None
            ),
            "training_topic_id": (
                str(conversation.training_topic_id) if conversation.training_topic_id else None
            ),
        },
        status=BatchItemStatus.COMPLETED,
        conversation=conversation,
    )
    return conversation
