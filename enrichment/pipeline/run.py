"""The runner: the I/O around the pure stages.

For a set of conversations it claims them (one conditional UPDATE), reads each input
file, runs validate → enrich → normalize in memory, writes the enriched file, and records
the outcome and the status in one UPDATE conditional on the claim. No per-stage status
writes.

Queries for N conversations: 1 claim UPDATE + 1 SELECT of what was claimed (scaffolding
joined up to 4 conversations; beyond, 1 more SELECT per kind of scaffolding in use) +
1 SELECT of rows not claimed (for their skip reason, only when there are some), then the
outcomes:

- one after another (the default): N UPDATEs, each committed on its own, so every
  conversation is durable as soon as it is done and one failure never touches another;
- in parallel, or in groups (background runs): per group, 1 SELECT … FOR UPDATE of the
  rows still held + 1 batched UPDATE (``executemany``), in one transaction.
"""

import contextvars
import logging
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from time import perf_counter

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from enrichment import storage
from enrichment.models import Conversation, EnrichmentStatus, ErrorCategory, lease_expiry
from enrichment.sql import update_statement

from .enrich import EnrichmentContext, enrich_conversation
from .normalize import NormalizationError, normalize_document
from .profile import DEFAULT_PROFILE, Profile, load_profile
from .validate import validate_conversation

logger = logging.getLogger("enrichment.pipeline")

ENRICHMENT_VERSION = "1.0.0"

# Result statuses of one conversation (the bulk API's `status`).
ENRICHED = "enriched"
FAILED = "failed"
SKIPPED = "skipped"

# Skip reasons.
ALREADY_ENRICHED = "already_enriched"
IN_PROGRESS = "in_progress"
PREVIOUSLY_FAILED = "previously_failed"  # only when the caller asked not to retry failures
INACTIVE = "inactive"  # deactivated after it was selected (a run over it, a race)


@dataclass(frozen=True)
class Outcome:
    """What happened to one conversation."""

    pk: uuid.UUID
    conversation_id: uuid.UUID
    status: str
    enrichment_status: str
    error: str | None = None
    error_category: str | None = None
    reason: str | None = None
    duration_ms: float = 0.0

    def as_result(self, sent_id: str | None = None) -> dict:
        """The bulk API's result object; ``sent_id`` is the id form the caller used."""
        result: dict = {
            "conversationId": sent_id or str(self.conversation_id),
            "businessConversationId": str(self.conversation_id),
            "status": self.status,
            "enrichmentStatus": self.enrichment_status,
        }
        if self.error is not None:
            result["error"] = self.error
        if self.error_category is not None:
            result["errorCategory"] = self.error_category
        if self.reason is not None:
            result["reason"] = self.reason
        return result


@lru_cache(maxsize=8)
def _load_profile(path: str) -> Profile:
    return load_profile(path)


def current_profile() -> Profile:
    path = settings.ENRICHMENT_PROFILE
    return _load_profile(str(path)) if path else DEFAULT_PROFILE


class StageFailure(Exception):
    def __init__(self, status: str, category: str, message: str, **fields) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.fields = fields


_SCAFFOLDING = ("persona", "emotional_arc", "training_topic", "template")
# What the stages read of a conversation (besides its scaffolding): loading only these
# keeps an earlier enrichment's large reports out of the hot path.
_INPUT_FIELDS = (
    "id",
    "conversation_id",
    "created_by_id",
    "created_at",
    "quality_score",
    "file_path",
    "raw_response_path",
    *_SCAFFOLDING,
)
# Up to this many conversations, their scaffolding is joined into the one SELECT; beyond,
# it is loaded once per relation (four more queries, but far fewer rows and decodes).
_JOIN_UP_TO = 4


