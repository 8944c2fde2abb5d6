"""Peak memory of enriching very large conversations, on the web path and in a worker.

Creates ``--ids`` conversations of ``--turns`` turns of ``--turn-bytes`` characters each
(by default 4 of 800 × 10 KB: 8 MB each, whose enriched document would be 3.3 GB), then:

- starts a web server in a child process, sends it one ``POST
  /api/conversations/bulk-enrich`` with all the ids and ``sequential: false``, and prints
  the answer, its time and the server process's peak RSS;
- starts a run over the same conversations, processed by a real worker, and prints
  its outcome, its time and the worker's peak RSS.

Peak RSS is the kernel's high-water mark (``VmHWM``) of the process, start-up included.
Everything it creates belongs to a throwaway user and is deleted at the end. Prints
numbers; asserts nothing.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application

from conversations.models import Conversation, ProcessingStatus
from core import storage
from core.tokens import create_token
from devtools.workers import current_database_url, peak_rss_kb, start_worker
from enrichment.models import EnrichmentRun, RunSource
from enrichment.runs.lifecycle import start_run


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


def peak_rss_mb(pid: int) -> float:
    return peak_rss_kb(pid) / 1024


def large_document(turns: int, turn_bytes: int) -> dict:
    filler = ("Money worries keep me up at night. " * (turn_bytes // 35 + 1))[:turn_bytes]
    return {
        "conversation_metadata": {
            "client_persona": "Sam Ortiz - The Cautious Saver",
            "session_context": "A very long session.",
            "conversation_phase": "initial_opportunity_exploration",
            "expected_outcome": "Feel calmer about money.",
        },
        "turns": [
            {
                "turn_number": n + 1,
                "role": "user" if n % 2 == 0 else "assistant",
                "content": filler,
                "emotional_context": {
                    "primary_emotion": "anxiety",
                    "secondary_emotion": "hope",
                    "intensity": 0.6,
                },
            }
            for n in range(turns)
        ],
    }


class Command(BaseCommand):
    help = "Peak RSS of enriching very large conversations (web request and db_worker)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--ids", type=int, default=4, help="conversations per call")
        parser.add_argument("--turns", type=int, default=800)
        parser.add_argument("--turn-bytes", type=int, default=10_000)
        parser.add_argument("--skip-web", action="store_true")
        parser.add_argument("--skip-worker", action="store_true")
        parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, ids: int, turns: int, turn_bytes: int, **options) -> None:
        if options["serve"]:
            return self.serve()
        user = get_user_model().objects.create_user(f"bench-memory-{uuid.uuid4().hex[:8]}")
        token = create_token(user, name="bench")[1]
        try:
            conversations = self.seed(user, ids, turns, turn_bytes)
            size = conversations[0].file_size
            self.out(f"{ids} conversations of {turns} turns × {turn_bytes:,} characters")
            self.out(f"({size:,} bytes each, stored at {conversations[0].file_path})")
            if not options["skip_web"]:
                self.bench_web(conversations, token)
            if not options["skip_worker"]:
                self.reset(conversations)
                self.bench_worker(conversations, user)
        finally:
            self.cleanup(user)

    def out(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def seed(self, owner, count: int, turns: int, turn_bytes: int) -> list[Conversation]:
        content = json.dumps(large_document(turns, turn_bytes)).encode()
        rows = []
        for n in range(count):
            business_id = uuid.uuid4()
            path = storage.parsed_path(str(owner.pk), str(business_id))
            default_storage.save(path, ContentFile(content))
            rows.append(
                Conversation(
                    conversation_id=business_id,
                    created_by=owner,
                    conversation_name=f"Memory benchmark {n}",
                    turn_count=turns,
                    file_path=path,
                    file_size=len(content),
                    processing_status=ProcessingStatus.COMPLETED,
                )
            )
        return Conversation.objects.bulk_create(rows)

    def reset(self, conversations: list[Conversation]) -> None:
        Conversation.objects.filter(pk__in=[c.pk for c in conversations]).update(
            enrichment_status="not_started", enriched_file_size=None
        )

    def cleanup(self, user) -> None:
        EnrichmentRun.objects.filter(items__conversation__created_by=user).delete()
        Conversation.objects.filter(created_by=user).delete()
        user.delete()
        folder = Path(settings.MEDIA_ROOT) / str(user.pk)
        for area in (folder, Path(settings.MEDIA_ROOT) / "raw" / str(user.pk)):
            if area.is_dir():
                for child in sorted(area.rglob("*"), reverse=True):
                    child.rmdir() if child.is_dir() else child.unlink()
                area.rmdir()

    # The web path -----------------------------------------------------------------

    def serve(self) -> None:
        """Child process: serve the app on a free port, print it, serve until killed."""
        server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
        server.set_app(get_wsgi_application())
        self.out(f"PORT {server.server_port}")
        server.serve_forever()

    def bench_web(self, conversations: list[Conversation], token: str) -> None:
        child = subprocess.Popen(
            [sys.executable, "manage.py", "bench_memory", "--serve"],
            cwd=settings.BASE_DIR,
            env={
                **os.environ,
                "DATABASE_URL": current_database_url(),
                "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            },
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            port = int(child.stdout.readline().split()[1])
            ready_mb = peak_rss_mb(child.pid)
            body = {"conversationIds": [str(c.pk) for c in conversations], "sequential": False}
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/conversations/bulk-enrich",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
                method="POST",
            )
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=600) as response:
                    status, answer = response.status, json.load(response)
            except urllib.error.HTTPError as error:
                status, answer = error.code, json.load(error)
            elapsed = time.perf_counter() - started
            self.out(
                f"web (bulk-enrich, sequential: false, {len(conversations)} ids): HTTP {status} "
                f"in {elapsed:.2f} s; server peak RSS {peak_rss_mb(child.pid):.0f} MB "
                f"(after start-up {ready_mb:.0f} MB)"
            )
            self.describe(answer.get("results", []), answer)
            self.stored(conversations)
        finally:
            child.send_signal(signal.SIGTERM)
            child.wait(timeout=30)

    def describe(self, results: list[dict], answer: dict) -> None:
        if not results:
            self.out(f"  answer: {json.dumps(answer)[:300]}")
            return
        statuses = Counter((r["status"], r.get("enrichmentStatus")) for r in results)
        self.out(f"  results: {dict(statuses)}")
        errors = {r.get("error") for r in results if r.get("error")}
        for error in sorted(errors):
            self.out(f"  error: {error}")

    # A real worker ----------------------------------------------------------------

    def bench_worker(self, conversations: list[Conversation], user) -> None:
        run = start_run(
            [c.pk for c in conversations],
            user=user,
            source=RunSource.CLI,
            description="memory benchmark",
        ).run
        worker = start_worker("bench-memory")
        started = time.perf_counter()
        try:
            while True:
                run.refresh_from_db()
                if run.is_finished or worker.poll() is not None:
                    break
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
            peak = peak_rss_mb(worker.pid)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        self.out(
            f"db_worker (a run over {len(conversations)}): {run.status} in {elapsed:.2f} s "
            f"(enriched {run.enriched}, failed {run.failed}); worker peak RSS {peak:.0f} MB"
        )
        errors = set(run.items.exclude(error=None).values_list("error", flat=True))
        for error in sorted(errors):
            self.out(f"  error: {error}")
        self.stored(conversations)

    def stored(self, conversations: list[Conversation]) -> None:
        sizes = Conversation.objects.filter(
            pk__in=[c.pk for c in conversations], enriched_file_size__isnull=False
        ).values_list("enriched_file_size", flat=True)
        if sizes:
            self.out(f"  enriched files stored: {', '.join(f'{size:,}' for size in sizes)} bytes")
