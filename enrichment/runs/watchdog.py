"""Noticing runs that stopped making progress (their worker died) and conversations whose
claim expired."""

import logging
import uuid
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from enrichment.models import Conversation, EnrichmentRun, item_lease

from .lanes import finish_if_done

logger = logging.getLogger("enrichment.runs")


@dataclass(frozen=True)
class Verdict:
    resume: bool  # enqueue a lane: the run stalled with work left
    keep_watching: bool  # the run is unfinished: look again later


def watch_run(run_id: uuid.UUID) -> Verdict:
    """Whether a run stopped making progress and needs a new lane."""
    run = EnrichmentRun.objects.filter(pk=run_id).first()
    if run is None or run.is_finished:
        return Verdict(resume=False, keep_watching=False)
    now = timezone.now()
    stalled = run.heartbeat_at is None or run.heartbeat_at < now - item_lease()
    if stalled and run.items.pending().exists():
        logger.warning("Run %s made no progress for %s; resuming it", run.pk, item_lease())
        return Verdict(resume=True, keep_watching=True)
    if stalled:
        finish_if_done(run.pk)
    return Verdict(resume=False, keep_watching=True)


def stuck_conversations(now=None):
    """Conversations held by a claim that expired (their worker died)."""
    return Conversation.objects.with_expired_claim(now)


def stuck_runs(now=None):
    """Unfinished runs with no progress for longer than an item lease."""
    now = now or timezone.now()
    return EnrichmentRun.objects.unfinished().filter(
        Q(heartbeat_at__lt=now - item_lease())
        | Q(heartbeat_at__isnull=True, created_at__lt=now - item_lease())
    )
