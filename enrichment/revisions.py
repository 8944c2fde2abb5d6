"""Repairing a conversation: a new revision of its document (an edit, or a replacement of
the file), stored at a path of its own, and enriched again in the background.

Nothing is overwritten: the first revision is the file as it came in (created here, the
first time anything asks for a conversation's revisions), every later one a new file.
Saving one takes the conversation away from any enrichment still working on an older
revision (its outcome then loses, ``pipeline.record``) and queues a background run over
it, in one transaction: the revision, the row pointing at it and the run are committed
together or not at all.
"""

from dataclasses import dataclass

import orjson
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from conversations.imports import UnusableJSON, load_json
from conversations.models import (
    Conversation,
    ConversationRevision,
    EnrichmentStatus,
    ProcessingStatus,
    ReviewAction,
    ReviewActionKind,
    ReviewStatus,
    RevisionSource,
)
from core import storage
from core.errors import Conflict, DomainError, StorageFailed

from .models import EnrichmentRun, EnrichmentRunItem, ItemOutcome
from .pipeline.inputs import MAX_INPUT_BYTES
from .runs.lifecycle import start_run

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


class BadDocument(DomainError):
    """What was sent cannot be a conversation's document; nothing was stored."""

    code = "invalid_document"
    summary = "Invalid request"

    def fields(self) -> dict:
        return {"details": {"document": [self.message]}}


class NotFailed(Conflict):
    code = "not_failed"


@dataclass(frozen=True)
class Saved:
    revision: ConversationRevision
    run: EnrichmentRun


def ensure_first(conversation: Conversation) -> None:
    """Revision 1 (the file as it came in) for a conversation that has none yet: made
    when first asked for, so that conversations imported before revisions have one too.
    Two callers at once make it once."""
    path = conversation.raw_response_path or conversation.file_path
    if not path or conversation.revision != 1:
        return
    if ConversationRevision.objects.filter(conversation=conversation, number=1).exists():
        return
    size = (
        conversation.raw_response_size if conversation.raw_response_path else conversation.file_size
    )
    unparsed = conversation.processing_status == ProcessingStatus.PARSE_FAILED
    ConversationRevision.objects.bulk_create(
        [
            ConversationRevision(
                conversation=conversation,
                number=1,
                path=path,
                size=size,
                content_type=TEXT if unparsed else JSON,
                source=RevisionSource.INTAKE,
                created_by_id=conversation.created_by_id,
                created_at=conversation.created_at,
            )
        ],
        ignore_conflicts=True,
    )


def revisions_of(conversation: Conversation):
    """Its revisions, first to last (revision 1 made if it was not yet)."""
    ensure_first(conversation)
    return ConversationRevision.objects.filter(conversation=conversation).select_related(
        "created_by"
    )


def document_from_bytes(content: bytes) -> dict:
    """A replacement file's document: a JSON object, or ``BadDocument`` saying why not."""
    if len(content) > MAX_INPUT_BYTES:
        raise BadDocument(f"The file is over {MAX_INPUT_BYTES:,} bytes, the most enrichment reads.")
    if not content.strip():
        raise BadDocument("The file is empty.")
    try:
        document = load_json(content)
    except UnusableJSON as exc:
        raise BadDocument(f"The file is not valid JSON: {exc}.") from None
    if not isinstance(document, dict):
        raise BadDocument(
            f"The file must be a JSON object (a conversation), not a {type(document).__name__}."
        )
    return document


def document_content(document) -> bytes:
    if not isinstance(document, dict):
        raise BadDocument(
            f"The document must be a JSON object (a conversation), not a {type(document).__name__}."
        )
    if not document:
        raise BadDocument("The document is empty: send the whole conversation.")
    content = orjson.dumps(document, option=orjson.OPT_INDENT_2)
    if len(content) > MAX_INPUT_BYTES:
        raise BadDocument(
            f"The document is over {MAX_INPUT_BYTES:,} bytes, the most enrichment reads."
        )
    return content


