"""Background tasks (django.tasks): thin wrappers that call a service by id, and what
they enqueue next."""

import logging
import uuid

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from enrichment.models import item_lease
from enrichment.runs.lanes import INTERRUPTED, StopSignal, process_run
from enrichment.runs.watchdog import watch_run

logger = logging.getLogger("enrichment.runs")


@task()
def enrichment_run_lane(*, run_id: str) -> str:
    with StopSignal() as stop:
        stopped = process_run(uuid.UUID(run_id), stop=stop)
    if stopped == INTERRUPTED:
        # The worker is going away: another worker continues (the watchdog goes on).
        enqueue_run(run_id, lanes=1, watch=False)
    return stopped


@task()
def enrichment_run_watchdog(*, run_id: str) -> bool:
    verdict = watch_run(uuid.UUID(run_id))
    if verdict.resume:
        enrichment_run_lane.enqueue(run_id=run_id)
    if verdict.keep_watching:
        _enqueue_watchdog(run_id)
    return verdict.resume


def _enqueue_watchdog(run_id: str) -> None:
    enrichment_run_watchdog.using(run_after=timezone.now() + item_lease()).enqueue(run_id=run_id)


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
