"""`bin/demo` as a person runs it on a machine without a database server: it starts a
PostgreSQL server of its own, serves the demo with a worker, prints each log line once, and
a TERM signal stops it and everything it started, the database server included."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from devtools.embedded_postgres import database_url

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_of(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def processes_with(marker: str) -> list[int]:
    """Our processes whose environment carries ``marker`` (the demo's own database)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def wait_until(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_bin_demo_runs_on_its_own_database_and_stops_everything_on_term(tmp_path):
    port = free_port()
    pgdata = tmp_path / "pg"
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "EMBEDDED_PGDATA": str(pgdata),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "demo.log"
    with log.open("w") as output:
        demo = subprocess.Popen(
            ["bin/demo"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: status_of(f"{base}/accounts/login/") == 200, timeout=120, what="the server"
        )
        assert status_of(f"{base}/no-such-page") == 404
        database = database_url(pgdata)
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "enrich",
                "--status",
                "not_started",
                "--background",
                "--detach",
            ],
            cwd=ROOT,
            env={**env, "DATABASE_URL": database},
            check=True,
            capture_output=True,
        )
        wait_until(lambda: runs_finished(pgdata), timeout=60, what="the worker to finish the run")
        assert len(processes_with(str(pgdata))) >= 3  # the server, the worker, runserver

        # Generation works offline: the demo's worker sends a job to the demo provider,
        # takes its answers in and enriches them.
        provider = re.search(r"demo provider at (http://127\.0\.0\.1:\d+)", log.read_text())
        assert provider, log.read_text()
        generated = subprocess.run(
            [sys.executable, "manage.py", "generate", "--persona", "gig_juggler"]
            + ["--arc", "dread_to_relief", "--topic", "irregular_income_budgeting"]
            + ["--repeat", "2", "--owner", "demo", "--name", "Offline generation"],
            cwd=ROOT,
            env={
                **env,
                "DATABASE_URL": database,
                "ANTHROPIC_API_KEY": "demo-provider",
                "ANTHROPIC_BASE_URL": provider.group(1),
            },
            capture_output=True,
            text=True,
        )
        assert generated.returncode == 0, generated.stderr
        wait_until(
            lambda: generation_enriched(pgdata, "Offline generation") == 2,
            timeout=90,
            what="the demo's worker to generate and enrich two conversations",
        )

        demo.send_signal(signal.SIGTERM)
        code = demo.wait(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()

    # Each line's message, without the log format's time, level, logger and request id.
    prefix = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \w+ \S+ \[[^\]]*\] ")
    lines = [prefix.sub("", line) for line in log.read_text().splitlines()]
    assert code == 0
    assert f"Using the project's own PostgreSQL server ({pgdata})." in lines
    # One line for the request, and the address it serves on (not "run runserver").
    assert sum('"GET /no-such-page" 404' in line for line in lines) == 1
    assert "Not Found: /no-such-page" not in lines
    assert f"Demo ready, served at http://127.0.0.1:{port}/" in lines
    assert not any("runserver" in line for line in lines)
    wait_until(lambda: not processes_with(str(pgdata)), timeout=20, what="every process to stop")
    assert not (pgdata / "postmaster.pid").exists()
    assert status_of(f"{base}/accounts/login/") is None


def runs_finished(pgdata: Path) -> bool:
    """The demo's background run is completed (read straight from its database)."""
    import psycopg

    with psycopg.connect(host=str(pgdata), user="postgres", dbname="enrichment") as db:
        statuses = [s for (s,) in db.execute("SELECT status FROM enrichment_runs")]
    return bool(statuses) and all(status == "completed" for status in statuses)


def generation_enriched(pgdata: Path, name: str) -> int:
    """Enriched conversations of the generation job ``name`` (straight from its database)."""
    import psycopg

    with psycopg.connect(host=str(pgdata), user="postgres", dbname="enrichment") as db:
        (count,) = db.execute(
            "SELECT count(*) FROM conversations c JOIN batch_items i ON i.conversation_id = c.id"
            " JOIN batch_jobs j ON j.id = i.batch_job_id"
            " WHERE j.name = %s AND c.enrichment_status = 'completed'",
            [name],
        ).fetchone()
    return count