def is_being_enriched(conversation: Conversation) -> bool:
    """Whether a background run is still to enrich it (its latest revision, once saved)."""
    return EnrichmentRunItem.objects.filter(
        conversation=conversation,
        outcome=ItemOutcome.PENDING,
        run__in=EnrichmentRun.objects.unfinished(),
    ).exists()


def save_revision(
    conversation: Conversation,
    document: dict,
    *,
    user,
    source: str,
    run_source: str,
    content: bytes | None = None,
    name: str | None = None,
) -> Saved:
    """Store ``document`` as the conversation's next revision (``content``, its bytes as
    given, for a replacement file; else the document written out) and enrich it in the
    background. ``name`` renames the conversation too. A replacement is only for a
    conversation that failed. Bad input raises ``BadDocument`` with nothing stored."""
    if content is None:
        content = document_content(document)
    elif not isinstance(document, dict):
        raise BadDocument("The document must be a JSON object (a conversation).")
    if name is not None and not name.strip():
        raise BadDocument("The conversation's name cannot be blank.")
    written: list[str] = []
    try:
        with transaction.atomic():
            revision = store_revision(
                conversation.pk,
                document,
                content,
                user=user,
                source=source,
                name=name,
                written=written,
            )
            started = start_run(
                [conversation.pk],
                user=user,
                source=run_source,
                description=f"Revision {revision.number} of {conversation}",
                force=True,
            )
    except BaseException:
        for path in written:
            storage.delete_file(path)
        raise
    return Saved(revision, started.run)


def store_revision(
    pk, document: dict, content: bytes, *, user, source: str, name: str | None, written: list
) -> ConversationRevision:
    """In the caller's transaction: the next revision of conversation ``pk`` stored (its
    path added to ``written``) and made the one enrichment reads; any claim over an older
    one taken away."""
    row = Conversation.objects.select_for_update().get(pk=pk)
    if source == RevisionSource.REPLACE and not row.needs_retry:
        raise NotFailed(
            "Only a conversation that failed can have its file replaced; edit it instead."
        )
    ensure_first(row)
    number = (row.revisions.aggregate(last=Max("number"))["last"] or 0) + 1
    path = storage.revision_path(row.owner_segment, str(row.conversation_id), number)
    try:
        size = storage.write_file(path, content)
    except OSError as exc:
        raise StorageFailed.from_os_error(f"storing revision {number}", exc) from None
    written.append(path)
    revision = ConversationRevision.objects.create(
        conversation=row,
        number=number,
        path=path,
        size=size,
        source=source,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    if row.enrichment_status == EnrichmentStatus.IN_PROGRESS:
        # An enrichment of an older revision: its outcome must not win now.
        Conversation.objects.filter(pk=row.pk).release()
    turns = document.get("turns")
    fields = {
        "file_path": path,
        "file_size": size,
        "revision": number,
        "processing_status": ProcessingStatus.COMPLETED,
        "turn_count": len(turns) if isinstance(turns, list) else 0,
        "updated_at": timezone.now(),
    }
    if name is not None:
        fields["conversation_name"] = name.strip()[:255]
    if row.review_status not in (None, ReviewStatus.PENDING):
        fields |= _back_to_review(row, revision)
    Conversation.objects.filter(pk=row.pk).update(**fields)
    return revision


def _back_to_review(row: Conversation, revision: ConversationRevision) -> dict:
    """A reviewed conversation's decision undone by its new revision, which no one has
    reviewed: back to pending review at once (an approved-only training file takes it no
    more, even if enriching the revision fails), the decision kept in its history. The
    fields of the row to set."""
    ReviewAction.objects.create(
        conversation=row,
        action=ReviewActionKind.MOVED_TO_REVIEW,
        comment=(
            f"Revision {revision.number} saved ({revision.get_source_display().lower()}); "
            f"the earlier decision was {row.review_status}."
        ),
        created_at=revision.created_at,
    )
    return {"review_status": ReviewStatus.PENDING, "approved_by": None, "approved_at": None}
