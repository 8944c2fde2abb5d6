"""Benchmark of the enrichment paths. Prints numbers; asserts nothing.

Seeds realistic conversations (our demo generator: 6–10 turns of a few hundred
characters), then measures, in one run:

- the pure pipeline (validate → enrich → normalize, in memory) over 100 conversations;
- bulk-enrich of the same 100 through a real HTTP server (sequential and parallel);
- the same 100 through the single-conversation endpoint, one request each;
- SQL queries per bulk call at 2, 10 and 100 conversations, sequential and parallel;
- with ``--runs N``: a background run of N conversations processed by 1 and by 2 real
  worker processes (conversations per second, the workers' peak memory).

Everything it creates belongs to a throwaway user and is deleted at the end.
"""

import json
import random
import signal
import statistics
import threading
import time
import urllib.request
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from conversations.imports import import_scaffolding
from conversations.models import (
    Conversation,
    EmotionalArc,
    EnrichmentStatus,
    Persona,
    ProcessingStatus,
    PromptTemplate,
    TrainingTopic,
)
from core import storage
from core.tokens import create_token
from devtools.demo.generator import generate_conversation, load_demo_scaffolding, pick_scaffolding
from devtools.phases import describe, timed_phases
from devtools.workers import cpu_seconds, peak_rss_kb, sample_database_cpu, start_worker
from enrichment.models import EnrichmentRun, RunSource
from enrichment.pipeline.enrich import build_document
from enrichment.pipeline.inputs import current_profile, snapshot
from enrichment.pipeline.normalize import prepare_document
from enrichment.pipeline.validate import validate_conversation
from enrichment.runs.lifecycle import start_run


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


