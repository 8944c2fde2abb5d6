"""Batch jobs fed item by item, the way a generator works: create a job, add items as the
model produces them (a conversation document, the model's raw text, or the error of a
generation that failed), then finish the job, which auto-enriches it like any other.

Each item is stored as ``intake.sources`` stores a conversation: the raw content as it
came, the parsed document beside it, scaffolding linked by key. Text that is not a JSON
object makes its item ``failed`` (the conversation is kept, and enriching it ends
``validation_failed`` with ``INVALID_JSON_SYNTAX``). The file import (``intake.files``) is
this too: a job, its files as items, finished at once.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from conversations.models import (
    BatchItem,
    BatchItemStatus,
    BatchJob,
    BatchJobStatus,
    Conversation,
    Priority,
    Tier,
)
from core import storage
from core.errors import Conflict
from enrichment.models import EnrichmentRun
from intake.duplicates import Duplicate, split_duplicates
from intake.lifecycle import finish_batch_job
from intake.sources import (
    Scaffolding,
    SourceFile,
    build_conversation,
    item_parameters,
    parse_source,
    with_input_parameters,
)

# Items one call may add.
MAX_ITEMS_PER_CALL = 100

# An item's ``parameters`` (the API's names) → the ``input_parameters`` keys they stand for.
PARAMETER_KEYS = {
    "personaKey": "persona_key",
    "emotionalArcKey": "emotional_arc_key",
    "trainingTopicKey": "training_topic_key",
    "templateName": "template_name",
}

COMPLETED = "completed"
FAILED = "failed"
SKIPPED = "skipped"
DUPLICATE = "duplicate"


# Checks that higher apps add (generation: the provider feeds its jobs, which end by
# themselves): each raises a ``Conflict`` when callers may not add items to the job or
# complete or fail it.
_CALLER_CHECKS: list = []


def check_callers(check) -> None:
    """Add ``check(job)`` to what ``add_items`` and ``finish_job`` run on the locked job."""
    _CALLER_CHECKS.append(check)


def _check_callers(job: BatchJob) -> None:
    for check in _CALLER_CHECKS:
        check(job)


class JobNotOpen(Conflict):
    """The job has finished: it takes no more items and cannot be finished again."""

    code = "job_not_open"

    def __init__(self, job: BatchJob) -> None:
        super().__init__(f"The batch job is {job.get_status_display().lower()}.", subject=job)


@dataclass(frozen=True)
class NewItem:
    """One item as a caller sends it: exactly one of ``conversation`` (a parsed or raw
    document), ``raw`` (the model's text as it came), ``source`` (a file already read,
    ``intake.sources``) or ``error`` (why generation failed)."""

    conversation: dict | None = None
    raw: str | None = None
    source: SourceFile | None = None
    error: str | None = None
    topic: str = ""
    name: str = ""
    parameters: dict[str, str] = field(default_factory=dict)  # PARAMETER_KEYS' names


@dataclass
class ItemResult:
    index: int  # the item's place in the call
    status: str  # COMPLETED, FAILED or SKIPPED
    item: BatchItem | None = None
    conversation: Conversation | None = None
    error: str = ""
    reason: str = ""
    duplicate: Duplicate | None = None
    repeats: int | None = None  # a duplicate of this earlier item of the same call
    warnings: list[str] = field(default_factory=list)


@dataclass
class AddedItems:
    job: BatchJob
    results: list[ItemResult]

    def count(self, status: str) -> int:
        return sum(result.status == status for result in self.results)


def create_batch_job(
    *,
    owner,
    name: str,
    auto_enrich: bool = True,
    tier: str = Tier.TEMPLATE,
    priority: str = Priority.NORMAL,
) -> BatchJob:
    """A new, empty job (``queued`` until its first items arrive)."""
    return BatchJob.objects.create(
        name=name, created_by=owner, auto_enrich=auto_enrich, tier=tier, priority=priority
    )


@dataclass
class _Prepared:
    """An item between reading and storing: its source and the conversation built from it."""

    new: NewItem
    source: SourceFile | None = None
    conversation: Conversation | None = None
    warnings: list[str] = field(default_factory=list)


def add_items(job: BatchJob, items: list[NewItem], *, allow_duplicates: bool = False) -> AddedItems:
    """Store ``items`` as the job's next items, all of them or none.

    Files are written first, then every row is inserted in one transaction that holds the
    job's row lock: concurrent calls on one job take turns, so positions never collide and
    the counters (moved by ``F()`` updates) always equal what the items say. Content the
    owner imported before (or sent twice in the call) is skipped unless
    ``allow_duplicates``. Raises ``JobNotOpen`` when the job has finished.
    """
    owner = job.created_by
    scaffolding = Scaffolding()
    prepared = [_prepare(new, index, scaffolding) for index, new in enumerate(items)]
    written: list[str] = []
    try:
        for entry in prepared:
            if entry.source is None:
                continue
            # A file set aside (an upload's) is read again here, and dropped again once
            # its conversation is built: one document in memory at a time.
            entry.source = entry.source.parsed()
            # The content as it was sent, before the scaffolding keys are added to it.
            fingerprint = entry.source.content_hash
            links = _links(entry, scaffolding)
            entry.conversation = build_conversation(
                entry.source,
                owner=owner,
                name=entry.new.name.strip(),
                tier=job.tier or Tier.TEMPLATE,
                links=links,
                written=written,
                fingerprint=fingerprint,
            )
            if entry.new.source is not None and entry.new.source.set_aside:
                entry.source = entry.new.source
        with transaction.atomic():
            results = _store(job, prepared, allow_duplicates=allow_duplicates)
    except BaseException:
        for path in written:
            storage.default_storage.delete(path)
        raise
    for result in results:
        if result.status == SKIPPED:
            conversation = prepared[result.index].conversation
            for path in (conversation.raw_response_path, conversation.file_path):
                if path:
                    storage.default_storage.delete(path)
    return AddedItems(job, results)


def _prepare(new: NewItem, index: int, scaffolding: Scaffolding) -> _Prepared:
    label = Path(f"item-{index + 1}")
    if new.error is not None:
        return _Prepared(new)
    if new.source is not None:
        return _Prepared(new, new.source)
    if new.conversation is not None:
        content = json.dumps(new.conversation, indent=2, ensure_ascii=False).encode()
        source = SourceFile(label, content, new.conversation)
    else:
        source = parse_source(label, (new.raw or "").encode())
    return _Prepared(new, source)


def _links(entry: _Prepared, scaffolding: Scaffolding) -> dict:
    """The item's scaffolding rows: its ``parameters`` over the document's own
    ``input_parameters``. With parameters, the stored parsed document gets the
    ``input_parameters`` the original's parse step added (and the persona's name)."""
    source = entry.source
    document = source.data or {}
    own = document.get("input_parameters")
    given = {PARAMETER_KEYS[key]: value for key, value in entry.new.parameters.items() if value}
    merged = {**(own if isinstance(own, dict) else {}), **given}
    links = scaffolding.link({"input_parameters": merged}, entry.warnings, source.path)
    if given and source.data is not None:
        source.data = with_input_parameters(source.data, links, merged)
    return links


def _store(job: BatchJob, prepared: list[_Prepared], *, allow_duplicates: bool) -> list[ItemResult]:
    locked = BatchJob.objects.select_for_update().get(pk=job.pk)
    if locked.is_finished:
        raise JobNotOpen(locked)
    _check_callers(locked)
    with_content = [i for i, entry in enumerate(prepared) if entry.source is not None]
    skipped: dict[int, Duplicate] = {}
    if not allow_duplicates:
        hashes = [prepared[i].conversation.content_hash for i in with_content]
        labels = [_label(prepared[i], i) for i in with_content]
        _, duplicates = split_duplicates(hashes, labels, owner=locked.created_by)
        skipped = {with_content[d.index]: d for d in duplicates}
    last = locked.items.aggregate(last=Max("position"))["last"] or 0
    results: list[ItemResult] = []
    conversations: list[Conversation] = []
    rows: list[BatchItem] = []
    for index, entry in enumerate(prepared):
        if duplicate := skipped.get(index):
            first = None if duplicate.first_index is None else with_content[duplicate.first_index]
            results.append(
                ItemResult(index, SKIPPED, reason=DUPLICATE, duplicate=duplicate, repeats=first)
            )
            continue
        position = last + len(rows) + 1
        result = _item(locked, entry, index, position)
        if result.conversation is not None:
            conversations.append(result.conversation)
        rows.append(result.item)
        results.append(result)
    Conversation.objects.bulk_create(conversations)
    BatchItem.objects.bulk_create(rows)
    _count(locked, results)
    job.refresh_from_db()
    return results


def _label(entry: _Prepared, index: int) -> str:
    """How a duplicate names the item: its file's name, else its place in the call."""
    return entry.new.source.path.name if entry.new.source is not None else f"item {index + 1}"


