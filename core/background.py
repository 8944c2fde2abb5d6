"""Background work on the job engine (Procrastinate): deferring jobs, the workers seen
alive, and what a job knows of its own attempts.

Every job is deferred on Django's own database connection, inside the caller's
transaction: a run or a build and the jobs that will do its work are committed together
or not at all, from a web request and from a task alike (a worker's own connector works
outside Django's transactions, so a job deferred there before its caller commits could
start before the rows it works on exist).

Recovery is the engine's: workers beat every ``WORKER_HEARTBEAT_SECONDS``; the jobs of a
worker silent for ``WORKER_STALLED_SECONDS`` are retried by a periodic task
(``core.tasks.retry_stalled_jobs``); a job that raises is retried with backoff by its
task's retry strategy. A task only has to be safe to run again, and to give up (naming
why) after ``MAX_ATTEMPTS``.
"""

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from procrastinate import JobContext, RetryStrategy, manager
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.contrib.django.models import ProcrastinateJob, ProcrastinateWorker
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import JobDeferrer

# Tries of one job in all (the first run, retries after an error, and re-runs after its
# worker stopped), after which its work is recorded as failed with the reason.
MAX_ATTEMPTS = 5

# For tasks whose errors are worth another try (a lost database connection, a storage
# hiccup): 2 s, 4 s, 8 s, 16 s.
RETRY = RetryStrategy(max_attempts=MAX_ATTEMPTS - 1, exponential_wait=2)

_jobs_in_transaction = manager.JobManager(DjangoConnector())


def defer(
    task, *, queueing_lock: str | None = None, in_seconds: float = 0, **task_kwargs: Any
) -> int | None:
    """Defer a job of ``task`` (a Procrastinate task) with JSON-safe keyword arguments,
    in the current transaction, to run ``in_seconds`` from now; returns the job's id. With
    a ``queueing_lock`` that a waiting job holds already, nothing is deferred (None)."""
    schedule = {"schedule_in": {"seconds": in_seconds}} if in_seconds > 0 else {}
    job = task.configure(queueing_lock=queueing_lock, **schedule).job
    deferrer = JobDeferrer(job_manager=_jobs_in_transaction, job=job)
    if job.queueing_lock is None:
        return deferrer.defer(**task_kwargs)
    try:
        # A savepoint: the refused INSERT must not doom the caller's transaction.
        with transaction.atomic():
            return deferrer.defer(**task_kwargs)
    except AlreadyEnqueued:
        return None


def defer_now(task, *, queueing_lock: str, **task_kwargs: Any) -> int | None:
    """``defer`` to run at once, even when a job holding ``queueing_lock`` waits for a
    later time: that one is cancelled through the engine (only while it still waits;
    one that a worker took meanwhile runs as it is) and the new one takes the lock. The
    insert wakes the listening workers at once. In the current transaction; returns the
    new job's id, or None when a job due already holds the lock (it runs soon enough)."""
    later = ProcrastinateJob.objects.filter(
        queueing_lock=queueing_lock, status="todo", scheduled_at__gt=timezone.now()
    ).values_list("id", flat=True)
    for job_id in later:
        _jobs_in_transaction.cancel_job_by_id(job_id, delete_job=True)
    return defer(task, queueing_lock=queueing_lock, **task_kwargs)


def defer_many(task, kwargs: list[dict[str, Any]]) -> list[int]:
    """Defer one job of ``task`` per entry of ``kwargs``, in one statement, in the current
    transaction; returns their ids."""
    if not kwargs:
        return []
    job = task.configure().job
    return JobDeferrer(job_manager=_jobs_in_transaction, job=job).batch_defer(*kwargs)


def worker_timeout() -> timedelta:
    """How long a worker may go without beating before it counts as gone."""
    return timedelta(seconds=settings.WORKER_STALLED_SECONDS)


def live_workers(now=None) -> int:
    """Workers that beat within ``worker_timeout()``."""
    now = now or timezone.now()
    return ProcrastinateWorker.objects.filter(last_heartbeat__gte=now - worker_timeout()).count()


def waiting_jobs(task_name: str, **kwargs: str) -> int:
    """Jobs of ``task_name`` whose arguments include ``kwargs`` that are queued or
    running."""
    return ProcrastinateJob.objects.filter(
        task_name=task_name,
        status__in=["todo", "doing"],
        **{f"args__{key}": value for key, value in kwargs.items()},
    ).count()


def queued_jobs(task_name: str, **kwargs: str) -> int:
    """Jobs of ``task_name`` whose arguments include ``kwargs`` that wait to run (queued,
    not running)."""
    return ProcrastinateJob.objects.filter(
        task_name=task_name,
        status="todo",
        **{f"args__{key}": value for key, value in kwargs.items()},
    ).count()


def others_queued(task_name: str, **kwargs: str) -> bool:
    """Whether jobs of ``task_name`` whose arguments do not include ``kwargs`` wait to run
    (another's work waits)."""
    return (
        ProcrastinateJob.objects.filter(task_name=task_name, status="todo")
        .exclude(**{f"args__{key}": value for key, value in kwargs.items()})
        .exists()
    )


def attempt(context: JobContext) -> int:
    """Which try of its job this is: 0 for the first."""
    return context.job.attempts


def gives_up(context: JobContext) -> bool:
    """True on the try after which an error is not tried again."""
    return context.job.attempts >= MAX_ATTEMPTS - 1


def exhausted(context: JobContext) -> bool:
    """True once the job has been tried ``MAX_ATTEMPTS`` times already: its workers kept
    stopping while running it (each such stop makes the engine run it again). The task
    records why its work failed instead of trying once more."""
    return context.job.attempts >= MAX_ATTEMPTS


def attempt_token(context: JobContext, number: int | None = None) -> uuid.UUID:
    """A claim token of one try of this job (by default the current one): what a try
    holds can be found again by the next try and given back."""
    number = context.job.attempts if number is None else number
    return uuid.uuid5(uuid.NAMESPACE_URL, f"procrastinate-job:{context.job.id}:{number}")


def earlier_tokens(context: JobContext) -> list[uuid.UUID]:
    """The claim tokens of this job's earlier tries (none on the first)."""
    return [attempt_token(context, number) for number in range(context.job.attempts)]
