"""Background tasks (django.tasks): thin wrappers that call a service by id, and what
they enqueue next."""

import logging
import uuid

from django.conf import settings
from django.tasks import TaskContext, task
from django.utils import timezone

from enrichment.models import EnrichmentRun, RunStatus, lane_timeout
from enrichment.runs import backend
from enrichment.runs.lanes import INTERRUPTED, StopSignal, process_run
from enrichment.runs.watchdog import watch_every, watch_run

logger = logging.getLogger("enrichment.runs")


@task(takes_context=True)
def enrichment_run_lane(context: TaskContext, *, run_id: str) -> str:
    result = context.task_result
    worker_ids = getattr(result, "worker_ids", None) or [""]
    with StopSignal() as stop:
        stopped = process_run(
            uuid.UUID(run_id), stop=stop, task_result_id=str(result.id), worker_id=worker_ids[-1]
        )
    if stopped == INTERRUPTED:
        # The worker is going away (or lost its database): another lane continues (the
        # watchdog goes on).
        enqueue_run(run_id, lanes=1, watch=False)
    return stopped


@task()
def enrichment_run_watchdog(*, run_id: str) -> int:
    verdict = watch_run(uuid.UUID(run_id))
    for _ in range(verdict.lanes):
        enrichment_run_lane.enqueue(run_id=run_id)
    if verdict.keep_watching:
        _enqueue_watchdog(run_id)
    return verdict.lanes


def _enqueue_watchdog(run_id: str) -> None:
    backend.enqueue_watchdog(
        enrichment_run_watchdog,
        EnrichmentRun.objects.filter(pk=run_id),
        {"run_id": run_id},
        run_after=timezone.now() + watch_every(),
    )


def enqueue_run(run_id: uuid.UUID | str, *, lanes: int | None = None, watch: bool = True) -> None:
    """Enqueue lane tasks (and the run's watchdog). Runs after the commit, so a failure
    here cannot undo the stored run: it is logged, and the run shows up in
    ``enrichment_doctor`` as stuck (``--fix`` enqueues it again)."""
    try:
        if watch:
            _enqueue_watchdog(str(run_id))
        for _ in range(lanes or settings.ENRICHMENT_RUN_LANES):
            enrichment_run_lane.enqueue(run_id=str(run_id))
    except Exception:
        logger.exception("Could not enqueue enrichment run %s; enrichment_doctor --fix", run_id)


def rearm_run_watchdogs(**signal_kwargs) -> int:
    """A watchdog for every unfinished run that has none: its chain ends if the worker
    running a check is killed during it, and nothing else would look at the run again."""
    rearmed = backend.rearm(
        enrichment_run_watchdog,
        EnrichmentRun.objects.exclude(status__in=RunStatus.finished()),
        lambda run: {"run_id": str(run.pk)},
        every=watch_every(),
        dead_after=lane_timeout(),
    )
    if rearmed:
        logger.warning("Re-armed the watchdog of %d unfinished run(s)", rearmed)
    return rearmed