def _item(job: BatchJob, entry: _Prepared, index: int, position: int) -> ItemResult:
    new, conversation = entry.new, entry.conversation
    if conversation is None:
        item = BatchItem(
            batch_job=job,
            position=position,
            topic=new.topic.strip(),
            tier=job.tier,
            status=BatchItemStatus.FAILED,
            error_message=(new.error or "").strip() or "Generation failed.",
        )
        return ItemResult(index, FAILED, item=item, error=item.error_message)
    topic = new.topic.strip() or (
        conversation.training_topic.name if conversation.training_topic else ""
    )
    if not conversation.conversation_name:
        conversation.conversation_name = (topic or f"{job.name} #{position}")[:255]
    # A model's reply that is not a JSON object fails its item; a file that is not is
    # imported as it is, and its enrichment reports why (INVALID_JSON_SYNTAX).
    parse_error = entry.source.parse_error if new.source is None else ""
    item = BatchItem(
        batch_job=job,
        position=position,
        topic=topic[:255],
        tier=job.tier,
        parameters=item_parameters(conversation),
        status=BatchItemStatus.FAILED if parse_error else BatchItemStatus.COMPLETED,
        conversation=conversation,
        error_message=f"The model's reply is {parse_error}." if parse_error else "",
    )
    status = FAILED if parse_error else COMPLETED
    return ItemResult(
        index,
        status,
        item=item,
        conversation=conversation,
        error=item.error_message,
        warnings=entry.warnings,
    )


