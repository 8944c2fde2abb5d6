"""`bin/demo` as a person runs it: it serves the demo with a worker, prints each log line
once, and a TERM signal stops it and everything it started."""

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

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


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


def test_bin_demo_logs_each_line_once_and_stops_on_term(tmp_path):
    port = free_port()
    database = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    env = {
        **os.environ,
        "DATABASE_URL": database,
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
            env=env,
            check=True,
            capture_output=True,
        )
        wait_until(lambda: "state=SUCCESSFUL" in log.read_text(), timeout=60, what="the worker")
        assert len(processes_with(database)) >= 2

        demo.send_signal(signal.SIGTERM)
        code = demo.wait(timeout=20)
    finally:
        if demo.poll() is None:
            demo.kill()

    # Each line's message, without the log format's time, level, logger and request id.
    prefix = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \w+ \S+ \[[^\]]*\] ")
    lines = [prefix.sub("", line) for line in log.read_text().splitlines()]
    assert code == 0
    assert lines.count("Not Found: /no-such-page") == 1
    task_lines = [line for line in lines if line.startswith("Task id=")]
    assert task_lines
    assert len(task_lines) == len(set(task_lines))
    assert len([line for line in lines if line.startswith("Starting worker ")]) == 1
    wait_until(lambda: not processes_with(database), timeout=10, what="every process to stop")
    assert status_of(f"{base}/accounts/login/") is None
