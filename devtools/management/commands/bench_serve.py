"""Benchmark of single-call latency through the production server (bin/serve, gunicorn,
debug off), with each way of holding PostgreSQL connections. Prints numbers; asserts
nothing.

Three servers run side by side on the same database and files, one gunicorn worker each:
a new connection per request (``CONN_MAX_AGE=0``, what the service did before), persistent
connections (``CONN_MAX_AGE=600``), and the pool (the default). Round by round, each server
in turn gets ``POST /api/conversations/<id>/enrich`` of a conversation imported just before
and then ``GET`` of its status, each over a new TCP connection as a client sends them.
Medians per call and their ratio to the connection-per-request server, measured in the
same run, are printed.
"""

import http.client
import os
import random
import statistics
import subprocess
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from core.tokens import create_token
from devtools.management.commands.bench_enrichment import Command as EnrichmentBench
from devtools.workers import current_database_url

VARIANTS = {
    "connection per request": {"DATABASE_POOL": "false", "DATABASE_CONN_MAX_AGE": "0"},
    "persistent connections": {"DATABASE_POOL": "false", "DATABASE_CONN_MAX_AGE": "600"},
    "pool (default)": {"DATABASE_POOL": "true"},
}
BASELINE = "connection per request"


class Server:
    def __init__(self, name: str, env: dict, log: Path) -> None:
        self.name = name
        self.log = log
        handle = open(log, "w")  # noqa: SIM115 (the child owns it)
        self.process = subprocess.Popen(
            [str(Path(settings.BASE_DIR) / "bin" / "serve")],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=handle,
            stderr=handle,
        )
        self.port = 0

    def wait(self) -> None:
        self.port = self._port()

    def _port(self) -> int:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for line in self.log.read_text().splitlines():
                if "Listening at: http://127.0.0.1:" in line:
                    return int(line.split("127.0.0.1:")[1].split()[0].rstrip('",)'))
            if self.process.poll() is not None:
                raise CommandError(f"bin/serve ({self.name}) exited:\n{self.log.read_text()}")
            time.sleep(0.05)
        raise CommandError(f"bin/serve ({self.name}) did not start:\n{self.log.read_text()}")

    def call(self, method: str, path: str, token: str) -> tuple[float, int]:
        started = time.perf_counter()
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            client.request(method, path, headers={"Authorization": f"Token {token}"})
            response = client.getresponse()
            response.read()
        finally:
            client.close()
        return time.perf_counter() - started, response.status

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class Command(BaseCommand):
    help = "Benchmark single-call latency through bin/serve with and without pooled connections."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--requests", type=int, default=200, help="calls per server")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, requests: int, seed: int, **options) -> None:
        data = EnrichmentBench()
        data.rng = random.Random(seed)
        user = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:8]}")
        token = create_token(user, name="test")[1]
        scratch = Path(settings.MEDIA_ROOT).parent
        servers: list[Server] = []
        try:
            data._scaffolding()
            conversations = data.seed(user, requests * len(VARIANTS) + 5 * len(VARIANTS))
            connection.close()
            env = {
                **os.environ,
                "DATABASE_URL": current_database_url(),
                "MEDIA_ROOT": str(settings.MEDIA_ROOT),
                "BIND": "127.0.0.1:0",
                "WEB_CONCURRENCY": "1",
                "DJANGO_HTTPS": "false",
                # The benchmark measures the work, not the throttle's refusals.
                "API_THROTTLE_USER": "off",
            }
            for n, (name, extra) in enumerate(VARIANTS.items()):
                static = {"STATIC_ROOT": str(scratch / f"static-{n}")}  # collected in parallel
                servers.append(Server(name, {**env, **extra, **static}, scratch / f"serve-{n}.log"))
            for server in servers:
                server.wait()
            self.stdout.write(
                f"database: postgresql; {requests} calls per server; one gunicorn worker each"
            )
            fresh = iter(conversations)
            for server in servers:  # the first calls of a process import and connect
                for _ in range(5):
                    pk = next(fresh).pk
                    server.call("POST", f"/api/conversations/{pk}/enrich", token)
            times: dict[str, dict[str, list[float]]] = {
                s.name: {"POST": [], "GET": []} for s in servers
            }
            for _ in range(requests):
                order = servers[:]
                data.rng.shuffle(order)
                for server in order:
                    path = f"/api/conversations/{next(fresh).pk}/enrich"
                    for method in ("POST", "GET"):
                        seconds, status = server.call(method, path, token)
                        if status != 200:
                            raise CommandError(f"{method} {path} on {server.name}: {status}")
                        times[server.name][method].append(seconds)
            self.report(times)
        finally:
            for server in servers:
                server.stop()
            data.cleanup(user)

    def report(self, times: dict[str, dict[str, list[float]]]) -> None:
        for method, label in (("POST", "POST …/enrich"), ("GET", "GET …/enrich (status)")):
            base = statistics.median(times[BASELINE][method])
            for name, calls in times.items():
                median = statistics.median(calls[method])
                self.stdout.write(
                    f"{label}, {name}: median {median * 1000:.2f} ms "
                    f"= {median / base:.2f}x of {BASELINE}"
                )