def _snapshot(conversation: Conversation, profile: Profile) -> EnrichmentContext:
    persona = conversation.persona
    arc = conversation.emotional_arc
    topic = conversation.training_topic
    template = conversation.template
    return EnrichmentContext(
        conversation_id=str(conversation.conversation_id),
        created_date=timezone.localdate(conversation.created_at).isoformat(),
        quality_score=conversation.quality_score,
        persona=None
        if persona is None
        else {
            "name": persona.name,
            "archetype": persona.archetype,
            "demographics": persona.demographics,
            "financial_background": persona.financial_background,
        },
        emotional_arc=None
        if arc is None
        else {
            "name": arc.name,
            "arc_key": arc.arc_key,
            "starting_emotion": arc.starting_emotion,
            "ending_emotion": arc.ending_emotion,
        },
        training_topic=None
        if topic is None
        else {
            "name": topic.name,
            "topic_key": topic.topic_key,
            "complexity_level": topic.complexity_level,
        },
        template=None
        if template is None
        else {
            "template_name": template.name,
            "category": template.category,
            "suitable_personas": template.suitable_personas,
        },
        profile=profile,
    )


def _read_input(conversation: Conversation) -> bytes:
    path = conversation.file_path or conversation.raw_response_path
    if not path:
        raise StageFailure(
            EnrichmentStatus.ENRICHMENT_FAILED,
            ErrorCategory.MISSING_INPUT,
            "The conversation has no stored file to enrich.",
        )
    try:
        return storage.read_file(path)
    except FileNotFoundError:
        raise StageFailure(
            EnrichmentStatus.ENRICHMENT_FAILED,
            ErrorCategory.MISSING_INPUT,
            f"The input file {path} is missing from storage.",
        ) from None
    except OSError as exc:
        raise StageFailure(
            EnrichmentStatus.ENRICHMENT_FAILED,
            ErrorCategory.STORAGE,
            f"The input file {path} could not be read: {exc}",
        ) from None


def _blocker_text(report: dict) -> str:
    blockers = report.get("blockers") or []
    parts = [f"{b['code']} at {b['field']}: {b['message']}" for b in blockers[:5]]
    more = len(blockers) - len(parts)
    if more > 0:
        parts.append(f"and {more} more")
    return "Validation failed: " + "; ".join(parts)


def process(conversation: Conversation, profile: Profile, validated_at: str) -> dict:
    """Run the stages for one claimed conversation; return the fields of its outcome.

    Touches storage (read input, write output) but never the database.
    """
    source = _read_input(conversation)
    data, report = validate_conversation(
        source, conversation_id=str(conversation.conversation_id), validated_at=validated_at
    )
    if data is None or report["hasBlockers"]:
        raise StageFailure(
            EnrichmentStatus.VALIDATION_FAILED,
            ErrorCategory.VALIDATION,
            _blocker_text(report),
            validation_report=report,
        )
    try:
        document = enrich_conversation(data, _snapshot(conversation, profile))
    except Exception as exc:
        logger.exception("Enrichment stage failed for %s", conversation.conversation_id)
        raise StageFailure(
            EnrichmentStatus.ENRICHMENT_FAILED,
            ErrorCategory.INTERNAL,
            f"Enrichment failed: {exc.__class__.__name__}: {exc}",
            validation_report=report,
        ) from exc
    try:
        content, normalization_report = normalize_document(document)
    except NormalizationError as exc:
        raise StageFailure(
            EnrichmentStatus.NORMALIZATION_FAILED,
            ErrorCategory.NORMALIZATION,
            f"Normalization failed: {exc}",
            validation_report=report,
            normalization_report=getattr(exc, "report", None),
        ) from exc
    path = storage.enriched_path(conversation.owner_segment, str(conversation.conversation_id))
    try:
        size = storage.write_file(path, content)
    except Exception as exc:
        raise StageFailure(
            EnrichmentStatus.ENRICHMENT_FAILED,
            ErrorCategory.STORAGE,
            f"The enriched file could not be stored: {exc}",
            validation_report=report,
            normalization_report=normalization_report,
        ) from exc
    return {
        "enrichment_status": EnrichmentStatus.COMPLETED,
        "validation_report": report,
        "normalization_report": normalization_report,
        "enriched_file_path": path,
        "enriched_file_size": size,
        "enrichment_error": None,
        "enrichment_error_category": None,
        "enrichment_version": ENRICHMENT_VERSION,
    }