def _count(job: BatchJob, results: list[ItemResult]) -> None:
    added = [r for r in results if r.status != SKIPPED]
    now = timezone.now()
    changes = {
        "total_items": F("total_items") + len(added),
        "completed_items": F("completed_items") + len(added),
        "successful_items": F("successful_items") + sum(r.status == COMPLETED for r in added),
        "failed_items": F("failed_items") + sum(r.status == FAILED for r in added),
        # Each successful item brings a new conversation, not enriched yet (see
        # ``conversations.counts``).
        "conversations_total": F("conversations_total") + sum(r.status == COMPLETED for r in added),
        "duplicate_items": F("duplicate_items") + (len(results) - len(added)),
        "updated_at": now,
    }
    if job.status == BatchJobStatus.QUEUED and added:
        changes.update(status=BatchJobStatus.PROCESSING, started_at=now)
    BatchJob.objects.filter(pk=job.pk).update(**changes)


def finish_job(job: BatchJob, *, status: str) -> tuple[BatchJob, EnrichmentRun | None]:
    """End an open job as ``completed`` (``failed`` when every item failed), ``failed`` or
    ``cancelled``; with ``auto_enrich`` its conversations are enriched in the background.

    Finishing a job again in the state it ended in changes nothing (a retried call
    succeeds); another state raises ``JobNotOpen``.
    """
    with transaction.atomic():
        locked = BatchJob.objects.select_for_update().get(pk=job.pk)
        if locked.is_finished:
            same = locked.status == status or (
                status == BatchJobStatus.COMPLETED and locked.status == BatchJobStatus.FAILED
            )
            if not same:
                raise JobNotOpen(locked)
            return locked, None
        if status != BatchJobStatus.CANCELLED:
            _check_callers(locked)
        asked = None if status == BatchJobStatus.COMPLETED else status
        run = finish_batch_job(locked, status=asked)
    return locked, run
