"""Background tasks (django.tasks): thin wrappers that fetch by id and call a service, and
the enqueueing of them."""

import logging
import uuid

from django.tasks import task

from .builds import record_build_failure, run_build

logger = logging.getLogger("training.tasks")


@task()
def build_training_file(*, training_file_id: str, generation: int) -> str:
    return run_build(uuid.UUID(training_file_id), generation)


def enqueue_build(training_file_id: uuid.UUID, generation: int) -> None:
    """Queue the build task (after the commit). A failure to queue is recorded, so the
    file never looks as if it were being built when nothing will build it."""
    try:
        build_training_file.enqueue(training_file_id=str(training_file_id), generation=generation)
    except Exception:
        logger.exception("Could not queue the build of training file %s", training_file_id)
        record_build_failure(
            training_file_id, generation, "The build could not be queued; rebuild to try again."
        )