def _outcome_fields(conversation: Conversation, profile: Profile, validated_at: str) -> dict:
    try:
        return process(conversation, profile, validated_at)
    except StageFailure as failure:
        return {
            "enrichment_status": failure.status,
            "enrichment_error": str(failure),
            "enrichment_error_category": failure.category,
            **failure.fields,
        }
    except Exception as exc:  # one conversation's bug must never stop the others
        logger.exception("Unexpected failure enriching %s", conversation.conversation_id)
        return {
            "enrichment_status": EnrichmentStatus.ENRICHMENT_FAILED,
            "enrichment_error": f"Unexpected error: {exc.__class__.__name__}: {exc}",
            "enrichment_error_category": ErrorCategory.INTERNAL,
        }


# What the outcome UPDATE must also set, besides the outcome's own fields.
_CLEARED_CLAIM = {"enrichment_lease_expires_at": None, "enrichment_claim_token": None}


@dataclass
class _Processed:
    """One conversation after the stages: the fields of its outcome, not yet recorded."""

    conversation: Conversation
    fields: dict
    started: float
    finished: float | None = None  # when the stages and the file write were done

    def statement(self, token: uuid.UUID) -> tuple[str, list]:
        now = timezone.now()
        fields = {**self.fields, **_CLEARED_CLAIM, "updated_at": now}
        if fields["enrichment_status"] == EnrichmentStatus.COMPLETED:
            fields["enriched_at"] = now
        return update_statement(
            Conversation, fields, {"id": self.conversation.pk, "enrichment_claim_token": token}
        )

    def outcome(self, written: bool) -> Outcome:
        conversation = self.conversation
        # The conversation's own work only: in a group it must not include the time
        # spent on the conversations processed after it.
        duration_ms = ((self.finished or perf_counter()) - self.started) * 1000
        if not written:
            # Our lease expired and another caller took the conversation over; its
            # outcome wins.
            return Outcome(
                conversation.pk,
                conversation.conversation_id,
                SKIPPED,
                EnrichmentStatus.IN_PROGRESS,
                reason=IN_PROGRESS,
                duration_ms=duration_ms,
            )
        status = self.fields["enrichment_status"]
        return Outcome(
            conversation.pk,
            conversation.conversation_id,
            ENRICHED if status == EnrichmentStatus.COMPLETED else FAILED,
            status,
            error=self.fields.get("enrichment_error"),
            error_category=self.fields.get("enrichment_error_category"),
            duration_ms=duration_ms,
        )


