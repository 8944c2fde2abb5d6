"""Real servers for the tests, as separate processes on 127.0.0.1 ports the OS picks:
moto's standalone S3 server, and the web app under bin/serve (gunicorn, production mode).
"""

import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from devtools.workers import current_database_url

ROOT = Path(settings.BASE_DIR)
# What a production process needs and a test may change; the suite's own variables
# (tests.settings, its key, DJANGO_HTTPS=false) are not passed on unless a test says so.
OWN_PREFIXES = ("DJANGO_", "DATABASE", "FILE_STORAGE", "AWS_", "MEDIA_ROOT", "STATIC_ROOT")
SECRET_KEY = "production-mode-tests-" + "s" * 50
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_S3_REGION_NAME": "us-east-1",
}


class Server:
    """A subprocess that announces its URL in its log; stopped with ``stop()``."""

    def __init__(
        self, command: list[str], *, env: dict, log: Path, announce: str, wait: bool = True
    ) -> None:
        self.log = log
        self.announce = re.compile(announce)
        self._log_handle = open(log, "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log_handle, stderr=subprocess.STDOUT
        )
        self.url = self.wait() if wait else None

    def wait(self) -> str:
        """Block until the process announced itself; return what it announced (its URL)."""
        self.url = self._wait_for(self.announce)
        return self.url

    def _wait_for(self, pattern: re.Pattern, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pattern.search(self.log.read_text())
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.log.name} exited:\n{self.log.read_text()}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.log.name} did not start in {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._log_handle.close()


def start_s3_server(log: Path) -> Server:
    """moto's standalone server: it speaks the S3 protocol, keeping objects in memory."""
    return Server(
        [str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", "0"],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        log=log,
        announce=r"Running on (http://127\.0\.0\.1:\d+)",
    )


def s3_env(endpoint_url: str, bucket: str) -> dict[str, str]:
    return {
        "FILE_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": endpoint_url,
        **S3_CREDENTIALS,
    }


def production_env(*, media_root: Path, static_root: Path, **extra: str) -> dict[str, str]:
    """The environment of a production process on this test's database: debug off, a
    secret key, and nothing else of ours unless ``extra`` adds it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": current_database_url(),
        "MEDIA_ROOT": str(media_root),
        "STATIC_ROOT": str(static_root),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def start_web(env: dict[str, str], log: Path) -> Server:
    """bin/serve on a port the OS picks; returns once the app answers /healthz."""
    server = Server(
        [str(ROOT / "bin" / "serve")],
        env={"BIND": "127.0.0.1:0", "WEB_CONCURRENCY": "2", **env},
        log=log,
        announce=r"Listening at: (http://127\.0\.0\.1:\d+)",
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=10):
                return server
        except urllib.error.HTTPError:
            return server  # the app answered (503: a test may want a broken dependency)
        except OSError:
            if time.monotonic() > deadline or server.process.poll() is not None:
                server.stop()
                raise RuntimeError(f"bin/serve did not answer:\n{log.read_text()}") from None
            time.sleep(0.1)


class Bucket:
    def __init__(self, name: str, client, endpoint_url: str) -> None:
        self.name = name
        self.client = client
        self.endpoint_url = endpoint_url

    def keys(self) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", ()))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()


def files_under(folder: Path) -> list[str]:
    """Every file below ``folder`` (none when it does not exist)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


class _QuickPBKDF2(PBKDF2PasswordHasher):
    iterations = 1000


def give_password(user, password: str = "password") -> None:
    """A password the production process checks (it knows none of the suite's fast
    hashers): PBKDF2 with few rounds, which Django verifies and upgrades on login."""
    user.password = _QuickPBKDF2().encode(password, _QuickPBKDF2().salt())
    user.save(update_fields=["password"])


def start_fake_anthropic(log: Path, *, api_key: str | None = None) -> Server:
    """Our fake provider (devtools/fake_anthropic) as a process; the SDK reaches it through
    ANTHROPIC_BASE_URL = ``server.url``."""
    command = [str(ROOT / ".venv" / "bin" / "python"), "-m", "devtools.fake_anthropic"]
    return Server(
        [*command, "--port", "0", *(["--api-key", api_key] if api_key else [])],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        log=log,
        announce=r"listening on (http://127\.0\.0\.1:\d+)",
    )


class FakeAnthropic:
    """Talks to the fake provider's control endpoints (``/_fake/...``)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        import json

        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        self._call("POST", "/_fake/reset", {})

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after=None,
        path: str | None = None,
        method: str | None = None,
        after: bool = False,
    ):
        """The next ``times`` calls answer ``status``; ``after``: once they were done."""
        body = {"status": status, "times": times, "retry_after": retry_after, "path": path,
                "method": method, "after": after or None}  # fmt: skip
        self._call("POST", "/_fake/fail", {k: v for k, v in body.items() if v is not None})

    def configure(self, **options) -> None:
        self._call("POST", "/_fake/config", options)

    def release(self) -> None:
        """Held create calls get their answers; no more are held."""
        self._call("POST", "/_fake/release", {})

    def requests(self) -> list[dict]:
        return self._call("GET", "/_fake/requests")["requests"]

    def batches(self) -> list[dict]:
        return self._call("GET", "/_fake/batches")["batches"]

    def messages(self) -> dict:
        """``{"in_flight", "max_in_flight", "calls"}`` of the ``/v1/messages`` calls."""
        return self._call("GET", "/_fake/messages")

    def end(self, batch_id: str) -> dict:
        return self._call("POST", f"/_fake/batches/{batch_id}/end", {})
