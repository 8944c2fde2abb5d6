"""Scale benchmark: every list page and list API at a large size. Prints numbers; asserts
nothing (but stops when a page does not answer 200, which would make its time
meaningless).

Makes the data set of ``devtools.scale`` (``--scale`` 1000000: a staff user's 1,000,000
conversations, a normal user's 100,000, a completed batch job of 100,000 items, runs,
training files), or
reuses it when the database already holds that scale, then requests each page in-process
(Django's test client against the real settings) as the staff user and as the normal
user: the median time of ``--repeat`` requests after one warm-up, and the SQL queries of
one more.
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations.models import BatchItem, BatchJob, Conversation
from devtools import scale as dataset
from enrichment.models import EnrichmentRun, EnrichmentRunItem
from training.models import TrainingFile, TrainingFileConversation


@dataclass(frozen=True)
class Page:
    label: str
    staff: str | None
    user: str | None = None
    # Run (untimed) before each request: what happened just before it.
    before: Callable[[], object] | None = None


def touch(job: BatchJob, count: int) -> Callable[[], int]:
    """A change to ``count`` of the job's conversations, as an enrichment makes."""
    items = job.items.filter(conversation__isnull=False).order_by("position")
    pks = list(items.values_list("conversation_id", flat=True)[:count])
    return lambda: Conversation.objects.filter(pk__in=pks).update(updated_at=timezone.now())


