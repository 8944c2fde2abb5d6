"""Enrichment services: the one place every entry point (API, pages, admin, CLI, tasks)
goes through to enrich conversations."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from .models import Conversation
from .pipeline.run import ENRICHED, FAILED, SKIPPED, Outcome, enrich_conversations


class ConversationsNotFound(Exception):
    """Some ids are unknown or not visible to the caller; nothing was processed."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"Conversations not found: {', '.join(missing)}")
        self.missing = missing


class TooManyConversations(ValueError):
    pass


@dataclass
class BulkResult:
    outcomes: list[Outcome]
    # The id form each conversation was sent as, by row id.
    sent_ids: dict[uuid.UUID, str] = field(default_factory=dict)

    @property
    def summary(self) -> dict:
        counts = {ENRICHED: 0, FAILED: 0, SKIPPED: 0}
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        return {
            "total": len(self.outcomes),
            "successful": counts[ENRICHED],
            "failed": counts[FAILED],
            "skipped": counts[SKIPPED],
        }

    @property
    def success(self) -> bool:
        return self.summary["failed"] == 0

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == FAILED]

    def results(self) -> list[dict]:
        return [outcome.as_result(self.sent_ids.get(outcome.pk)) for outcome in self.outcomes]

    def as_response(self) -> dict:
        return {"success": self.success, "summary": self.summary, "results": self.results()}


def _normalise_id(value: str | uuid.UUID) -> str:
    return str(uuid.UUID(str(value)))


def resolve_conversations(
    ids: Sequence[str | uuid.UUID], *, user
) -> tuple[list[uuid.UUID], list[str]]:
    """Map ids (either form) to row ids visible to ``user``, deduplicated, in input order.

    Returns (row ids, the id each was first sent as). Raises ConversationsNotFound
    listing every id that is unknown or invisible.
    """
    wanted = list(dict.fromkeys(_normalise_id(i) for i in ids))
    rows = list(
        Conversation.objects.visible_to(user).with_ids(wanted).values_list("pk", "conversation_id")
    )
    by_any_id: dict[str, uuid.UUID] = {}
    for pk, business_id in rows:
        by_any_id[str(pk)] = pk
        by_any_id[str(business_id)] = pk
    missing = [i for i in wanted if i not in by_any_id]
    if missing:
        raise ConversationsNotFound(missing)
    pks: dict[uuid.UUID, str] = {}
    for sent in wanted:
        pks.setdefault(by_any_id[sent], sent)
    return list(pks), list(pks.values())


def bulk_enrich(
    ids: Sequence[str | uuid.UUID],
    *,
    user,
    sequential: bool = True,
    force: bool = False,
    retry_failed: bool = True,
    limit: int | None = None,
) -> BulkResult:
    """Enrich up to ``ENRICHMENT_BULK_LIMIT`` conversations visible to ``user``.

    Completed ones are skipped (``already_enriched``) unless ``force``; ones claimed by
    someone else are skipped (``in_progress``); with ``retry_failed=False`` so are the
    ones that failed before (``previously_failed``). Any unknown or invisible id raises
    ConversationsNotFound before anything is processed.
    """
    limit = settings.ENRICHMENT_BULK_LIMIT if limit is None else limit
    pks, sent_ids = resolve_conversations(ids, user=user)
    if len(pks) > limit:
        raise TooManyConversations(
            f"{len(pks)} conversations is more than {limit}; start a background run instead."
        )
    outcomes = enrich_conversations(
        pks, force=force, parallel=not sequential, retry_failed=retry_failed
    )
    return BulkResult(outcomes, dict(zip(pks, sent_ids, strict=True)))


def enrich_one(conversation: Conversation, *, force: bool = False) -> Outcome:
    """Enrich one conversation the caller already loaded (and may see)."""
    [outcome] = enrich_conversations([conversation.pk], force=force)
    return outcome


def enrich_in_chunks(
    pks: Sequence[uuid.UUID],
    *,
    force: bool = False,
    chunk_size: int | None = None,
    on_outcome=None,
) -> list[Outcome]:
    """Enrich any number of conversations (row ids) a chunk at a time, for callers that
    already checked visibility (the command line). Each chunk claims only its own rows,
    so nothing is held for long and an interruption loses at most one chunk's claims."""
    chunk_size = chunk_size or settings.ENRICHMENT_BULK_LIMIT
    outcomes: list[Outcome] = []
    for start in range(0, len(pks), chunk_size):
        outcomes += enrich_conversations(
            list(pks[start : start + chunk_size]), force=force, on_outcome=on_outcome
        )
    return outcomes
