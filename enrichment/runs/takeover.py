"""Lanes that went silent, noticed and taken over; lanes that end, giving their work back.

A lane beats while it works (``lanes``). One that has not beaten for
``ENRICHMENT_LANE_TIMEOUT_SECONDS`` (its worker was killed, or lost the database) counts
as lost: whoever notices first (the run's watchdog, another lane of the run,
``enrichment_doctor --fix``) marks it lost and gives back what it held, its pending items
and their conversations in the state their claims found them, so the next lane takes them
at once instead of waiting for the leases to expire. Its task, which its worker never
finished, is recorded as failed.

Giving back is safe even if the lane was only slow: every outcome it still writes is
conditional on its claim, which no longer holds, and it stops at its next heartbeat.
"""

import logging
import uuid

from django.db import transaction
from django.utils import timezone

from enrichment.models import EnrichmentRunItem, EnrichmentRunLane, LaneStatus, lane_timeout
from enrichment.pipeline.run import release

from . import backend

logger = logging.getLogger("enrichment.runs")


def _give_back(run_id: uuid.UUID, lane_id: uuid.UUID) -> int:
    items = EnrichmentRunItem.objects.filter(run_id=run_id).held_by(lane_id).pending()
    conversation_pks = list(items.values_list("conversation_id", flat=True))
    if not conversation_pks:
        return 0
    release(lane_id, conversation_pks)
    return items.update(claim_token=None, claimed_until=None)


def take_over_lost_lanes(run_id: uuid.UUID, now=None) -> int:
    """Mark the run's silent lanes lost and give back what they held; how many."""
    now = now or timezone.now()
    silent = list(
        EnrichmentRunLane.objects.filter(run_id=run_id)
        .silent(now)
        .values_list("pk", "task_result_id", "heartbeat_at")
    )
    taken = 0
    for lane_id, task_result_id, heartbeat_at in silent:
        with transaction.atomic():
            # Conditional, so that of two noticing at once only one takes it over, and a
            # lane that beat in the meantime is left alone.
            lost = (
                EnrichmentRunLane.objects.filter(pk=lane_id)
                .silent(now)
                .update(status=LaneStatus.LOST, finished_at=now)
            )
            if not lost:
                continue
            items = _give_back(run_id, lane_id)
        taken += 1
        logger.warning(
            "Lane %s of run %s silent since %s (over %s): took over its %d items",
            lane_id,
            run_id,
            heartbeat_at,
            lane_timeout(),
            items,
        )
        backend.record_lost(
            task_result_id,
            f"The worker running this lane stopped responding (silent since {heartbeat_at}); "
            "its work was handed to another lane.",
        )
    return taken


def hand_back(lane_id: uuid.UUID, *, error: str = "") -> None:
    """A lane ending: whatever it still holds goes back to the pool, and it stops (or
    failed, with ``error``), unless it was taken over already."""
    now = timezone.now()
    with transaction.atomic():
        running = EnrichmentRunLane.objects.filter(pk=lane_id, status=LaneStatus.RUNNING)
        run_id = running.values_list("run_id", flat=True).first()
        if run_id is None:
            return
        _give_back(run_id, lane_id)
        running.update(
            status=LaneStatus.FAILED if error else LaneStatus.STOPPED,
            error=error,
            finished_at=now,
            heartbeat_at=now,
        )
