"""What runs (and other background work that must notice a dead worker) need of the task
backend beyond ``django.tasks``.

With django-tasks-db (the default), task results live in our database: a lane's task
whose worker was killed would show as running forever, and the watchdog needs to know
whether lane tasks are still waiting for a worker. Other backends track their own
workers; there these record nothing and answer ``None`` (unknown).
"""

from django.apps import apps
from django.db.models import QuerySet
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, TaskResultStatus, task_backends
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
