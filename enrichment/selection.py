"""Selections: which conversations an enrichment acts on, already narrowed to what the
acting user may see. Every entry point builds one and hands it to the front door
(``services.enrich``)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from django.db.models import QuerySet

from conversations.lookups import find_batch_job
from conversations.models import BatchJob, Conversation, EnrichmentStatus
from core.errors import NotFound


class ConversationsNotFound(NotFound):
    """Some ids are unknown or not visible to the caller; nothing was processed."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__("Some conversations were not found.", missing=missing)


@dataclass(frozen=True)
class Selection:
    conversations: QuerySet[Conversation]  # ordered as they should be processed
    description: str
    # The batch job it is "all of": at most one unfinished run per job.
    batch_job: BatchJob | None = None
    # The id form each conversation was sent as, by row id (echoed by the API).
    sent_ids: dict[uuid.UUID, str] = field(default_factory=dict)
    # Row ids in the caller's order, when the caller chose them one by one.
    order: tuple[uuid.UUID, ...] | None = None

    # Whether ``conversations`` was narrowed after ``order`` was resolved.
    narrowed: bool = False

    def pks(self) -> list[uuid.UUID]:
        """Row ids, distinct, in order."""
        if self.order is not None and not self.narrowed:
            return list(self.order)
        selected = self.conversations.values_list("pk", flat=True)
        if self.order is None:
            return list(dict.fromkeys(selected))
        kept = set(selected)
        return [pk for pk in self.order if pk in kept]

    def pks_up_to(self, limit: int) -> list[uuid.UUID] | None:
        """The row ids (distinct, in order) when there are no more than ``limit``, else
        ``None``. A selection by query reads at most ``limit + 1`` rows to tell."""
        if self.order is not None:
            pks = self.pks()  # no more than the ids the caller sent
            return pks if len(pks) <= limit else None
        rows = list(self.conversations.values_list("pk", flat=True)[: limit + 1])
        pks = list(dict.fromkeys(rows))
        if len(rows) <= limit:
            return pks
        if len(pks) <= limit:
            # A group holding a conversation twice may hold fewer than its rows.
            distinct = self.conversations.order_by().values("pk").distinct()
            if distinct[: limit + 1].count() <= limit:
                return self.pks()
        return None

    def stored(self) -> list[uuid.UUID] | QuerySet[Conversation]:
        """What a background run over the selection stores: the row ids when the caller
        chose them one by one, else the queryset, which the run stores in the database
        without reading it (``runs.items``)."""
        return self.pks() if self.order is not None else self.conversations

    def narrowed_to(self, other: "Selection") -> "Selection":
        """Only the conversations also in ``other``, in this one's order: not "all of" a
        batch job any more, so it names none."""
        return replace(
            self,
            conversations=self.conversations.filter(pk__in=other.conversations.values("pk")),
            description=f"{self.description}, {other.description}",
            batch_job=None,
            narrowed=True,
        )

    def only_failed(self) -> "Selection":
        return replace(
            self,
            conversations=self.conversations.failed(),
            description=f"Retry failed: {self.description}",
            narrowed=True,
        )


def visible_conversations(user) -> QuerySet[Conversation]:
    """What ``user`` may act on; ``None`` (the command line, automatic runs): every active one."""
    if user is None:
        return Conversation.objects.filter(is_active=True)
    return Conversation.objects.visible_to(user)


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
    rows = list(visible_conversations(user).with_ids(wanted).values_list("pk", "conversation_id"))
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


def select_ids(ids: Sequence[str | uuid.UUID], *, user) -> Selection:
    """Conversations by id (either form), in the order sent; raises ConversationsNotFound."""
    pks, sent = resolve_conversations(ids, user=user)
    return Selection(
        Conversation.objects.filter(pk__in=pks),
        f"{len(pks)} selected conversations",
        sent_ids=dict(zip(pks, sent, strict=True)),
        order=tuple(pks),
    )


def select_batch_job(job: BatchJob | uuid.UUID | str, *, user) -> Selection:
    """Every conversation of a batch job that enrichment acts on (its successful items',
    in item order); raises ``BatchJobNotFound`` when the job is unknown or invisible to
    ``user``."""
    if not isinstance(job, BatchJob):
        job = find_batch_job(job, user=user)
    conversations = Conversation.objects.of_completed_items(job.pk)
    if user is not None:
        conversations = conversations.visible_to(user)
    return Selection(conversations, f"Batch job “{job.name}”", batch_job=job)


def select_statuses(statuses: Sequence[str], *, user) -> Selection:
    labels = ", ".join(EnrichmentStatus(s).label for s in statuses)
    conversations = (
        visible_conversations(user)
        .filter(enrichment_status__in=statuses)
        .order_by("created_at", "pk")
    )
    return Selection(conversations, f"Status {labels}")


def select_queryset(conversations: QuerySet[Conversation], description: str) -> Selection:
    """Conversations a caller already filtered (and limited to what its user may see)."""
    return Selection(conversations.order_by("created_at", "pk"), description)