def pages(data: dataset.ScaleData) -> list[Page]:
    """What is measured: the staff user sees every row, the normal user their own."""
    big, mine, run, my_run = data.big_job.pk, data.user_job.pk, data.big_run.pk, data.user_run.pk
    big_file, my_file = data.big_file.pk, data.user_file.pk
    some = Conversation.objects.filter(created_by=data.user).values_list(
        "conversation_id", flat=True
    )[:1][0]

    # A deep page that exists at this scale (the admin redirects beyond the last one).
    deep = max(1, min(2000, Conversation.objects.count() // 50))
    files_page = max(1, min(20, TrainingFile.objects.count() // 100))

    def both(label: str, url: str) -> Page:
        return Page(label, url, url)

    conversations = [
        both("/conversations/", "/conversations/"),
        *(
            both(f"  status={status}", f"/conversations/?status={status}")
            for status in ("completed", "not_started", "validation_failed", "failed")
        ),
        Page("  batch=<job>", f"/conversations/?batch={big}", f"/conversations/?batch={mine}"),
        Page("  batch=<small job>", f"/conversations/?batch={data.small_job.pk}"),
        both("  persona=<Priya>", f"/conversations/?persona={data.persona.pk}"),
        both("  q=Priya", "/conversations/?q=Priya"),
        both("  q=<a conversation id>", f"/conversations/?q={some}"),
        both("  page=2000", "/conversations/?page=2000"),
        *(
            both(f"  order={order}", f"/conversations/?order={order}")
            for order in ("created", "name", "-name", "status", "-status", "tier", "-tier")
            + ("turns", "-turns")
        ),
        both("  status=failed&order=name", "/conversations/?status=failed&order=name"),
        both("/api/conversations", "/api/conversations"),
        both("  status=failed", "/api/conversations?status=failed"),
        Page(
            "  batchJobId=<job>",
            f"/api/conversations?batchJobId={big}",
            f"/api/conversations?batchJobId={mine}",
        ),
        both("  search=Priya", "/api/conversations?search=Priya"),
        both("  offset=100000", "/api/conversations?offset=100000"),
    ]
    return [
        *conversations,
        both("/batch-jobs/", "/batch-jobs/"),
        Page(
            "  just after 100 of a job's changed",
            "/batch-jobs/",
            "/batch-jobs/",
            before=touch(data.recent_job, 100),
        ),
        both("/batch-jobs/?page=20", "/batch-jobs/?page=20"),
        Page("/batch-jobs/<job>/", f"/batch-jobs/{big}/", f"/batch-jobs/{mine}/"),
        Page(
            "  just after 100 of its conversations changed",
            f"/batch-jobs/{data.recent_job.pk}/",
            f"/batch-jobs/{mine}/",
            before=touch(data.recent_job, 100),
        ),
        Page(
            "  ?page=1000 (items)", f"/batch-jobs/{big}/?page=1000", f"/batch-jobs/{mine}/?page=10"
        ),
        Page("  items API", *(f"/api/conversations/batch/{job}/items" for job in (big, mine))),
        Page(
            "  items API, offset 50000 / 500",
            f"/api/conversations/batch/{big}/items?offset=50000",
            f"/api/conversations/batch/{mine}/items?offset=500",
        ),
        Page(
            "  items API, status=failed",
            *(f"/api/conversations/batch/{job}/items?status=failed" for job in (big, mine)),
        ),
        Page("  status API", *(f"/api/conversations/batch/{job}/status" for job in (big, mine))),
        both("/runs/", "/runs/"),
        Page("/runs/<run>/", f"/runs/{run}/", f"/runs/{my_run}/"),
        Page("  ?page=100 (failures)", f"/runs/{run}/?page=100", f"/runs/{my_run}/?page=1"),
        Page("  run items API", *(f"/api/enrichment-runs/{r}/items" for r in (run, my_run))),
        Page(
            "  run items API, outcome=failed",
            *(f"/api/enrichment-runs/{r}/items?outcome=failed" for r in (run, my_run)),
        ),
        both("/api/enrichment-runs", "/api/enrichment-runs"),
        both("/training-files/", "/training-files/"),
        Page("  ?page=40", "/training-files/?page=40"),
        Page(
            "/training-files/<file>/", f"/training-files/{big_file}/", f"/training-files/{my_file}/"
        ),
        Page(
            "  ?page=1000 (members)",
            f"/training-files/{big_file}/?page=1000",
            f"/training-files/{my_file}/?page=2",
        ),
        both("/api/training-files", "/api/training-files"),
        Page(
            "  offset=1500 / 150",
            "/api/training-files?offset=1500",
            "/api/training-files?offset=150",
        ),
        both("  status=archived", "/api/training-files?status=archived"),
        Page("  one file", *(f"/api/training-files/{f}" for f in (big_file, my_file))),
        both("/api/review/queue", "/api/review/queue"),
        both("  sort=-quality", "/api/review/queue?sort=-quality"),
        both("  qualityMin=3.5", "/api/review/queue?qualityMin=3.5"),
        Page("  batch=<job>", f"/api/review/queue?batch={big}", f"/api/review/queue?batch={mine}"),
        both("/review/", "/review/"),
        Page("/admin/conversations/conversation/", "/admin/conversations/conversation/"),
        Page(
            "  status filter",
            "/admin/conversations/conversation/?enrichment_status__exact=validation_failed",
        ),
        Page("  search Priya", "/admin/conversations/conversation/?q=Priya"),
        Page(f"  p={deep}", f"/admin/conversations/conversation/?p={deep}"),
        Page("/admin/conversations/batchjob/", "/admin/conversations/batchjob/"),
        Page("/admin/enrichment/enrichmentrun/", "/admin/enrichment/enrichmentrun/"),
        Page("/admin/training/trainingfile/", "/admin/training/trainingfile/"),
        Page("  status filter (archived)", "/admin/training/trainingfile/?status__exact=archived"),
        Page(f"  p={files_page}", f"/admin/training/trainingfile/?p={files_page}"),
    ]


class Command(BaseCommand):
    help = "Scale benchmark: a large data set, then every list page and list API timed."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--scale", type=int, required=True, metavar="N")
        parser.add_argument("--repeat", type=int, default=5, help="timed requests per page")
        parser.add_argument("--only", default="", help="only pages whose URL contains this")
        parser.add_argument(
            "--explain",
            action="store_true",
            help="PostgreSQL: print the plan of each page's slowest query (EXPLAIN ANALYZE)",
        )

    def handle(self, *args, scale: int, repeat: int, only: str, explain: bool, **options):
        started = time.perf_counter()
        data = dataset.existing(scale, say=self.out)
        if data is None:
            self.out(f"making the data set of scale {scale:,} (files are not written)")
            data = dataset.create(scale, say=self.out)
            self.out(f"made in {time.perf_counter() - started:.0f} s")
        else:
            self.out(f"reusing the data set of scale {scale:,} already in the database")
        self.describe(data)
        clients = {}
        for role in ("staff", "user"):
            clients[role] = Client()
            clients[role].force_login(getattr(data, role))
        self.out(
            f"\nms: median and fastest of {repeat} requests, and the SQL queries of one; "
            "in-process (test client)"
        )
        head = f"{'median':>8} {'fastest':>7} {'q':>3}"
        self.out(f"{'':<44} {'staff':^20}   {'normal user':^20}")
        self.out(f"{'page':<44} {head}   {head}")
        slowest = 0.0
        for page in pages(data):
            if only and not any(only in (url or "") for url in (page.staff, page.user)):
                continue
            cells = []
            for role in ("staff", "user"):
                url = getattr(page, role)
                if url is None:
                    cells.append(f"{'—':>8} {'':>7} {'':>3}")
                    continue
                median, fastest, queries = self.measure(
                    clients[role], url, repeat, before=page.before, explain=explain
                )
                slowest = max(slowest, median)
                cells.append(f"{median:8.1f} {fastest:7.1f} {queries:3d}")
            self.out(f"{page.label:<44} {cells[0]}   {cells[1]}")
        self.out(f"\nslowest median: {slowest:.1f} ms")

    def out(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def describe(self, data: dataset.ScaleData) -> None:
        counts = {
            "conversations": Conversation.objects.count(),
            "of the staff user": Conversation.objects.filter(created_by=data.staff).count(),
            "of the normal user": Conversation.objects.filter(created_by=data.user).count(),
            "batch jobs": BatchJob.objects.count(),
            "batch items": BatchItem.objects.count(),
            "the big job's items": data.big_job.items.count(),
            "runs": EnrichmentRun.objects.count(),
            "run items": EnrichmentRunItem.objects.count(),
            "training files": TrainingFile.objects.count(),
            "their members": TrainingFileConversation.objects.count(),
        }
        shown = ", ".join(f"{k}: {v:,}" for k, v in counts.items())
        self.out(f"database: {connection.settings_dict['NAME']}; {shown}")

    def measure(
        self, client: Client, url: str, repeat: int, *, before, explain: bool
    ) -> tuple[float, float, int]:
        """Median and fastest milliseconds of ``repeat`` requests (after a warm-up), and
        the queries of one more; ``before`` runs, untimed, before each."""
        prepare = before or (lambda: None)
        prepare()
        self.get(client, url)
        times = []
        for _ in range(repeat):
            prepare()
            begun = time.perf_counter()
            self.get(client, url)
            times.append((time.perf_counter() - begun) * 1000)
        prepare()
        with CaptureQueriesContext(connection) as captured:
            self.get(client, url)
        if explain:
            self.explain(url, captured.captured_queries)
        return statistics.median(times), min(times), len(captured)

    @staticmethod
    def get(client: Client, url: str) -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise CommandError(f"GET {url} answered {response.status_code}")

    def explain(self, url: str, queries: list[dict]) -> None:
        query = max(queries, key=lambda q: float(q["time"]))
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS OFF) {query['sql']}")
            plan = [row[0] for row in cursor.fetchall()]
        self.out(f"    {url}: slowest query {float(query['time']) * 1000:.1f} ms")
        for line in plan[:12]:
            self.out(f"      {line}")
