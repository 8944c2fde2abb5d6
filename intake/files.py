"""Importing conversation files (the command, the upload page) as one completed batch job:
a job is created, the files are added as its items (``intake.items``) and it is finished,
all in one transaction."""

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from conversations.imports import ImportFailed
from conversations.models import BatchJob, BatchJobStatus, Conversation, ProcessingStatus, Tier
from core import storage
from enrichment.models import EnrichmentRun
from intake.duplicates import Duplicate
from intake.items import SKIPPED, NewItem, add_items, create_batch_job, finish_job
from intake.sources import SourceFile, read_source


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


def _name_from_path(path: Path) -> str:
    stem = path.name.split(".", 1)[0]
    return stem.replace("-", " ").replace("_", " ").strip().capitalize()[:255]


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
    batch job is created. A file that is not a JSON object is imported all the same; its
    enrichment reports why (``INVALID_JSON_SYNTAX``).
    """
    now = timezone.now()
    items = [NewItem(source=source, name=_name_from_path(source.path)) for source in sources]
    added = None
    try:
        with transaction.atomic():
            job = create_batch_job(
                owner=owner,
                name=batch_name or f"Import {now:%Y-%m-%d %H:%M}",
                auto_enrich=auto_enrich,
                tier=tier,
            )
            added = add_items(job, items, allow_duplicates=allow_duplicates)
            if added.count(SKIPPED) == len(items):
                raise _NothingNew
            job, run = finish_job(job, status=BatchJobStatus.COMPLETED)
    except _NothingNew:
        return ConversationImport(None, [], duplicates=_duplicates(added))
    except BaseException:
        # The rows are rolled back: their stored files go too (storage that refused a
        # write may refuse the clean-up; the import's own error is the one to report).
        for conversation in _conversations(added):
            for path in (conversation.raw_response_path, conversation.file_path):
                if path:
                    with contextlib.suppress(OSError):
                        storage.default_storage.delete(path)
        raise
    warnings = [warning for result in added.results for warning in result.warnings]
    return ConversationImport(job, _conversations(added), warnings, run, _duplicates(added))


class _NothingNew(Exception):
    """Every file was a duplicate: the job made for them is rolled back."""


def _conversations(added) -> list[Conversation]:
    if added is None:
        return []
    return [
        r.conversation for r in added.results if r.conversation is not None and r.status != SKIPPED
    ]


def _duplicates(added) -> list[Duplicate]:
    return [r.duplicate for r in added.results if r.duplicate is not None]
