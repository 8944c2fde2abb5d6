"""The review queue: which conversations a user may review, narrowed by filters, in the
order asked, with its statistics."""

import re
import uuid
from dataclasses import dataclass, fields
from datetime import datetime

from django.db.models import Avg, Count, F, Min, Q, QuerySet
from django.utils import timezone

from conversations.models import Conversation, ErrorCategory, ReviewStatus

REVIEW_OTHERS = "conversations.review_others_conversations"
# ?sort= values: the column, oldest or lowest first; "-" reverses.
# (Each order is one of the queue's indexes, conversations.models.review.REVIEW_INDEXES,
# walked forwards or backwards.)
SORTS = {
    "age": ("enriched_at", "id"),
    "-age": ("-enriched_at", "-id"),
    "quality": ("quality_score", "enriched_at", "id"),
    "-quality": ("-quality_score", "-enriched_at", "-id"),
}
DEFAULT_SORT = "age"


def may_review_others(user) -> bool:
    return user.has_perm(REVIEW_OTHERS)


def reviewable(user) -> QuerySet[Conversation]:
    """Active conversations that have been enriched (have a review status) and that
    ``user`` may review: their own, or everyone's with the reviewer permission."""
    rows = Conversation.objects.filter(is_active=True, review_status__isnull=False)
    if may_review_others(user):
        return rows
    return rows.filter(created_by=user)


@dataclass(frozen=True)
class QueueFilters:
    status: str = ReviewStatus.PENDING
    batch_job: uuid.UUID | None = None
    persona: str = ""  # keys of the scaffolding rows
    arc: str = ""
    topic: str = ""
    quality_min: float | None = None
    quality_max: float | None = None
    failure_category: str = ""  # the latest failed re-enrichment's category
    sort: str = DEFAULT_SORT

    def apply(
        self, rows: QuerySet[Conversation], *, by_status: bool = True
    ) -> QuerySet[Conversation]:
        if by_status:
            rows = rows.filter(review_status=self.status)
        if self.batch_job:
            rows = rows.filter(
                pk__in=Conversation.objects.in_batch_job(self.batch_job).values("pk")
            )
        if self.persona:
            rows = rows.filter(persona__persona_key=self.persona)
        if self.arc:
            rows = rows.filter(emotional_arc__arc_key=self.arc)
        if self.topic:
            rows = rows.filter(training_topic__topic_key=self.topic)
        if self.quality_min is not None:
            rows = rows.filter(quality_score__gte=self.quality_min)
        if self.quality_max is not None:
            rows = rows.filter(quality_score__lte=self.quality_max)
        if self.failure_category:
            rows = rows.filter(last_failure_category=self.failure_category)
        return rows

    def as_params(self) -> dict[str, str]:
        """The filters as query parameters (only those set), for links and forms."""
        names = {"batch_job": "batch", "quality_min": "qualityMin", "quality_max": "qualityMax"}
        names["failure_category"] = "failureCategory"
        params = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value not in (None, "") and value != field.default:
                params[names.get(field.name, field.name)] = str(value)
        return params


FAILURE_CATEGORIES = ErrorCategory.values


def queue(user, filters: QueueFilters) -> QuerySet[Conversation]:
    order = SORTS[filters.sort]
    # Unscored rows last, whichever way quality is sorted.
    rows = filters.apply(reviewable(user))
    if filters.sort in ("quality", "-quality"):
        column = F("quality_score")
        descending = filters.sort.startswith("-")
        first = column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)
        return rows.order_by(first, *order[1:])
    return rows.order_by(*order)


@dataclass(frozen=True)
class QueueStatistics:
    pending: int
    average_quality: float | None
    oldest_pending_at: datetime | None
    approved: int
    rejected: int
    needs_revision: int


def statistics(user, filters: QueueFilters) -> QueueStatistics:
    """Counts by review status, the average quality and the oldest of the pending ones,
    over what ``filters`` select whatever their status: one query."""
    rows = filters.apply(reviewable(user), by_status=False)
    pending = Q(review_status=ReviewStatus.PENDING)
    # Counted over review_status (never null here), not the id: every column read is in
    # conv_review_stats_idx, so the statistics come from the index alone (an index-only
    # scan, not the table).
    numbers = rows.aggregate(
        pending=Count("review_status", filter=pending),
        average=Avg("quality_score", filter=pending),
        oldest=Min("enriched_at", filter=pending),
        approved=Count("review_status", filter=Q(review_status=ReviewStatus.APPROVED)),
        rejected=Count("review_status", filter=Q(review_status=ReviewStatus.REJECTED)),
        needs_revision=Count("review_status", filter=Q(review_status=ReviewStatus.NEEDS_REVISION)),
    )
    return QueueStatistics(
        pending=numbers["pending"],
        average_quality=numbers["average"],
        oldest_pending_at=numbers["oldest"],
        approved=numbers["approved"],
        rejected=numbers["rejected"],
        needs_revision=numbers["needs_revision"],
    )


def claim_is_live(conversation: Conversation, now=None) -> bool:
    until = conversation.review_claimed_until
    return (
        conversation.review_claimed_by_id is not None
        and until is not None
        and (until > (now or timezone.now()))
    )


_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def _quality(raw: str) -> float:
    if not _NUMBER.fullmatch(raw):
        raise ValueError
    value = float(raw)
    if not 0 <= value <= 5:
        raise ValueError
    return value


def _key(raw: str) -> str:
    """A scaffolding key as sent (a text column holds no NUL; keys are short)."""
    if "\x00" in raw or len(raw) > 100:
        raise ValueError(raw)
    return raw


def filters_from(params, *, strict: bool = False) -> tuple[QueueFilters, dict[str, list[str]]]:
    """The queue's filters from query parameters (``batch``, ``persona``, ``arc``,
    ``topic``, ``qualityMin``, ``qualityMax``, ``failureCategory``, ``status``, ``sort``);
    the errors name each bad one (and it is left out). ``strict`` (the API): a value is
    taken exactly as sent, and an empty one is an error, not "any"."""
    values: dict = {}
    errors: dict[str, list[str]] = {}

    def take(name: str, field: str, parse, message: str, invalid: str = "") -> None:
        raw = params.get(name)
        if raw is None:
            return
        if not strict:
            raw = raw.strip()
        if not raw:
            if strict and message:
                errors[name] = [message]
            return
        try:
            values[field] = parse(raw)
        except (TypeError, ValueError):
            errors[name] = [invalid or message]

    def one_of(choices):
        def parse(raw: str) -> str:
            if raw not in choices:
                raise ValueError
            return raw

        return parse

    take("batch", "batch_job", uuid.UUID, "Must be a batch job id (a UUID).")
    for name, field in (("persona", "persona"), ("arc", "arc"), ("topic", "topic")):
        take(name, field, _key, "", "Must be a key: at most 100 characters, no NUL.")
    take("qualityMin", "quality_min", _quality, "Must be a number from 0 to 5.")
    take("qualityMax", "quality_max", _quality, "Must be a number from 0 to 5.")
    categories = FAILURE_CATEGORIES
    take(
        "failureCategory",
        "failure_category",
        one_of(categories),
        f"Must be one of: {', '.join(categories)}.",
    )
    take(
        "status",
        "status",
        one_of(ReviewStatus.values),
        f"Must be one of: {', '.join(ReviewStatus.values)}.",
    )
    take("sort", "sort", one_of(list(SORTS)), f"Must be one of: {', '.join(SORTS)}.")
    return QueueFilters(**values), errors
