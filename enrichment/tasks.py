"""Background jobs of enrichment (Procrastinate): thin wrappers that call a service by id,
and the deferring of them."""

import math
import uuid

from django.conf import settings
from procrastinate import JobContext
from procrastinate.contrib.django import app

from core.background import (
    RETRY,
    attempt_token,
    defer,
    defer_many,
    earlier_tokens,
    exhausted,
    gives_up,
)
from enrichment.runs.lanes import MORE, fail_run, give_back, process_chunk


@app.task(pass_context=True, retry=RETRY)
def enrich_run_lane(context: JobContext, *, run_id: str) -> str:
    """One chunk of a run's lane; the lane's next job is queued once it is recorded."""
    run = uuid.UUID(run_id)
    token = attempt_token(context)
    if exhausted(context):
        # Its workers kept dying on it (each death makes the engine run it again).
        give_back(run, earlier_tokens(context))
        fail_run(run, f"Its worker stopped {context.job.attempts} times while working on it.")
        return "failed"
    try:
        stopped = process_chunk(run, token=token, earlier=earlier_tokens(context))
    except Exception as error:
        if gives_up(context):
            fail_run(run, f"{error.__class__.__name__}: {error}")
        raise
    if stopped == MORE:
        defer(enrich_run_lane, run_id=run_id)
    return stopped


def enqueue_run(run_id: uuid.UUID, total: int, *, lanes: int | None = None) -> None:
    """Queue the run's lanes, in the current transaction: the run and its jobs are
    committed together or not at all. No more lanes than chunks."""
    wanted = lanes or settings.ENRICHMENT_RUN_LANES
    count = max(1, min(wanted, math.ceil(total / settings.ENRICHMENT_RUN_CHUNK_SIZE)))
    defer_many(enrich_run_lane, [{"run_id": str(run_id)}] * count)
