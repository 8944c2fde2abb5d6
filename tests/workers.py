"""Real worker processes for tests (`manage.py procrastinate worker`, what bin/worker
runs), on the test database."""

import contextlib
import json
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from conversations.models import Conversation, ProcessingStatus
from core import storage
from devtools.workers import start_worker
from tests.factories import a_run, conversation_document

# The worker's start-up line ("Starting worker ...") tells a test it is polling.
LOGS = {"WORKER_LOG_LEVEL": "INFO"}


@pytest.fixture
def worker_env(media_root, settings):
    """Small chunks, so that a run of a few hundred conversations is many jobs (here too:
    the number of lanes a run starts with depends on it)."""
    settings.ENRICHMENT_RUN_CHUNK_SIZE = 20
    return {**LOGS, "ENRICHMENT_RUN_CHUNK_SIZE": "20"}


class Workers:
    def __init__(self, env: dict, tmp_path: Path) -> None:
        self.env = env
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen] = []

    def start(
        self, name: str = "w", *, env: dict | None = None, supervised: bool = False
    ) -> subprocess.Popen:
        worker_id = f"{name}-{len(self.processes)}"
        process = start_worker(
            worker_id,
            env={**self.env, **(env or {})},
            log=self.log_path(worker_id),
            supervised=supervised,
        )
        process.worker_id = worker_id
        self.processes.append(process)
        return process

    def wait_until_polling(self, *processes: subprocess.Popen, timeout: float = 60) -> None:
        """Until each worker has started and is looking for jobs (its start-up line is in
        its log: the test workers log at INFO)."""
        for process in processes:
            wait_for(
                lambda p=process: "Starting worker" in self.log_of(p),
                timeout=timeout,
                what=f"worker {process.worker_id} to start",
            )

    def log_path(self, worker_id: str) -> Path:
        return self.tmp_path / f"worker-{worker_id}.log"

    def log_of(self, process: subprocess.Popen) -> str:
        return self.log_path(process.worker_id).read_text()

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                # A supervised worker's worker runs in a process group of its own.
                with contextlib.suppress(psutil.NoSuchProcess):
                    for child in psutil.Process(process.pid).children(recursive=True):
                        child.kill()
                process.kill()
                process.wait(timeout=30)


@pytest.fixture
def workers(worker_env, tmp_path):
    pool = Workers(worker_env, tmp_path)
    yield pool
    pool.stop_all()
    connection.close()


@pytest.fixture
def default_workers(media_root, tmp_path):
    """Real workers with the settings as shipped (heartbeats, stalled-worker timeout,
    chunk size), nothing shortened."""
    pool = Workers(LOGS, tmp_path)
    yield pool
    pool.stop_all()
    connection.close()


def seed(owner, count: int, *, invalid_every: int = 0) -> list[Conversation]:
    """Many conversations with stored files, quickly (bulk insert)."""
    rows = []
    for n in range(count):
        document = conversation_document(turns=6)
        if invalid_every and n % invalid_every == 0:
            document["turns"][1]["role"] = "coach"
        business_id = uuid.uuid4()
        path = storage.parsed_path(str(owner.pk), str(business_id))
        content = json.dumps(document).encode()
        default_storage.save(path, ContentFile(content))
        rows.append(
            Conversation(
                conversation_id=business_id,
                created_by=owner,
                conversation_name=f"Seeded {n}",
                turn_count=6,
                file_path=path,
                file_size=len(content),
                processing_status=ProcessingStatus.COMPLETED,
            )
        )
    return Conversation.objects.bulk_create(rows)


def run_state(run):
    run.refresh_from_db()
    return run


def start(conversations, **kwargs):
    """A run over ``conversations`` as the command line starts one. In a test whose
    transaction is real (``transaction=True``), on_commit fires at once: it is enqueued."""
    return a_run([c.pk for c in conversations], user=None, source="cli", **kwargs)


def wait_for(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class DatabaseProxy:
    """A TCP relay between workers and PostgreSQL that a test can cut and restore: the
    database disappears for the worker (connections dropped, new ones refused) while the
    test keeps its own."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self.lock:
            listener, self.listener = self.listener, None
            sockets, self.sockets = self.sockets, []
        for sock in [listener, *sockets]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.listener is not listener:
                    client.close()
                    server.close()
                    return
                self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def database_proxy():
    db = connection.settings_dict
    proxy = DatabaseProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    yield proxy
    proxy.cut()


def url_through(proxy: DatabaseProxy) -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}"
