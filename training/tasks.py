"""Background tasks (django.tasks): thin wrappers that fetch by id and call a service, and
the enqueueing of them."""

import logging
import uuid

from django.tasks import task
from django.utils import timezone

from enrichment.runs import backend

from .builds import RESTARTED, record_build_failure, run_build
from .models import TrainingFile, TrainingFileStatus, build_timeout
from .recovery import watch_build, watch_every

logger = logging.getLogger("training.tasks")


@task()
def build_training_file(*, training_file_id: str, generation: int, attempt: int = 1) -> str:
    outcome = run_build(uuid.UUID(training_file_id), generation, attempt=attempt)
    if outcome == RESTARTED:
        # This attempt lost its database; the next one goes to whichever worker is free.
        enqueue_attempt(training_file_id, generation, attempt + 1)
    return outcome


@task()
def watch_training_build(*, training_file_id: str, generation: int) -> str:
    verdict = watch_build(uuid.UUID(training_file_id), generation)
    if verdict.keep_watching:
        _enqueue_watchdog(training_file_id, generation)
    if verdict.restart is not None:
        enqueue_attempt(training_file_id, generation, verdict.restart)
        return f"restarted as attempt {verdict.restart}"
    return "watching" if verdict.keep_watching else "done"


def enqueue_attempt(training_file_id: str, generation: int, attempt: int) -> None:
    build_training_file.enqueue(
        training_file_id=training_file_id, generation=generation, attempt=attempt
    )


def _enqueue_watchdog(training_file_id: str, generation: int) -> None:
    backend.enqueue_watchdog(
        watch_training_build,
        TrainingFile.objects.filter(pk=training_file_id),
        {"training_file_id": training_file_id, "generation": generation},
        run_after=timezone.now() + watch_every(),
    )


def enqueue_build(training_file_id: uuid.UUID, generation: int, *, build: bool = True) -> None:
    """Queue the build task (``build=False``: the caller builds it) and its watchdog, after
    the commit. A failure to queue is recorded, so the file never looks as if it were
    being built when nothing will build it."""
    try:
        _enqueue_watchdog(str(training_file_id), generation)
        if build:
            enqueue_attempt(str(training_file_id), generation, 1)
    except Exception:
        logger.exception("Could not queue the build of training file %s", training_file_id)
        if build:
            record_build_failure(
                training_file_id, generation, "The build could not be queued; rebuild to try again."
            )


def rearm_build_watchdogs(**signal_kwargs) -> int:
    """A watchdog for every build that has none: one whose watchdog's worker was killed
    during a check, or queued before builds had watchdogs. It restarts the build if no
    attempt is alive."""
    rearmed = backend.rearm(
        watch_training_build,
        TrainingFile.objects.filter(status=TrainingFileStatus.PROCESSING),
        lambda file: {"training_file_id": str(file.pk), "generation": file.build_generation},
        every=watch_every(),
        dead_after=build_timeout(),
    )
    if rearmed:
        logger.warning("Re-armed the watchdog of %d training-file build(s)", rearmed)
    return rearmed
