"""Our own cost per generated conversation, in batch mode against our fake provider (a
process of its own, reached through the official SDK over HTTP on 127.0.0.1): CPU and
wall time per item to create a job, per request to submit it, and per result to take the
answers in, and the memory of taking in a big batch (resident size sampled as it runs:
flat means the results are streamed, not held).

Run it on a scratch database: ``bin/bench postgres --generation 10000`` (the demo
scaffolding, repeated to reach N items).
"""

import math
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from conversations.imports import import_scaffolding
from conversations.models import (
    BatchItemStatus,
    EmotionalArc,
    Persona,
    PromptTemplate,
    TrainingTopic,
)
from devtools.demo.generator import scaffolding_paths
from generation import batches
from generation.jobs import GenerationRequest, create_generation_job
from generation.models import ProviderBatch
from generation.providers import get_provider

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """This process's resident size now (not its peak)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * PAGE / 2**20


class Sampler(threading.Thread):
    """The resident size every ``every`` seconds while it runs."""

    def __init__(self, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.every, self.samples, self.stopped = every, [], threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.append(rss_mb())
            self.stopped.wait(self.every)

    def stop(self) -> list[float]:
        self.stopped.set()
        self.join()
        return self.samples


class Timer:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


class Command(BaseCommand):
    help = "Time creating, submitting and taking in a generation job of N items (batch mode)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--generation", type=int, default=10_000, metavar="N")

    def handle(self, *args, generation: int, **options) -> None:
        fake = self.start_fake()
        try:
            self.bench(generation)
        finally:
            fake.terminate()
            fake.wait(timeout=10)

    def start_fake(self) -> subprocess.Popen:
        fake = subprocess.Popen(
            [sys.executable, "-m", "devtools.fake_anthropic", "--port", "0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = fake.stdout.readline()
        found = re.search(r"listening on (http://\S+)", line)
        if not found:
            fake.kill()
            raise CommandError(f"the fake provider did not start: {line!r}")
        os.environ["ANTHROPIC_BASE_URL"] = found.group(1)
        os.environ.setdefault("ANTHROPIC_API_KEY", "bench")
        return fake

    def bench(self, wanted: int) -> None:
        import_scaffolding(scaffolding_paths())
        # Every persona and topic, and the arcs that have a template of their own.
        personas = list(Persona.objects.values_list("persona_key", flat=True))
        templated = PromptTemplate.objects.filter(is_active=True).values("emotional_arc_type")
        arcs = list(
            EmotionalArc.objects.filter(arc_key__in=templated).values_list("arc_key", flat=True)
        )
        topics = list(TrainingTopic.objects.values_list("topic_key", flat=True))
        combinations = len(personas) * len(arcs) * len(topics)
        repeat = math.ceil(wanted / combinations)
        settings.GENERATION_MAX_ITEMS = max(settings.GENERATION_MAX_ITEMS, combinations * repeat)
        settings.GENERATION_PRICES = {}
        owner = get_user_model().objects.create_user(f"bench-{time.time_ns()}")
        self.out(f"database: {connection.settings_dict['NAME']}; rss at start {rss_mb():.0f} MB")

        with Timer() as created:
            job = create_generation_job(
                owner,
                GenerationRequest(
                    name="Generation benchmark",
                    persona_keys=personas,
                    arc_keys=arcs,
                    topic_keys=topics,
                    repeat=repeat,
                    mode="batch",
                    max_tokens=8000,
                    auto_enrich=False,
                ),
            )
        items = job.total_items
        self.line("create", created, items, "item")

        provider = get_provider()
        with Timer() as submitted:
            records = batches.submit(job.pk, provider)
        requests = sum(r.requests for r in records)
        self.line("submit", submitted, requests, "request")

        before = rss_mb()
        sampler = Sampler()
        sampler.start()
        with Timer() as taken:
            for record in ProviderBatch.objects.filter(batch_job=job):
                while batches.poll(record.pk, provider).results_taken_at is None:
                    pass  # the fake ends a batch at its second look
        samples = sampler.stop()
        done = job.items.exclude(status=BatchItemStatus.QUEUED).count()
        self.line("take in", taken, done, "result")
        tenth = max(1, len(samples) // 10)
        self.out(
            f"take-in memory: rss {before:.0f} MB before; during: first tenth median "
            f"{statistics.median(samples[:tenth]):.0f} MB, last tenth median "
            f"{statistics.median(samples[-tenth:]):.0f} MB, max {max(samples):.0f} MB "
            f"({len(samples)} samples)"
        )
        self.out(f"items: {items:,}; completed or failed after take-in: {done:,}")

    def line(self, what: str, timer: Timer, count: int, unit: str) -> None:
        self.out(
            f"{what}: {count:,} {unit}s in {timer.wall:.1f} s wall, {timer.cpu:.1f} s CPU: "
            f"{timer.cpu * 1000 / max(count, 1):.2f} CPU ms per {unit}, "
            f"{timer.wall * 1000 / max(count, 1):.2f} wall ms per {unit}"
        )

    def out(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()
