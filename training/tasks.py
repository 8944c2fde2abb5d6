"""Background jobs of training files (Procrastinate): a thin wrapper that fetches by id and
calls the build service, and the deferring of it."""

import uuid

from procrastinate import JobContext
from procrastinate.contrib.django import app

from core.background import RETRY, defer, exhausted, gives_up

from .builds import record_build_failure, run_build


@app.task(pass_context=True, retry=RETRY)
def build_training_file(context: JobContext, *, training_file_id: str, generation: int) -> str:
    training_file = uuid.UUID(training_file_id)
    if exhausted(context):
        record_build_failure(
            training_file,
            generation,
            f"The worker building this file stopped {context.job.attempts} times while "
            "building it. Rebuild to try again.",
        )
        return "failed"
    try:
        return run_build(training_file, generation)
    except Exception as error:
        if gives_up(context):
            record_build_failure(
                training_file,
                generation,
                f"The build stopped unexpectedly ({error.__class__.__name__}: {error}), "
                f"{context.job.attempts + 1} times. Rebuild to try again.",
            )
        raise


def enqueue_build(training_file_id: uuid.UUID, generation: int) -> None:
    """Queue the build of ``generation``, in the current transaction (the file row and the
    job are committed together)."""
    defer(build_training_file, training_file_id=str(training_file_id), generation=generation)
