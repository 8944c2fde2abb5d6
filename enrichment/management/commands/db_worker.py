"""``manage.py db_worker``: django-tasks-db's worker, made to outlive its database.

django-tasks-db's own worker exits on the first database error it does not expect (the
server restarted, the network dropped, a failover), nothing restarts it, and the task it
was running stays "running". This is the same worker with the same options, except that
a lost database closes the connections and waits for it to answer again, retrying after
1 s, 2 s, 4 s … up to ``MAX_DELAY`` (with jitter, so a fleet of workers does not come
back at once); then it records the interrupted task as failed and goes on. A stop signal
ends the wait at once. When it starts it sends ``worker_started``, on which runs and
training-file builds left without a watchdog get one again.

It replaces the library's command because ``enrichment`` comes before ``django_tasks_db``
in ``INSTALLED_APPS``.
"""

import contextlib
import logging
import os
import random
import time

from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, connection, connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker

from enrichment.runs.backend import worker_started

logger = logging.getLogger("django_tasks_db")

DATABASE_LOST = (OperationalError, InterfaceError)
FIRST_DELAY = 1.0
MAX_DELAY = 30.0


class DatabaseLost(Exception):
    """The database went away while the task ran; its result could not be recorded."""


class Worker(db_worker.Worker):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.interrupted = None  # the task whose result could not be recorded
        self.announced = False  # worker_started was sent

    def run(self) -> None:
        while True:
            try:
                self.record_interrupted()
                self.announce()
                return super().run()
            except DATABASE_LOST as error:
                if not self.running:
                    raise
                logger.warning("Worker %s lost the database: %s", self.worker_id, error)
                self.wait_for_database()
                # What an outage interrupted (a watchdog's next check, say) is re-armed.
                self.announced = False

    def announce(self) -> None:
        """Send ``worker_started`` once (again after a lost database, if it was lost
        then): what a killed worker left unwatched is looked after again."""
        if self.announced:
            return
        responses = worker_started.send_robust(sender=type(self), worker_id=self.worker_id)
        for receiver, outcome in responses:
            if isinstance(outcome, DATABASE_LOST):
                raise outcome  # waited out like any other loss, then sent again
            if isinstance(outcome, Exception):
                logger.error(
                    "Worker %s: %s failed at start-up",
                    self.worker_id,
                    getattr(receiver, "__qualname__", receiver),
                    exc_info=outcome,
                )
        self.announced = True

    def run_task(self, db_task_result) -> None:
        try:
            super().run_task(db_task_result)
        except DATABASE_LOST:
            self.interrupted = db_task_result
            raise

    def wait_for_database(self) -> None:
        delay = FIRST_DELAY
        while self.running:
            _close_connections()
            pause = delay * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not secrets)
            logger.warning("Worker %s retries the database in %.1f s", self.worker_id, pause)
            time.sleep(pause)
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
            except DATABASE_LOST as error:
                logger.warning("The database is still unavailable: %s", error)
                delay = min(delay * 2, MAX_DELAY)
            else:
                logger.warning("Worker %s has the database back", self.worker_id)
                return

    def record_interrupted(self) -> None:
        task_result, self.interrupted = self.interrupted, None
        if task_result is not None:
            task_result.set_failed(
                DatabaseLost("The database went away while this task ran; it was not finished.")
            )


def _close_connections() -> None:
    for alias in connections:
        with contextlib.suppress(*DATABASE_LOST):  # already broken: nothing left to close
            connections[alias].close()


class Command(db_worker.Command):
    help = "Run a database background worker that waits out database outages"

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options,
    ) -> None:
        # As django-tasks-db's command, with the worker above.
        self.configure_logging(verbosity)
        if reload and batch:
            logger.warning("--reload and --batch cannot be specified together; not reloading.")
            reload = False
        queue_names = queue_name.split(",")
        excluded_queue_names = exclude_queues.split(",") if exclude_queues else []
        if excluded_queue_names and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = Worker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded_queue_names,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
