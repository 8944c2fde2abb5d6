"""The front door: every entry point (API, pages, admin, command line, automatic runs)
enriches conversations through ``enrich``.

An entry point builds a ``Selection`` (``enrichment.selection``: by ids, by batch job, by
status, or a filtered queryset) and says who acts and from where. The front door decides
the rest: up to ``ENRICHMENT_BULK_LIMIT`` conversations are enriched in the call; more
become a background run; and a batch job that already has an unfinished run gets that run
back instead of a second one.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from conversations import counts
from conversations.models import BatchJob, Conversation, EnrichmentStatus

from .models import EnrichmentRun, RunSource
from .pipeline.outcomes import ENRICHED, FAILED, SKIPPED, Outcome, skipped_text
from .pipeline.run import PARALLEL, SEQUENTIAL, enrich_conversations
from .runs.lifecycle import NothingToEnrich, RunStarted, active_run, cancel_run, start_run
from .selection import Selection, select_batch_job


@dataclass
class BulkResult:
    """The outcomes of an enrichment done in the call."""

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
    def skip_reasons(self) -> dict[str | None, int]:
        reasons: dict[str | None, int] = {}
        for outcome in self.outcomes:
            if outcome.status == SKIPPED:
                reasons[outcome.reason] = reasons.get(outcome.reason, 0) + 1
        return reasons

    @property
    def skipped_text(self) -> str:
        """The skipped count with why: "2 (2 already enriched)"."""
        return skipped_text(self.summary["skipped"], self.skip_reasons)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == FAILED]


def fits_in_request(count: int) -> bool:
    """Whether ``enrich`` works on ``count`` conversations in the call (else a run)."""
    return count <= settings.ENRICHMENT_BULK_LIMIT


def enrich(
    selection: Selection,
    *,
    user,
    source: str,
    force: bool = False,
    retry_failed: bool = True,
    sequential: bool = True,
    background: bool | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> BulkResult | RunStarted:
    """Enrich ``selection`` for ``user`` (recorded on a run; the selection is already
    narrowed to what they may see).

    ``background``: ``None`` decides by size (a run above ``ENRICHMENT_BULK_LIMIT``),
    ``True`` always starts a run, ``False`` always works in the call (the command line),
    a bulk at a time. Completed conversations are skipped unless ``force``; failed ones
    too unless ``retry_failed``; ones claimed elsewhere always (see the runner).
    """
    if selection.batch_job is not None and (running := active_run(selection.batch_job)):
        return RunStarted(running, created=False)
    pks: list[uuid.UUID] | None = None
    if background is False:
        pks = selection.pks()
    elif background is None:
        # A count up to the limit decides; a big selection is never read here.
        pks = selection.pks_up_to(settings.ENRICHMENT_BULK_LIMIT)
    if pks is None:
        return start_run(
            selection.stored(),
            user=user,
            source=source,
            description=selection.description,
            batch_job=selection.batch_job,
            force=force,
            retry_failed=retry_failed,
        )
    outcomes: list[Outcome] = []
    # Each bulk claims only its own rows, so nothing is held for long and an interruption
    # loses at most one bulk's claims.
    limit = settings.ENRICHMENT_BULK_LIMIT
    for start in range(0, len(pks), limit):
        outcomes += enrich_conversations(
            pks[start : start + limit],
            force=force,
            retry_failed=retry_failed,
            mode=SEQUENTIAL if sequential else PARALLEL,
            on_outcome=on_outcome,
        )
    return BulkResult(outcomes, selection.sent_ids)


def enrich_one(conversation: Conversation, *, user, source: str, force: bool = False) -> Outcome:
    """Enrich one conversation the caller already loaded (and may see)."""
    selection = Selection(
        Conversation.objects.filter(pk=conversation.pk),
        str(conversation),
        order=(conversation.pk,),
    )
    result = enrich(selection, user=user, source=source, force=force)
    assert isinstance(result, BulkResult)
    [outcome] = result.outcomes
    return outcome


def deactivate(conversation: Conversation) -> None:
    """Take a conversation out of every list, selection and run still to come (a soft
    delete: its files stay, and staff can make it active again in the admin)."""
    with transaction.atomic():
        row = Conversation.objects.filter(pk=conversation.pk, is_active=True)
        if row.update(is_active=False, updated_at=timezone.now()):
            counts.add(
                [(conversation.pk, row.model.objects.get(pk=conversation.pk).settled_status)],
                sign=-1,
            )
    conversation.is_active = False


# Batch jobs -------------------------------------------------------------------------------

# How many failed conversations the batch page lists with their reason.
FAILURES_SHOWN = 50


def job_conversations(job: BatchJob, *, user) -> QuerySet[Conversation]:
    """The conversations of the job's completed items that ``user`` may act on."""
    return Conversation.objects.of_completed_items(job.pk).visible_to(user)


