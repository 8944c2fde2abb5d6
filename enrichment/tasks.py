"""Background tasks (django.tasks): thin wrappers that fetch by id and call a service."""

import uuid

from django.tasks import task

from . import runs


@task()
def enrichment_run_lane(*, run_id: str) -> str:
    with runs.StopSignal() as stop:
        return runs.process_run(uuid.UUID(run_id), stop=stop)


@task()
def enrichment_run_watchdog(*, run_id: str) -> bool:
    return runs.watch_run(uuid.UUID(run_id))
