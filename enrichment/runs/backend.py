"""What runs (and other background work that must notice a dead worker) need of the task
backend beyond ``django.tasks``.

With django-tasks-db (the default), task results live in our database: a lane's task
whose worker was killed would show as running forever, and the watchdog needs to know
whether lane tasks are still waiting for a worker. Other backends track their own
workers; there these record nothing and answer ``None`` (unknown).
"""

from collections.abc import Callable
from datetime import timedelta

from django.apps import apps
from django.db import transaction
from django.db.models import Model, Q, QuerySet
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


def rearm(
    task: Task,
    candidates: QuerySet,
    kwargs_of: Callable[[Model], dict],
    *,
    dead_after: timedelta,
) -> int:
    """Enqueue ``task`` (to run now) for each row of ``candidates`` that has no such task
    waiting or running; return how many. A task running for longer than ``dead_after``
    was lost with its worker. Each row is locked while it is looked at, so workers that
    start together queue one task per row, not one each."""
    results = task_results()
    if results is None:
        return 0
    rearmed = 0
    for pk in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            row = candidates.select_for_update().filter(pk=pk).first()
            if row is None:  # finished meanwhile
                continue
            kwargs = kwargs_of(row)
            live = results.filter(
                Q(status=TaskResultStatus.READY)
                | Q(status=TaskResultStatus.RUNNING, started_at__gte=timezone.now() - dead_after),
                task_path=task.module_path,
                **{f"args_kwargs__kwargs__{key}": value for key, value in kwargs.items()},
            )
            if not live.exists():
                task.enqueue(**kwargs)
                rearmed += 1
    return rearmed
