"""Replace and retry: corrected files for several failed conversations of a batch job at
once, each named by its conversation's id (``<id>.json``, either id form), each stored as
a new revision of that conversation; then one background run enriches them all.

Every file is checked before anything is stored, and a file that cannot be used is
refused with the reason, by its name; the others are replaced. The revisions and their run
are committed together or not at all.
"""

import uuid
from dataclasses import dataclass, field

from django.db import transaction

from conversations.models import BatchJob, Conversation, ConversationRevision, RevisionSource
from core import storage
from core.errors import DomainError, StorageFailed

from .models import EnrichmentRun
from .revisions import document_from_bytes, store_revision
from .runs.lifecycle import start_run

# Files one call takes (the API's bulk limit; a page upload too).
MAX_REPLACEMENTS = 100


@dataclass
class Replacements:
    replaced: list[tuple[str, Conversation, ConversationRevision]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name, why)
    run: EnrichmentRun | None = None


def _named_id(name: str) -> str | None:
    stem = name.replace("\\", "/").rsplit("/", 1)[-1]
    if not stem.lower().endswith(".json"):
        return None
    try:
        return str(uuid.UUID(stem[: -len(".json")]))
    except ValueError:
        return None


def replace_failed(
    job: BatchJob, files: list[tuple[str, bytes]], *, user, run_source: str
) -> Replacements:
    """Replace the file of each failed conversation of ``job`` that one of ``files``
    (name, content) is named after, and enrich them again in one background run."""
    if not files:
        raise DomainError("Send at least one file named by a conversation id.")
    if len(files) > MAX_REPLACEMENTS:
        raise DomainError(f"At most {MAX_REPLACEMENTS} files at once; send them in parts.")
    ids = {name: _named_id(name) for name, _ in files}
    known = {}
    for conversation in (
        Conversation.objects.in_batch_job(job.pk)
        .filter(is_active=True)
        .with_ids([i for i in ids.values() if i])
    ):
        known[str(conversation.pk)] = known[str(conversation.conversation_id)] = conversation
    result = Replacements()
    chosen: list[tuple[str, Conversation, dict, bytes]] = []
    seen: set = set()
    for name, content in files:
        conversation = known.get(ids[name] or "")
        if ids[name] is None:
            result.refused.append((name, "Not named <conversation id>.json."))
        elif conversation is None:
            result.refused.append((name, "Not a conversation of this batch job."))
        elif conversation.pk in seen:
            result.refused.append((name, "A second file for the same conversation."))
        elif not conversation.needs_retry:
            result.refused.append(
                (name, f"The conversation did not fail ({conversation.enrichment_status}).")
            )
        else:
            try:
                document = document_from_bytes(content)
            except DomainError as error:
                result.refused.append((name, error.message))
                continue
            seen.add(conversation.pk)
            chosen.append((name, conversation, document, content))
    if not chosen:
        return result
    written: list[str] = []
    try:
        with transaction.atomic():
            for name, conversation, document, content in chosen:
                try:
                    with transaction.atomic():
                        revision = store_revision(
                            conversation.pk,
                            document,
                            content,
                            user=user,
                            source=RevisionSource.REPLACE,
                            name=None,
                            written=written,
                        )
                except StorageFailed:
                    raise
                except DomainError as error:  # it changed since (enriched meanwhile)
                    result.refused.append((name, error.message))
                    continue
                result.replaced.append((name, conversation, revision))
            if result.replaced:
                result.run = start_run(
                    [conversation.pk for _, conversation, _ in result.replaced],
                    user=user,
                    source=run_source,
                    description=f"Replaced files of batch job “{job.name}”",
                    force=True,
                ).run
    except BaseException:
        for path in written:
            storage.delete_file(path)
        raise
    return result
