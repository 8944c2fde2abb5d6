"""Background jobs in tests: what is queued, and running it in this process.

``run_jobs`` does what a worker does with each job (the engine's own fetch, the task, the
engine's own finish), but in this process and inside the test's transaction, so that tests
that need no real worker process stay fast. Tests of the workers themselves start real
ones (``tests.workers``).
"""

import json
import time

import pytest
from asgiref.sync import async_to_sync
from procrastinate import JobContext, manager
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.jobs import Status


def queued(task_suffix: str = "", **kwargs):
    """Jobs waiting to run, of the task whose name ends with ``task_suffix``, whose
    arguments include ``kwargs``."""
    return ProcrastinateJob.objects.filter(
        status="todo",
        task_name__endswith=task_suffix,
        **{f"args__{key}": value for key, value in kwargs.items()},
    ).order_by("id")


def run_jobs(*, limit: int = 1000) -> list[str]:
    """Run the queued jobs, and those they queue, until none is left; returns the names
    of the tasks run, in order. An error of a task is raised, its job recorded as failed."""
    jobs = manager.JobManager(DjangoConnector())
    worker_id = async_to_sync(jobs.register_worker)()
    ran: list[str] = []
    try:
        while len(ran) < limit:
            job = async_to_sync(jobs.fetch_job)(queues=None, worker_id=worker_id)
            if job is None:
                break
            task = app.tasks[job.task_name]
            if isinstance(job.task_kwargs, str):
                # Read on Django's connection, which leaves JSON undecoded.
                job = job.evolve(task_kwargs=json.loads(job.task_kwargs))
            context = JobContext(
                app=app,
                worker_name="tests",
                job=job,
                start_timestamp=time.time(),
                abort_reason=lambda: None,
            )
            try:
                task(*([context] if task.pass_context else []), **job.task_kwargs)
            except Exception:
                async_to_sync(jobs.finish_job)(job=job, status=Status.FAILED, delete_job=False)
                raise
            async_to_sync(jobs.finish_job)(job=job, status=Status.SUCCEEDED, delete_job=True)
            ran.append(job.task_name)
    finally:
        async_to_sync(jobs.unregister_worker)(worker_id)
    return ran


@pytest.fixture
def beating_worker(db):
    """A worker that beats (registered the way a starting worker registers), so that
    pages and the API see one running; unregistered afterwards."""
    jobs = manager.JobManager(DjangoConnector())
    worker_id = async_to_sync(jobs.register_worker)()
    yield worker_id
    async_to_sync(jobs.unregister_worker)(worker_id)
