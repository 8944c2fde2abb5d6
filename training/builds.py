"""Builds of a training file: one queued for a worker (``run_build``, the task's body)
or one in the caller's transaction (``build_now``), recorded on the row only while the
generation they started from is current; and why a build failed.

A queued build runs as numbered attempts of its generation: it beats (``build_heartbeat_at``,
with its progress) while it works, and records its files only while its attempt is still
the current one, so an attempt that was given up for dead (``recovery``) and turns out to
be alive records nothing.
"""

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from .files import (
    BuildError,
    BuiltFiles,
    Superseded,
    build_files,
    delete_earlier_builds,
    delete_files,
    delete_folder,
)
from .models import MAX_BUILD_ATTEMPTS, TrainingFile, TrainingFileStatus

logger = logging.getLogger("training.builds")


def build_now(training_file: TrainingFile) -> None:
    """Build and record in the caller's transaction (the row locked); raises
    ``BuildError`` with nothing stored."""
    built = build_files(training_file, built_at=timezone.now())
    try:
        record_files(training_file, built)
    except BaseException:
        delete_folder(built.folder)
        raise


# What ``run_build`` returns besides ``active`` and ``failed``.
SUPERSEDED = "superseded"  # the members changed, a newer attempt took over, or it was deleted
RESTARTED = "restarted"  # lost its database connection: the next attempt is to be queued


def run_build(
    training_file_id: uuid.UUID,
    generation: int,
    *,
    attempt: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> str:
    """Build a queued generation (the task's body) as ``attempt`` (None: the current
    one). Returns ``active``, ``failed``, ``SUPERSEDED`` or ``RESTARTED`` (the caller
    queues the next attempt)."""
    current = TrainingFile.objects.filter(
        pk=training_file_id, build_generation=generation, status=TrainingFileStatus.PROCESSING
    )
    if attempt is not None:
        current = current.filter(build_attempt=attempt)
    training_file = current.first()
    if training_file is None:
        return SUPERSEDED
    current = current.filter(build_attempt=training_file.build_attempt)
    now = timezone.now()
    if not current.update(
        build_started_at=now, build_heartbeat_at=now, build_done=0, updated_at=now
    ):
        return SUPERSEDED
    total = training_file.build_total

    def progress(done: int) -> None:
        now = timezone.now()
        if not current.update(build_done=min(done, total), build_heartbeat_at=now, updated_at=now):
            raise Superseded
        if on_progress:
            on_progress(done, total)

    try:
        built = build_files(training_file, built_at=timezone.now(), on_progress=progress)
    except Superseded:
        return SUPERSEDED
    except (OperationalError, InterfaceError):
        # The attempt cannot go on without its connection; the next one can start at once
        # instead of waiting for the watchdog to find this one silent.
        logger.exception("The build of training file %s lost its database", training_file_id)
        connection.close()
        return restart_attempt(
            training_file_id,
            generation,
            training_file.build_attempt,
            why="it lost its database connection",
        )
    except BuildError as exc:
        record_build_failure(training_file_id, generation, str(exc))
        return "failed"
    except Exception as exc:
        logger.exception("The build of training file %s failed", training_file_id)
        record_build_failure(training_file_id, generation, f"The build stopped unexpectedly: {exc}")
        return "failed"
    with transaction.atomic():
        training_file = current.select_for_update().first()
        if training_file is not None:
            record_files(training_file, built)
    if training_file is None:
        delete_folder(built.folder)
        return SUPERSEDED
    return "active"


def restart_attempt(
    training_file_id: uuid.UUID,
    generation: int,
    attempt: int,
    *,
    why: str,
    unless_beaten_since: datetime | None = None,
) -> str:
    """End ``attempt`` of the build (if it is still the current one, and has not beaten
    since ``unless_beaten_since``): make room for the next attempt (``RESTARTED``), or,
    after ``MAX_BUILD_ATTEMPTS``, mark the file failed with the reason (``failed``).
    ``why`` says how the worker was seen to stop."""
    now = timezone.now()
    attempt_rows = TrainingFile.objects.filter(
        pk=training_file_id,
        build_generation=generation,
        build_attempt=attempt,
        status=TrainingFileStatus.PROCESSING,
    )
    if unless_beaten_since is not None:
        # Conditional, so that a beat that came after the attempt was judged keeps it.
        attempt_rows = attempt_rows.filter(
            Q(build_heartbeat_at__isnull=True) | Q(build_heartbeat_at__lt=unless_beaten_since)
        )
    if attempt >= MAX_BUILD_ATTEMPTS:
        failed = attempt_rows.update(
            status=TrainingFileStatus.FAILED,
            error=(
                f"The worker building this file stopped ({why}); that was attempt {attempt} "
                f"of {MAX_BUILD_ATTEMPTS}. Rebuild to try again."
            ),
            updated_at=now,
        )
        return "failed" if failed else SUPERSEDED
    restarted = attempt_rows.update(
        build_attempt=attempt + 1,
        build_done=0,
        build_started_at=None,
        build_heartbeat_at=None,
        updated_at=now,
    )
    if restarted:
        logger.warning(
            "The worker building training file %s stopped (%s); attempt %d of %d follows",
            training_file_id,
            why,
            attempt + 1,
            MAX_BUILD_ATTEMPTS,
        )
    return RESTARTED if restarted else SUPERSEDED


def record_files(training_file: TrainingFile, built: BuiltFiles) -> None:
    """Point the row at the new files (the old ones are deleted after the commit)."""
    old_paths = training_file.stored_paths
    summary = built.summary
    training_file.json_file_path = built.paths["json"]
    training_file.jsonl_file_path = built.paths["jsonl"]
    training_file.chat_jsonl_file_path = built.paths["chat-jsonl"]
    training_file.json_file_size = built.sizes["json"]
    training_file.jsonl_file_size = built.sizes["jsonl"]
    training_file.chat_jsonl_file_size = built.sizes["chat-jsonl"]
    training_file.conversation_count = summary.conversations
    training_file.total_training_pairs = summary.training_pairs
    training_file.avg_quality_score = summary.avg_quality_score
    training_file.min_quality_score = summary.min_quality_score
    training_file.max_quality_score = summary.max_quality_score
    training_file.human_reviewed_count = 0
    training_file.scaffolding_distribution = summary.distribution()
    training_file.last_updated_at = built.built_at
    training_file.status = TrainingFileStatus.ACTIVE
    training_file.error = ""
    training_file.build_done = training_file.build_total = summary.conversations
    training_file.save()
    transaction.on_commit(partial(delete_files, old_paths))
    transaction.on_commit(partial(delete_earlier_builds, built.folder))


def record_build_failure(training_file_id: uuid.UUID, generation: int | None, reason: str) -> None:
    """The build of ``generation`` (any, if None) failed: say why, keep the old files."""
    rows = TrainingFile.objects.filter(pk=training_file_id)
    if generation is not None:
        rows = rows.filter(build_generation=generation)
    rows.exclude(status=TrainingFileStatus.ARCHIVED).update(
        status=TrainingFileStatus.FAILED, error=reason, updated_at=timezone.now()
    )
