"""What runs (and other background work that must notice a dead worker) need of the task
backend beyond ``django.tasks``.

With django-tasks-db (the default), task results live in our database: a lane's task
whose worker was killed would show as running forever, and the watchdog needs to know
whether lane tasks are still waiting for a worker. Other backends track their own
workers; there these record nothing and answer ``None`` (unknown).
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.dispatch import Signal
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, Task, TaskResultStatus, task_backends
from django.utils import timezone

LANE_TASK = "enrichment.tasks.enrichment_run_lane"
LOST_LANE_ERROR = "enrichment.runs.LaneLost"


def task_results() -> QuerySet | None:
    """django-tasks-db's task results, when it is the backend (None otherwise)."""
    if not apps.is_installed("django_tasks_db"):
        return None
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    if not isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend):
        return None

    return DBTaskResult.objects.all()


def record_lost(task_result_id: str, message: str, *, error: str = LOST_LANE_ERROR) -> bool:
    """Record a lost task (a lane's, unless ``error`` names another kind) as failed, if
    it is still shown as running."""
    results = task_results()
    if results is None or not task_result_id:
        return False
    return bool(
        results.filter(pk=task_result_id, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=timezone.now(),
            exception_class_path=error,
            traceback=message,
        )
    )


def waiting_lanes(run_id) -> int | None:
    """Lane tasks of the run enqueued and not started yet (None: the backend can't say)."""
    results = task_results()
    if results is None:
        return None
    return results.filter(
        status=TaskResultStatus.READY,
        task_path=LANE_TASK,
        args_kwargs__kwargs__run_id=str(run_id),
    ).count()


# Sent by ``db_worker`` when it starts, before it takes a task (kwargs: ``worker_id``).
# Receivers re-arm what a killed worker may have left without a watchdog (``rearm``).
worker_started = Signal()


def enqueue_watchdog(
    task: Task, row: QuerySet, kwargs: dict, *, run_after: datetime | None = None
) -> bool:
    """Queue the watchdog ``task`` with ``kwargs`` unless one is waiting already; False if
    one was, or if ``row`` (the run or file it watches) is gone. One at a time per
    watchdog (a lock of its own, not the row's: lanes and builds write that row), so that
    two of them (a watchdog queueing its next check, a worker that starts) never both
    queue one: a watchdog is one chain of tasks, and a second chain started by a race
    dies out at its next check."""
    results = task_results()
    with transaction.atomic():
        _exclusive(f"{task.module_path}:{sorted(kwargs.items())}")
        if not row.exists():
            return False
        if results is not None and _tasks(results, task, kwargs, TaskResultStatus.READY).exists():
            return False
        task.using(run_after=run_after).enqueue(**kwargs)
        return True


def rearm(
    task: Task,
    candidates: QuerySet,
    kwargs_of: Callable[[Model], dict],
    *,
    every: timedelta,
    dead_after: timedelta,
) -> int:
    """Queue the watchdog ``task`` for each row of ``candidates`` that has none waiting;
    return how many. It looks at once, unless a check of that row is running: then in
    ``every``, as that check's own next one would (the check may be a killed worker's,
    if it started less than ``dead_after`` ago)."""
    results = task_results()
    if results is None:
        return 0
    now = timezone.now()
    running = results.filter(
        status=TaskResultStatus.RUNNING,
        task_path=task.module_path,
        started_at__gte=now - dead_after,
    )
    checking = [args["kwargs"] for args in running.values_list("args_kwargs", flat=True)]
    rearmed = 0
    for row in candidates:
        kwargs = kwargs_of(row)
        run_after = now + every if kwargs in checking else None
        rearmed += enqueue_watchdog(task, candidates.filter(pk=row.pk), kwargs, run_after=run_after)
    return rearmed


def _exclusive(key: str) -> None:
    """Until the end of the transaction, the only one holding ``key`` (PostgreSQL; SQLite
    runs one writing transaction at a time anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])


def _tasks(results: QuerySet, task: Task, kwargs: dict, status: str) -> QuerySet:
    return results.filter(
        status=status,
        task_path=task.module_path,
        **{f"args_kwargs__kwargs__{key}": value for key, value in kwargs.items()},
    )