def _record(
    processed: _Processed,
    token: uuid.UUID,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> Outcome:
    """Write one outcome and status in one UPDATE, conditional on our claim.

    Without ``on_outcome`` the statement commits on its own (or joins the caller's
    transaction). ``on_outcome`` runs in the same transaction, so what a caller records
    about the outcome (a run's item) is committed together with the conversation's
    status or not at all: a crash in between can never leave one without the other.
    """
    sql, params = processed.statement(token)
    # savepoint=False: inside a caller's transaction this joins it for free.
    with transaction.atomic(savepoint=False) if on_outcome else nullcontext():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            outcome = processed.outcome(cursor.rowcount > 0)
        if on_outcome:
            on_outcome(outcome)
    return outcome


def _record_many(
    batch: list[_Processed],
    token: uuid.UUID,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Write several outcomes in one transaction and a constant number of statements.

    The rows still held by our claim are locked first, so the outcomes written are
    exactly those rows: a conversation whose lease expired and was taken over keeps the
    newer caller's outcome and is reported ``in_progress``.
    """
    if not batch:
        return []
    with transaction.atomic(savepoint=False):
        held = set(
            Conversation.objects.select_for_update()
            .filter(pk__in=[p.conversation.pk for p in batch], enrichment_claim_token=token)
            # Rows locked in one order by everyone, so two lockers cannot deadlock.
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        by_sql: dict[str, list[list]] = {}
        for processed in batch:
            if processed.conversation.pk in held:
                sql, params = processed.statement(token)
                by_sql.setdefault(sql, []).append(params)
        with connection.cursor() as cursor:
            for sql, rows in by_sql.items():
                cursor.executemany(sql, rows)
        outcomes = [p.outcome(p.conversation.pk in held) for p in batch]
        if on_outcome:
            for outcome in outcomes:
                on_outcome(outcome)
    return outcomes


def release(token: uuid.UUID, pks: Iterable[uuid.UUID] | None = None) -> int:
    """Give back every conversation still held by ``token`` (claimed, not processed), in
    the state the claim found it. ``pks``, the rows the claim was over, lets the
    statement find them by primary key instead of scanning for the token."""
    rows = Conversation.objects.filter(enrichment_claim_token=token)
    if pks is not None:
        rows = rows.filter(pk__in=list(pks))
    return rows.update(
        enrichment_status=F("enrichment_status_before_claim"),
        enrichment_lease_expires_at=None,
        enrichment_claim_token=None,
    )


def claim(
    pks: Iterable[uuid.UUID], *, force: bool = False, retry_failed: bool = True
) -> tuple[uuid.UUID, datetime]:
    """Claim every claimable conversation among ``pks`` in one conditional UPDATE.

    Claimable: not held by a live lease, unless ``force`` not completed, and unless
    ``retry_failed`` not in a failed state. Concurrent claims on PostgreSQL re-check the
    condition after waiting for the row lock, so only one of them gets each row.
    """
    now = timezone.now()
    token = uuid.uuid4()
    rows = Conversation.objects.filter(pk__in=list(pks), is_active=True)
    if force:
        rows = rows.exclude(
            enrichment_status=EnrichmentStatus.IN_PROGRESS, enrichment_lease_expires_at__gt=now
        )
    else:
        rows = rows.claimable(now)
    if not retry_failed:
        rows = rows.exclude(enrichment_status__in=EnrichmentStatus.failed())
    rows.update(
        # SQL reads every right-hand side from the row as it was, so this keeps the old
        # status even though the same statement overwrites it.
        enrichment_status_before_claim=F("enrichment_status"),
        enrichment_status=EnrichmentStatus.IN_PROGRESS,
        enrichment_lease_expires_at=lease_expiry(now),
        enrichment_claim_token=token,
        updated_at=now,
    )
    return token, now


def enrich_conversations(
    pks: Iterable[uuid.UUID | str],
    *,
    force: bool = False,
    parallel: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    group_size: int = 1,
    retry_failed: bool = True,
) -> list[Outcome]:
    """Enrich the given conversations (row ids); return one outcome per id, in order.

    Unclaimable ones are skipped: deactivated → ``inactive``, completed →
    ``already_enriched`` (unless ``force``), held by a live lease → ``in_progress``,
    failed before → ``previously_failed`` (only when ``retry_failed`` is false).
    ``should_stop`` is asked between conversations (not in parallel mode); once it
    answers true, the conversations not yet processed are released unchanged and left
    out of the returned outcomes.
    ``group_size`` > 1 (not parallel) processes that many conversations, then commits
    their outcomes in one transaction, for background runs where a commit per
    conversation would dominate; ``parallel`` commits all outcomes at once. An outcome
    and what ``on_outcome`` records about it are always committed together.
    """
    pks = list(dict.fromkeys(pk if isinstance(pk, uuid.UUID) else uuid.UUID(str(pk)) for pk in pks))
    if not pks:
        return []
    with _relaxed_commits():
        return _enrich_claimed(
            pks, force, parallel, on_outcome, should_stop, group_size, retry_failed
        )


@contextmanager
def _relaxed_commits():
    """On PostgreSQL, don't wait for the WAL flush on each outcome's commit.

    Every outcome stays atomic; what a server crash could lose is only the last
    acknowledged outcomes, which leaves those conversations claimed until their lease
    expires, after which they are enriched again (the file written is the same). That
    trade saves a disk flush per conversation. Inside a caller's transaction nothing is
    changed (SET would outlive it otherwise).
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _enrich_claimed(
    pks: list[uuid.UUID],
    force: bool,
    parallel: bool,
    on_outcome: Callable[[Outcome], None] | None,
    should_stop: Callable[[], bool] | None,
    group_size: int,
    retry_failed: bool,
) -> list[Outcome]:
    token, claimed_at = claim(pks, force=force, retry_failed=retry_failed)
    claimed = Conversation.objects.filter(pk__in=pks, enrichment_claim_token=token).only(
        *_INPUT_FIELDS
    )
    if len(pks) > _JOIN_UP_TO:
        # Few scaffolding rows serve many conversations: each is loaded (and its JSON
        # decoded) once per relation instead of once per conversation.
        claimed = claimed.prefetch_related(*_SCAFFOLDING)
    else:
        claimed = claimed.select_related(*_SCAFFOLDING)
    claimed = list(claimed)
    order = {pk: index for index, pk in enumerate(pks)}
    claimed.sort(key=lambda c: order[c.pk])
    claimed_pks = {c.pk for c in claimed}
    outcomes: dict[uuid.UUID, Outcome] = {}
    missed = [pk for pk in pks if pk not in claimed_pks]
    if missed:
        for pk, business_id, status, active in Conversation.objects.filter(
            pk__in=missed
        ).values_list("pk", "conversation_id", "enrichment_status", "is_active"):
            reason = (
                INACTIVE
                if not active
                else ALREADY_ENRICHED
                if status == EnrichmentStatus.COMPLETED
                else PREVIOUSLY_FAILED
                if status in EnrichmentStatus.failed()
                else IN_PROGRESS
            )
            outcomes[pk] = Outcome(pk, business_id, SKIPPED, status, reason=reason)
            if on_outcome:
                on_outcome(outcomes[pk])

    profile = current_profile()
    validated_at = claimed_at.isoformat()

    def work(conversation: Conversation) -> _Processed:
        started = perf_counter()
        fields = _outcome_fields(conversation, profile, validated_at)
        return _Processed(conversation, fields, started, perf_counter())

    def keep(recorded: Iterable[Outcome]) -> None:
        outcomes.update((outcome.pk, outcome) for outcome in recorded)

    try:
        if parallel and len(claimed) > 1:
            workers = min(settings.ENRICHMENT_MAX_PARALLEL, len(claimed))
            # The threads log with this thread's context (the request id of the logs).
            context = contextvars.copy_context()
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="enrich") as pool:
                # Stages and file I/O run in the pool; the outcomes are written on this
                # thread (this request's connection), all in one transaction.
                batch = list(pool.map(lambda c: context.copy().run(work, c), claimed))
            keep(_record_many(batch, token, on_outcome))
        elif group_size > 1:
            # Background runs: a group's outcomes are committed together, after the
            # group was processed, so no transaction stays open during the work.
            for start in range(0, len(claimed), group_size):
                group = claimed[start : start + group_size]
                batch = []
                for conversation in group:
                    if should_stop is not None and should_stop():
                        break
                    batch.append(work(conversation))
                keep(_record_many(batch, token, on_outcome))
                if len(batch) < len(group):
                    break  # asked to stop
        else:
            # One after another, each outcome committed on its own.
            for conversation in claimed:
                if should_stop is not None and should_stop():
                    break
                keep([_record(work(conversation), token, on_outcome)])
    finally:
        # Whatever was not processed (asked to stop, or an error escaped) is given back
        # at once rather than held until its lease expires.
        # Inside a caller's transaction that an error doomed, the claim itself is rolled
        # back with it, and any query would only hide the original error.
        doomed = connection.in_atomic_block and connection.needs_rollback
        if any(c.pk not in outcomes for c in claimed) and not doomed:
            release(token, [c.pk for c in claimed])
    return [outcomes[pk] for pk in pks if pk in outcomes]


def release_expired_leases(now: datetime | None = None) -> int:
    """Give back conversations whose claim expired (their worker died), in the state the
    claim found them, so that whatever was enriching them picks them up again."""
    now = now or timezone.now()
    return (
        Conversation.objects.filter(enrichment_status=EnrichmentStatus.IN_PROGRESS)
        .filter(
            Q(enrichment_lease_expires_at__lte=now) | Q(enrichment_lease_expires_at__isnull=True)
        )
        .update(
            enrichment_status=Coalesce(
                NullIf(F("enrichment_status_before_claim"), Value("")),
                Value(EnrichmentStatus.NOT_STARTED.value),
            ),
            enrichment_lease_expires_at=None,
            enrichment_claim_token=None,
            updated_at=now,
        )
    )
