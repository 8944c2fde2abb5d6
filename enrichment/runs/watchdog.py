"""Noticing runs that stopped making progress: lanes that went silent (taken over, and a
lane enqueued in place of each), runs that no lane works on, and conversations whose claim
expired.

Each unfinished run has a watchdog task that looks every ``watch_every()`` (a third of
the lane timeout, 10 s by default), so a killed worker's share of a run is taken over
within about the lane timeout plus that of its last heartbeat.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from enrichment.models import (
    Conversation,
    EnrichmentRun,
    EnrichmentRunLane,
    LaneStatus,
    RunStatus,
    item_lease,
    lane_timeout,
)

from . import backend
from .lanes import finish_if_done
from .takeover import take_over_lost_lanes

logger = logging.getLogger("enrichment.runs")

# A run whose last lanes all ended in an error (not lost: broken) is failed, not resumed.
FAILED_LANES_BEFORE_GIVING_UP = 3


def watch_every() -> timedelta:
    return lane_timeout() / 3


@dataclass(frozen=True)
class Verdict:
    lanes: int  # lanes to enqueue: the run has work that no lane will do otherwise
    keep_watching: bool  # the run is unfinished: look again later


def watch_run(run_id: uuid.UUID) -> Verdict:
    """Take over the run's silent lanes and say how many lanes it needs."""
    run = EnrichmentRun.objects.filter(pk=run_id).first()
    if run is None or run.is_finished:
        return Verdict(lanes=0, keep_watching=False)
    lost = take_over_lost_lanes(run.pk)
    if lost:
        return Verdict(lanes=lost, keep_watching=True)
    if not run.items.pending().exists():
        finish_if_done(run.pk)
        return Verdict(lanes=0, keep_watching=True)
    if failure := _failing(run):
        logger.error("Run %s failed: %s", run.pk, failure)
        now = timezone.now()
        EnrichmentRun.objects.filter(pk=run.pk).unfinished().update(
            status=RunStatus.FAILED, error=failure, finished_at=now, updated_at=now
        )
        return Verdict(lanes=0, keep_watching=False)
    if _unattended(run):
        logger.warning("Run %s has work left and no lane working on it; resuming it", run.pk)
        return Verdict(lanes=1, keep_watching=True)
    return Verdict(lanes=0, keep_watching=True)


def _failing(run: EnrichmentRun) -> str | None:
    """Why the run cannot go on: its last lanes all ended in an error."""
    last = run.lane_rows[-FAILED_LANES_BEFORE_GIVING_UP:]
    if len(last) == FAILED_LANES_BEFORE_GIVING_UP and all(
        lane.status == LaneStatus.FAILED for lane in last
    ):
        return f"Its last {len(last)} lanes failed; the last one with: {last[-1].error}"
    return None


def _unattended(run: EnrichmentRun) -> bool:
    """No lane running, none waiting for a worker, and no sign of life for a while."""
    lanes = run.lane_rows
    if any(lane.status == LaneStatus.RUNNING for lane in lanes):
        return False
    waiting = backend.waiting_lanes(run.pk)
    if waiting:
        return False
    # When the backend cannot say whether lanes wait, only a long silence tells.
    quiet = lane_timeout() if waiting == 0 else item_lease()
    last = max([lane.heartbeat_at for lane in lanes] + [run.heartbeat_at or run.created_at])
    return last < timezone.now() - quiet


def stuck_conversations(now=None):
    """Conversations held by a claim that expired (their worker died)."""
    return Conversation.objects.with_expired_claim(now)


def stuck_runs(now=None):
    """Unfinished runs with a silent lane, or with no progress for longer than an item
    lease."""
    now = now or timezone.now()
    silent = EnrichmentRunLane.objects.silent(now).values("run_id")
    return EnrichmentRun.objects.unfinished().filter(
        Q(pk__in=silent)
        | Q(heartbeat_at__lt=now - item_lease())
        | Q(heartbeat_at__isnull=True, created_at__lt=now - item_lease())
    )