@dataclass(frozen=True)
class Failure:
    pk: uuid.UUID
    conversation_id: uuid.UUID
    name: str
    status: str
    error: str

    @property
    def status_label(self) -> str:
        return EnrichmentStatus(self.status).label


@dataclass(frozen=True)
class JobEnrichmentState:
    """Where the job's successful conversations stand: its counts, always current (see
    ``conversations.counts``), and its first failures."""

    total: int
    enriched: int
    failed: int
    failures: list[Failure] = field(default_factory=list)
    # How many of the failed ones failed validation: a retry fails them again.
    failed_for_good: int = 0

    @property
    def retry_is_pointless(self) -> bool:
        """Every failure left is one a retry repeats ("Retry failed" is not offered as
        the next step)."""
        return bool(self.failed) and self.failed_for_good == self.failed

    @property
    def not_enriched(self) -> int:
        return self.total - self.enriched - self.failed

    @property
    def has_unenriched(self) -> bool:
        return self.enriched < self.total

    @property
    def more_failures(self) -> int:
        return self.failed - len(self.failures)


def get_job_enrichment_state(job: BatchJob, *, user) -> JobEnrichmentState:
    """The job's counts and its first failed conversations with their reason (one query,
    only when some failed)."""
    failures: list[Failure] = []
    failed_for_good = 0
    if job.conversations_failed:
        failed_for_good = (
            job_conversations(job, user=user)
            .failed_for_good()
            .order_by()
            .values("pk")
            .distinct()
            .count()
        )
        rows = (
            job_conversations(job, user=user)
            .failed()
            .order_by("batch_items__position")
            .values_list(
                "pk",
                "conversation_id",
                "conversation_name",
                "enrichment_status",
                "enrichment_error",
            )[: FAILURES_SHOWN * 2]
        )
        seen: set[uuid.UUID] = set()
        for pk, business_id, name, status, error in rows:
            if pk in seen or len(failures) == FAILURES_SHOWN:
                continue
            seen.add(pk)
            failures.append(Failure(pk, business_id, name or "Untitled", status, error or ""))
    return JobEnrichmentState(
        job.conversations_total,
        job.conversations_enriched,
        job.conversations_failed,
        failures=failures,
        failed_for_good=failed_for_good,
    )


def enrich_batch_job(job: BatchJob, *, user, only_failed: bool = False) -> BulkResult | RunStarted:
    """Enrich the conversations of the job's completed items ("Enrich All").

    Completed conversations come back skipped, and so do failed ones: Enrich All never
    spends time re-running known failures, "Retry failed" (``only_failed``) is the
    explicit way to. The front door decides between the request and a background run,
    and returns the job's unfinished run, if it has one, instead of starting another.
    """
    selection = select_batch_job(job, user=user)
    if only_failed:
        selection = selection.only_failed()
    return enrich(selection, user=user, source=RunSource.PAGE, retry_failed=only_failed)


def job_runs(job: BatchJob) -> QuerySet[EnrichmentRun]:
    """Every run over the job's conversations, newest first, whoever started it (the
    job's page shows automatic runs too)."""
    return EnrichmentRun.objects.of_batch_job(job.pk).order_by("-created_at", "-pk")


def latest_job_run(job: BatchJob) -> EnrichmentRun | None:
    return job_runs(job).select_related("created_by").first()


def cancel_job_run(job: BatchJob, run_id: uuid.UUID) -> EnrichmentRun:
    """Cancel one of the job's runs; raises ``EnrichmentRun.DoesNotExist`` for a run of
    another job and ``RunNotCancellable`` for one that has ended."""
    return cancel_run(job_runs(job).get(pk=run_id))


def job_enrichment_panel(job: BatchJob, *, user, run=...) -> dict:
    """What the enrichment panel of a job's page shows: where the job's conversations stand
    (``state``) and its latest background run (``run``; give it when known)."""
    if run is ...:
        run = latest_job_run(job)
    return {"state": get_job_enrichment_state(job, user=user), "run": run}


def enrich_finished_job(job: BatchJob) -> EnrichmentRun | None:
    """Auto-enrichment: a background run over the successful conversations of a job that
    just ended, if it has any (or the job's unfinished run, if one was started
    meanwhile)."""
    try:
        started = enrich(
            select_batch_job(job, user=None),
            user=job.created_by,
            source=RunSource.AUTO,
            background=True,
        )
    except NothingToEnrich:
        return None
    return started.run