class Command(BaseCommand):
    help = "Benchmark pure pipeline vs bulk/single API (and background runs with --runs N)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--repeat", type=int, default=5, help="runs per measurement")
        parser.add_argument(
            "--runs",
            type=int,
            default=0,
            metavar="N",
            help="also time a background run of N conversations with 1 and 2 workers",
        )
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, repeat: int, runs: int, seed: int, **options) -> None:
        self.rng = random.Random(seed)
        # Measured is the work, not the API throttle: the benchmark calls far faster than a
        # client may, in this process only.
        settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": None}
        user = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:8]}")
        self.token = create_token(user, name="benchmark")[1]
        self.user = user
        self.out(f"database: {connection.settings_dict['NAME']}; repeat: {repeat}")
        try:
            self._scaffolding()
            self.bench_requests(repeat)
            self.bench_queries(user)
            self.bench_phases(user, repeat)
            if runs:
                self.bench_runs(user, runs)
        finally:
            self.cleanup(user)

    def out(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    # Data -------------------------------------------------------------------------

    def _scaffolding(self) -> None:
        from devtools.demo.generator import scaffolding_paths

        import_scaffolding(scaffolding_paths())
        self.rows = load_demo_scaffolding()
        self.personas = {p.persona_key: p for p in Persona.objects.all()}
        self.arcs = {a.arc_key: a for a in EmotionalArc.objects.all()}
        self.topics = {t.topic_key: t for t in TrainingTopic.objects.all()}
        self.templates = {t.name: t for t in PromptTemplate.objects.all()}

    def seed(self, owner, count: int) -> list[Conversation]:
        rows = []
        for n in range(count):
            picked = pick_scaffolding(self.rng, self.rows)
            document = generate_conversation(self.rng, turns=self.rng.randint(6, 10), **picked)
            business_id = uuid.uuid4()
            path = storage.parsed_path(str(owner.pk), str(business_id))
            content = json.dumps(document, indent=2, ensure_ascii=False).encode()
            default_storage.save(path, ContentFile(content))
            rows.append(
                Conversation(
                    conversation_id=business_id,
                    created_by=owner,
                    conversation_name=f"Benchmark {n}",
                    turn_count=len(document["turns"]),
                    file_path=path,
                    file_size=len(content),
                    processing_status=ProcessingStatus.COMPLETED,
                    persona=self.personas.get(picked["persona"]["persona_key"]),
                    emotional_arc=self.arcs.get(picked["arc"]["arc_key"]),
                    training_topic=self.topics.get(picked["topic"]["topic_key"]),
                    template=self.templates.get(picked["template_name"] or ""),
                )
            )
        created = []
        for start in range(0, len(rows), 2000):
            created += Conversation.objects.bulk_create(rows[start : start + 2000])
        return created

    def reset(self, conversations: list[Conversation]) -> None:
        """Back to not enriched, files included, so every repeat is a first enrichment."""
        rows = Conversation.objects.filter(pk__in=[c.pk for c in conversations])
        for path in rows.exclude(enriched_file_path="").values_list(
            "enriched_file_path", flat=True
        ):
            default_storage.delete(path)
        rows.update(
            enrichment_status=EnrichmentStatus.NOT_STARTED,
            enriched_file_path="",
            enriched_file_size=None,
        )

    def cleanup(self, user) -> None:
        owner_folder = str(user.pk)
        for conversation in Conversation.objects.filter(created_by=user).iterator():
            for path in (conversation.file_path, conversation.enriched_file_path):
                if path:
                    default_storage.delete(path)
        EnrichmentRun.objects.filter(items__conversation__created_by=user).delete()
        Conversation.objects.filter(created_by=user).delete()
        user.delete()
        folder = Path(settings.MEDIA_ROOT) / owner_folder
        if folder.is_dir():
            for child in sorted(folder.rglob("*"), reverse=True):
                child.rmdir() if child.is_dir() else child.unlink()
            folder.rmdir()

    # Measurements -----------------------------------------------------------------

    def pure_pipeline(self, conversations: list[Conversation]) -> float:
        """Seconds for validate → enrich → normalize of the given conversations."""
        loaded = Conversation.objects.filter(pk__in=[c.pk for c in conversations]).select_related(
            "persona", "emotional_arc", "training_topic", "template"
        )
        profile = current_profile()
        inputs = [
            (storage.read_file(c.file_path), str(c.conversation_id), snapshot(c, profile))
            for c in loaded
        ]
        validated_at = timezone.now().isoformat()
        started = time.perf_counter()
        for source, business_id, context in inputs:
            data, report = validate_conversation(
                source, conversation_id=business_id, validated_at=validated_at
            )
            # What the runner does: the document measured, then assembled for writing.
            prepare_document(build_document(data, context)).content()
        return time.perf_counter() - started

    def post(self, url: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{url}{path}",
            data=json.dumps(body).encode() if body is not None else b"",
            headers={"Content-Type": "application/json", "Authorization": f"Token {self.token}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.load(response)

    def storage_floor(self, conversations: list[Conversation], sizes: list[int]) -> float:
        """Seconds to store enriched files of the given sizes for these conversations and
        do nothing else: the disk's share of a bulk call, which the pure pipeline leaves
        out."""
        started = time.perf_counter()
        for conversation, size in zip(conversations, sizes, strict=True):
            path = storage.enriched_path(
                str(conversation.created_by_id), str(conversation.conversation_id)
            )
            storage.write_file(path, b"x" * size)
        return time.perf_counter() - started

    def bench_requests(self, repeat: int) -> None:
        server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
        server.set_app(get_wsgi_application())
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_port}"

        def bulk(conversations: list[Conversation], sequential: bool) -> float:
            started = time.perf_counter()
            body = self.post(
                url,
                "/api/conversations/bulk-enrich",
                {"conversationIds": [str(c.pk) for c in conversations], "sequential": sequential},
            )
            elapsed = time.perf_counter() - started
            assert body["summary"]["successful"] == 100, body["summary"]
            return elapsed

        try:
            bulk(self.seed(self.user, 100), True)  # warm-up (imports, caches); not counted
            # Every measurement enriches 100 conversations imported just before and never
            # enriched, as in real use. The measurements are interleaved, one of each per
            # round, so that a slow moment of the machine hits all of them alike; ratios
            # are taken per round.
            rounds = []
            sizes: list[int] = []
            for _ in range(repeat):
                batch = self.seed(self.user, 100)
                pure = self.pure_pipeline(batch)
                sequential = bulk(batch, True)
                sizes = list(
                    Conversation.objects.filter(pk__in=[c.pk for c in batch]).values_list(
                        "enriched_file_size", flat=True
                    )
                )
                parallel = bulk(self.seed(self.user, 100), False)
                floor = self.storage_floor(self.seed(self.user, 100), sizes)
                rounds.append(
                    {"pure": pure, "sequential": sequential, "parallel": parallel, "storage": floor}
                )

            def median(key: str) -> float:
                return statistics.median(r[key] for r in rounds)

            def ratio(key: str) -> float:
                return statistics.median(r[key] / r["pure"] for r in rounds)

            pure = median("pure")
            self.out(
                f"pure pipeline, 100 conversations: median {pure * 1000:.1f} ms "
                f"({100 / pure:.0f} conversations/s)"
            )
            for label in ("sequential", "parallel"):
                self.out(
                    f"bulk-enrich over HTTP, 100, {label}: median {median(label) * 1000:.1f} ms "
                    f"= {ratio(label):.2f}x the pure pipeline"
                )
            storage_floor = median("storage")
            self.out(
                f"storing the 100 enriched files alone: median {storage_floor * 1000:.1f} ms; "
                f"pure pipeline + storing = {(pure + storage_floor) * 1000:.1f} ms "
                f"({median('sequential') / (pure + storage_floor):.2f}x of that for sequential, "
                f"{median('parallel') / (pure + storage_floor):.2f}x for parallel)"
            )
            singles = []
            for _ in range(max(1, repeat // 2)):
                batch = self.seed(self.user, 100)
                started = time.perf_counter()
                for conversation in batch:
                    self.post(url, f"/api/conversations/{conversation.pk}/enrich")
                singles.append(time.perf_counter() - started)
            single = statistics.median(singles)
            self.out(
                f"single endpoint x100 over HTTP: median {single * 1000:.1f} ms; "
                f"bulk is {single / median('sequential'):.1f}x faster (sequential), "
                f"{single / median('parallel'):.1f}x (parallel)"
            )
        finally:
            server.shutdown()
            server.server_close()

    def bench_queries(self, user) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {self.token}")
        for label, sequential in (("sequential", True), ("parallel", False)):
            counts = {}
            for size in (2, 10, 100):
                batch = self.seed(user, size)
                with CaptureQueriesContext(connection) as captured:
                    response = client.post(
                        "/api/conversations/bulk-enrich",
                        {"conversationIds": [str(c.pk) for c in batch], "sequential": sequential},
                        format="json",
                    )
                assert response.status_code == 200
                counts[size] = len(captured)
            # From 10 up, the scaffolding is loaded per relation rather than joined, so the
            # fixed part is read there.
            per = (counts[100] - counts[10]) / 90
            self.out(
                f"SQL queries per bulk call, {label}: "
                + ", ".join(f"{n} conversations → {q}" for n, q in counts.items())
                + f" (fixed {counts[10] - 10 * per:.0f} + {per:.0f} per conversation)"
            )

    def bench_phases(self, user, repeat: int) -> None:
        """Where a bulk call's time goes, in-process (no HTTP): the runner's phases."""
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {self.token}")
        for label, sequential in (("sequential", True), ("parallel", False)):
            rounds = []
            for _ in range(repeat):
                ids = [str(c.pk) for c in self.seed(user, 100)]
                body = {"conversationIds": ids, "sequential": sequential}
                with timed_phases() as phases:
                    started, started_cpu = time.perf_counter(), time.thread_time()
                    client.post("/api/conversations/bulk-enrich", body, format="json")
                    total = (time.perf_counter() - started, time.thread_time() - started_cpu)
                rounds.append((total, phases))
            (wall, cpu), phases = sorted(rounds, key=lambda r: r[0][0])[len(rounds) // 2]
            self.out(
                f"bulk-enrich of 100 in-process, {label} (the median round), ms wall (CPU of "
                f"the request's thread): total {wall * 1000:.1f} ({cpu * 1000:.1f}); "
                + describe(phases, wall, cpu)
            )

    def bench_runs(self, user, count: int) -> None:
        conversations = self.seed(user, count)
        profile_time = self.pure_pipeline(conversations[: min(count, 1000)]) / min(count, 1000)
        self.out(
            f"pure pipeline per conversation (first {min(count, 1000)}): "
            f"{profile_time * 1000:.2f} ms"
        )
        for workers in (1, 2):
            self.reset(conversations)
            run = start_run(
                [c.pk for c in conversations],
                user=user,
                source=RunSource.CLI,
                description=f"benchmark, {workers} worker(s)",
            ).run
            processes = [start_worker(f"bench-{n}") for n in range(workers)]
            peaks = [0] * workers
            database_cpu: dict[int, float] = {}
            started = time.perf_counter()
            try:
                while True:
                    for n, process in enumerate(processes):
                        peaks[n] = max(peaks[n], peak_rss_kb(process.pid))
                    sample_database_cpu(database_cpu)
                    run.refresh_from_db()
                    if run.is_finished:
                        break
                    time.sleep(0.2)
                elapsed = time.perf_counter() - started
                worker_cpu = sum(cpu_seconds(process.pid) for process in processes)
            finally:
                for process in processes:
                    process.send_signal(signal.SIGTERM)
                for process in processes:
                    process.wait(timeout=60)
            # The run's own time, from its first lane starting to its end: without the
            # workers' start-up, which the wall time above includes.
            own = (run.finished_at - run.started_at).total_seconds()
            per_conversation = {
                "worker": worker_cpu / run.processed * 1000,
                "database": sum(database_cpu.values()) / run.processed * 1000,
            }
            self.out(
                f"background run of {count}, {workers} worker(s): {elapsed:.1f} s, "
                f"{run.processed / elapsed:.0f} conversations/s with the workers' start-up; "
                f"the run's own time {own:.1f} s = {run.processed / own:.0f} conversations/s; "
                f"peak worker RSS {', '.join(f'{p / 1024:.0f} MB' for p in peaks)}, "
                f"{own / (count * profile_time):.2f}x the pure pipeline time "
                f"(enriched {run.enriched}, failed {run.failed}, skipped {run.skipped})"
            )
            self.out(
                f"  CPU per conversation: workers {per_conversation['worker']:.3f} ms, "
                f"database backends {per_conversation['database']:.3f} ms"
            )
