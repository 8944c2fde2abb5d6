"""Builds of a training file: one queued for a worker (``run_build``, the job's body) or
one in the caller's transaction (``build_now``), recorded on the row only while the
generation they started from is current; and why a build failed.

A queued build may be run more than once (its worker died, or it lost the database and
the engine tries it again): each run writes to a storage folder of its own and records
its files only while its generation is still the one being built, so the first to finish
wins and the others delete what they stored. Readers get the previous files until then.
"""

import logging
import uuid
from collections.abc import Callable
from functools import partial

from django.db import transaction
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
from .models import TrainingFile, TrainingFileStatus

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
SUPERSEDED = "superseded"  # the members changed, the build was done already, or deleted


def run_build(
    training_file_id: uuid.UUID,
    generation: int,
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> str:
    """Build a queued generation (the job's body). Returns ``active``, ``failed`` or
    ``SUPERSEDED``. A lost database connection is raised (the engine tries again)."""
    current = TrainingFile.objects.filter(
        pk=training_file_id, build_generation=generation, status=TrainingFileStatus.PROCESSING
    )
    training_file = current.first()
    if training_file is None:
        return SUPERSEDED
    now = timezone.now()
    current.update(build_started_at=now, build_done=0, updated_at=now)
    total = training_file.build_total

    def progress(done: int) -> None:
        now = timezone.now()
        if not current.update(build_done=min(done, total), updated_at=now):
            raise Superseded
        if on_progress:
            on_progress(done, total)

    try:
        built = build_files(training_file, built_at=now, on_progress=progress)
    except Superseded:
        return SUPERSEDED
    except BuildError as exc:
        record_build_failure(training_file_id, generation, str(exc))
        return "failed"
    with transaction.atomic():
        training_file = current.select_for_update().first()
        if training_file is not None:
            record_files(training_file, built)
    if training_file is None:
        delete_folder(built.folder)
        return SUPERSEDED
    return "active"


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
    training_file.splits = built.splits
    training_file.conversation_count = summary.conversations
    training_file.total_training_pairs = summary.training_pairs
    training_file.avg_quality_score = summary.avg_quality_score
    training_file.min_quality_score = summary.min_quality_score
    training_file.max_quality_score = summary.max_quality_score
    training_file.human_reviewed_count = summary.human_reviewed
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
