"""Starting `manage.py db_worker` processes from Python (the benchmark, the worker tests)."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection


def current_database_url() -> str:
    """The URL of the database this process is connected to (a test database included)."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        host = db["HOST"] or "127.0.0.1"
        return f"postgres://{db['USER']}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


def start_db_worker(worker_id: str, *, env: dict | None = None, log: Path | None = None):
    """A `db_worker` on every queue, on this process's database and files."""
    environment = {
        **os.environ,
        "DATABASE_URL": current_database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    output = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (the child owns it)
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--queue-name",
            "*",
            "--interval",
            "0.1",
            "--no-startup-delay",
            "--worker-id",
            worker_id,
        ],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
