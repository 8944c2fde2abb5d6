"""Noticing a background build whose worker stopped (killed, out of memory, the machine
lost, or its database gone), and starting it again.

Every queued build has a watchdog task (``tasks.watch_training_build``) that looks every
``watch_every()`` (a sixth of ``TRAINING_BUILD_TIMEOUT_SECONDS``) while its generation is
being built. An attempt is dead when it has not beaten for the timeout, or when it never
started and no worker holds or waits to run its task. The watchdog then gives the
attempt up and has the next one queued, on whichever worker is free; after
``MAX_BUILD_ATTEMPTS`` the file is marked failed with the reason. The dead attempt's task
is recorded as failed (its worker never finished it).

Giving up an attempt that was only slow is safe: it records its files only while its
attempt is current, so it finds out at its next heartbeat, stops and deletes what it
stored. Every attempt writes to a folder of its own, so nothing it left half-written is
ever pointed at.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.tasks import TaskResultStatus
from django.utils import timezone

from enrichment.runs import backend

from .builds import RESTARTED, SUPERSEDED, restart_attempt
from .models import TrainingFile, TrainingFileStatus, build_timeout

logger = logging.getLogger("training.builds")

BUILD_TASK = "training.tasks.build_training_file"
LOST_BUILD_ERROR = "training.recovery.WorkerStopped"


def watch_every() -> timedelta:
    return build_timeout() / 6


@dataclass(frozen=True)
class Verdict:
    restart: int | None  # the attempt to queue now: the one before it was given up
    keep_watching: bool  # the generation is still being built: look again later


def watch_build(
    training_file_id: uuid.UUID, generation: int, now: datetime | None = None
) -> Verdict:
    """Look at the build of ``generation``: give up its current attempt if it is dead."""
    now = now or timezone.now()
    training_file = TrainingFile.objects.filter(
        pk=training_file_id, build_generation=generation, status=TrainingFileStatus.PROCESSING
    ).first()
    if training_file is None:
        return Verdict(restart=None, keep_watching=False)
    attempt = training_file.build_attempt
    tasks = _attempt_tasks(training_file, attempt)
    why = dead_because(training_file, tasks, now=now)
    if why is None:
        return Verdict(restart=None, keep_watching=True)
    outcome = restart_attempt(
        training_file.pk, generation, attempt, why=why, unless_beaten_since=now - build_timeout()
    )
    if tasks is not None and outcome != SUPERSEDED:
        for task_result_id in tasks.filter(status=TaskResultStatus.RUNNING).values_list(
            "pk", flat=True
        ):
            backend.record_lost(
                str(task_result_id),
                f"The worker running this build stopped ({why}); attempt {attempt} was given up.",
                error=LOST_BUILD_ERROR,
            )
    if outcome == RESTARTED:
        return Verdict(restart=attempt + 1, keep_watching=True)
    return Verdict(restart=None, keep_watching=outcome != "failed")


def dead_because(training_file: TrainingFile, tasks, *, now: datetime) -> str | None:
    """Why the current attempt of a file being built counts as dead, or None while it
    works or waits for a worker. ``tasks``: the attempt's task results (None: the task
    backend cannot say)."""
    heartbeat = training_file.build_heartbeat_at
    if heartbeat is not None:
        if training_file.build_is_silent(now):
            return f"no sign of life since {_moment(heartbeat)}"
        return None
    # Not started: it may be waiting for a free worker, which can take any time.
    if tasks is None or tasks.filter(status=TaskResultStatus.READY).exists():
        return None
    started = (
        tasks.filter(status=TaskResultStatus.RUNNING)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    if started is not None:
        # Its worker took the task and stopped before the build's first heartbeat.
        if started < now - build_timeout():
            return f"it took the build at {_moment(started)} and never started it"
        return None
    # No task at all: queued by a process that died (the command line), or lost.
    if training_file.updated_at < now - build_timeout():
        return f"nothing has built it since {_moment(training_file.updated_at)}"
    return None


def _attempt_tasks(training_file: TrainingFile, attempt: int):
    results = backend.task_results()
    if results is None:
        return None
    return results.filter(
        task_path=BUILD_TASK,
        args_kwargs__kwargs__training_file_id=str(training_file.pk),
        args_kwargs__kwargs__generation=training_file.build_generation,
        args_kwargs__kwargs__attempt=attempt,
    )


def _moment(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
