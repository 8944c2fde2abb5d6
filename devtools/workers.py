"""Starting background workers from Python (the benchmarks, the worker tests), and reading
what processes cost (peak memory, CPU time) for the benchmarks."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection


def current_database_url() -> str:
    """The URL of the database this process is connected to (a test database included)."""
    db = connection.settings_dict
    host = quote(db["HOST"] or "127.0.0.1", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{db['USER']}@{host}{port}/{db['NAME']}"


def start_worker(
    name: str, *, env: dict | None = None, log: Path | None = None, supervised: bool = False
):
    """A worker process on every queue (``manage.py procrastinate worker``, what
    bin/worker runs; ``supervised``: bin/worker itself, which restarts it), on this
    process's database and files. Its log goes to ``log``."""
    environment = {
        **os.environ,
        "DATABASE_URL": current_database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    output = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (the child owns it)
    command = (
        ["bin/worker", "--name", name]
        if supervised
        else [sys.executable, "manage.py", "procrastinate", "worker", "--name", name]
    )
    return subprocess.Popen(
        command,
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=output,
        stderr=subprocess.STDOUT,
    )


def peak_rss_kb(pid: int) -> int:
    """The process's peak resident memory so far (the kernel's VmHWM), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process (all its threads) so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sample_database_cpu(seen: dict[int, float]) -> None:
    """CPU seconds of every PostgreSQL backend serving this database but us, by pid (the
    server runs on this machine); called while work goes on, it catches every backend."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    for pid in pids:
        seen[pid] = max(seen.get(pid, 0.0), cpu_seconds(pid))
