"""Benchmark of training-file builds (a development tool, not product code). Prints
numbers; asserts nothing.

Seeds N enriched conversations fast (our demo generator, 6–10 turns each, run through the
pure pipeline validate → enrich → normalize in this process and stored with one bulk
insert), then builds a training file of them in the background with a real
worker and reports the build time and the worker's peak memory (VmHWM). With
``--compare M`` it first builds one of M conversations with a fresh worker, so that the
two peaks side by side show whether memory stays flat as the file grows.

Everything it creates belongs to a throwaway user and is deleted at the end.
"""

import random
import signal
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

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
from devtools.demo.generator import (
    generate_conversation,
    load_demo_scaffolding,
    pick_scaffolding,
    scaffolding_paths,
)
from devtools.workers import start_worker
from enrichment.pipeline.enrich import enrich_conversation
from enrichment.pipeline.inputs import current_profile
from enrichment.pipeline.inputs import snapshot as _snapshot
from enrichment.pipeline.normalize import normalize_document
from enrichment.pipeline.validate import validate_conversation
from training import services
from training.eligibility import Selection
from training.files import delete_files, delete_folder
from training.models import TrainingFile

BULK = 2000


def seed_enriched(owner, count: int, *, seed: int = 7) -> list[uuid.UUID]:
    """``count`` completed conversations of ``owner`` with realistic enriched files; their
    row ids in creation order."""
    import_scaffolding(scaffolding_paths())
    rows = load_demo_scaffolding()
    personas = {p.persona_key: p for p in Persona.objects.all()}
    arcs = {a.arc_key: a for a in EmotionalArc.objects.all()}
    topics = {t.topic_key: t for t in TrainingTopic.objects.all()}
    templates = {t.name: t for t in PromptTemplate.objects.all()}
    rng = random.Random(seed)
    profile = current_profile()
    now = timezone.now()
    pending: list[Conversation] = []
    pks: list[uuid.UUID] = []
    for n in range(count):
        picked = pick_scaffolding(rng, rows)
        document = generate_conversation(rng, turns=rng.randint(6, 10), **picked)
        conversation = Conversation(
            conversation_id=uuid.uuid4(),
            created_by=owner,
            conversation_name=f"Benchmark {n}",
            turn_count=len(document["turns"]),
            processing_status=ProcessingStatus.COMPLETED,
            persona=personas.get(picked["persona"]["persona_key"]),
            emotional_arc=arcs.get(picked["arc"]["arc_key"]),
            training_topic=topics.get(picked["topic"]["topic_key"]),
            template=templates.get(picked["template_name"] or ""),
            created_at=now,
        )
        data, _ = validate_conversation(
            document,
            conversation_id=str(conversation.conversation_id),
            validated_at=now.isoformat(),
        )
        content, _ = normalize_document(enrich_conversation(data, _snapshot(conversation, profile)))
        path = storage.enriched_path(str(owner.pk), str(conversation.conversation_id))
        conversation.enriched_file_size = storage.write_file(path, content)
        conversation.enriched_file_path = path
        conversation.enrichment_status = EnrichmentStatus.COMPLETED
        conversation.enriched_at = now
        pending.append(conversation)
        if len(pending) == BULK:
            pks += [c.pk for c in Conversation.objects.bulk_create(pending)]
            pending = []
    if pending:
        pks += [c.pk for c in Conversation.objects.bulk_create(pending)]
    return pks


def peak_rss_kb(pid: int, field: str = "VmHWM") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Command(BaseCommand):
    help = "Time a background training-file build of N conversations and its worker's memory."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--conversations", type=int, default=10_000, metavar="N")
        parser.add_argument(
            "--compare",
            type=int,
            default=1_000,
            metavar="M",
            help="first build a file of M conversations (0: skip) to compare memory",
        )
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, conversations: int, compare: int, seed: int, **options) -> None:
        user = get_user_model().objects.create_user(f"bench-training-{uuid.uuid4().hex[:8]}")
        try:
            started = time.perf_counter()
            pks = seed_enriched(user, conversations, seed=seed)
            seconds = time.perf_counter() - started
            self.out(
                f"seeded {len(pks)} enriched conversations in {seconds:.1f} s "
                f"({self._enriched_megabytes(user):.0f} MB of enriched files)"
            )
            for size in [n for n in (compare, conversations) if 0 < n <= len(pks)]:
                self.build(user, pks[:size])
        finally:
            self.cleanup(user)

    def out(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def _enriched_megabytes(self, user) -> float:
        sizes = Conversation.objects.filter(created_by=user).values_list(
            "enriched_file_size", flat=True
        )
        return sum(sizes) / 1e6

    def build(self, user, pks: list[uuid.UUID]) -> None:
        worker = start_worker(f"bench-training-{len(pks)}")
        try:
            time.sleep(3)  # the worker imports Django and starts polling
            idle = peak_rss_kb(worker.pid, "VmRSS")
            started = time.perf_counter()
            with transaction.atomic():
                change = services.create_training_file(
                    name=f"Benchmark {len(pks)} {uuid.uuid4().hex[:6]}",
                    user=user,
                    selection=Selection(pks),
                    background=True,
                )
            training_file = change.training_file
            queued = time.perf_counter() - started
            peak, seen_progress = idle, 0
            while True:
                peak = max(peak, peak_rss_kb(worker.pid))
                training_file.refresh_from_db()
                if training_file.is_processing:
                    seen_progress = max(seen_progress, training_file.build_done)
                else:
                    break
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        sizes = (
            training_file.json_file_size or 0,
            training_file.jsonl_file_size or 0,
            training_file.chat_jsonl_file_size or 0,
        )
        self.out(
            f"training file of {len(pks)} conversations, built by 1 db_worker: {elapsed:.1f} s "
            f"({len(pks) / elapsed:.0f} conversations/s; stored and queued in {queued:.1f} s), "
            f"status {training_file.status}, "
            f"worker RSS idle {idle / 1024:.0f} MB, peak {peak / 1024:.0f} MB; "
            f"files json {sizes[0] / 1e6:.0f} MB, jsonl {sizes[1] / 1e6:.0f} MB, "
            f"chat-jsonl {sizes[2] / 1e6:.0f} MB; progress seen up to {seen_progress}"
            + (f"; error: {training_file.error}" if training_file.error else "")
        )

    def cleanup(self, user) -> None:
        for training_file in TrainingFile.objects.filter(created_by=user):
            folder = f"{training_file.storage_bucket}/{training_file.pk}"
            training_file.delete()
            delete_folder(folder)
        delete_files(
            list(
                Conversation.objects.filter(created_by=user).values_list(
                    "enriched_file_path", flat=True
                )
            )
        )
        Conversation.objects.filter(created_by=user).delete()
        owner_folder = Path(settings.MEDIA_ROOT) / str(user.pk)
        if owner_folder.is_dir():
            for child in sorted(owner_folder.rglob("*"), reverse=True):
                child.rmdir() if child.is_dir() else child.unlink()
            owner_folder.rmdir()
        user.delete()
