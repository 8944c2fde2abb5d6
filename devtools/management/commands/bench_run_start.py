"""How long starting a background run takes over a big selection, through the API:
``POST /api/enrichment-runs`` by status over every conversation, and with a body of ids.

Run it on a scratch database (``BENCH_COMMAND=bench_run_start bin/bench postgres``): it
adds rows (files are not needed to start a run) and leaves them for the next round; with
``BENCH_REUSE=1`` a later round reuses the conversations of one with the same
``--conversations`` instead of making them again.
"""

import json
import resource
import statistics
import time
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.models import Count
from rest_framework.test import APIClient

from conversations.models import Conversation, EnrichmentStatus, ProcessingStatus
from enrichment.models import EnrichmentRun, EnrichmentRunItem

SEED_BATCH = 10_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Command(BaseCommand):
    help = "Time POST /api/enrichment-runs by status over N conversations and with M ids."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--conversations", type=int, default=1_000_000, metavar="N")
        parser.add_argument("--ids", type=int, default=100_000, metavar="M")
        parser.add_argument("--repeat", type=int, default=3)

    def handle(self, *args, conversations: int, ids: int, repeat: int, **options) -> None:
        # Measured is starting a run, not the throttle (in this process only).
        settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": None}
        self.out(f"database: {connection.settings_dict['NAME']}; repeat: {repeat}")
        user, pks = self.reused(conversations, ids)
        if user is None:
            user = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:8]}")
            started = time.perf_counter()
            pks = self.seed(user, conversations)
            self.out(
                f"seeded {conversations:,} conversations in {time.perf_counter() - started:.1f} s"
            )
        client = APIClient()
        client.force_authenticate(user)

        body = json.dumps({"conversationIds": [str(pk) for pk in pks[:ids]]}).encode()
        self.out(
            f"ids body: {ids:,} ids, {len(body):,} bytes "
            f"(API_MAX_BODY_BYTES {settings.API_MAX_BODY_BYTES:,})"
        )
        by_status = json.dumps({"status": "not_started"}).encode()
        for label, payload, expected in (
            (f"by status over {conversations:,}", by_status, conversations),
            (f"by {ids:,} ids in the body", body, ids),
        ):
            times = []
            for _ in range(repeat):
                begin = time.perf_counter()
                response = client.post(
                    "/api/enrichment-runs", payload, content_type="application/json"
                )
                times.append(time.perf_counter() - begin)
                run = response.json()
                assert response.status_code == 202, (response.status_code, run)
                assert run["total"] == expected, run
                EnrichmentRunItem.objects.filter(run_id=run["id"]).delete()
                EnrichmentRun.objects.filter(pk=run["id"]).delete()
            self.out(
                f"start a run {label}: median {statistics.median(times):.2f} s "
                f"(min {min(times):.2f}, max {max(times):.2f}); "
                f"peak RSS so far {peak_rss_mb():.0f} MB"
            )

    def reused(self, count: int, ids: int) -> tuple[object | None, list[uuid.UUID]]:
        """A user of an earlier round (``BENCH_REUSE=1`` keeps the database) who owns
        exactly ``count`` conversations, and the first ``ids`` of them."""
        owners = (
            Conversation.objects.filter(created_by__username__startswith="bench-")
            .values("created_by")
            .annotate(owned=Count("pk"))
            .filter(owned=count)
            .values_list("created_by", flat=True)
        )
        owner = owners.order_by("created_by").first()
        if owner is None:
            return None, []
        user = get_user_model().objects.get(pk=owner)
        Conversation.objects.filter(created_by=user).update(
            enrichment_status=EnrichmentStatus.NOT_STARTED
        )
        pks = list(
            Conversation.objects.filter(created_by=user)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)[:ids]
        )
        self.out(f"reusing the {count:,} conversations of {user.username}")
        return user, pks

    def seed(self, user, count: int) -> list[uuid.UUID]:
        pks: list[uuid.UUID] = []
        for start in range(0, count, SEED_BATCH):
            rows = [
                Conversation(
                    created_by=user,
                    conversation_name=f"Run start benchmark {n}",
                    processing_status=ProcessingStatus.COMPLETED,
                )
                for n in range(start, min(count, start + SEED_BATCH))
            ]
            Conversation.objects.bulk_create(rows)
            pks += [row.pk for row in rows]
        return pks

    def out(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
