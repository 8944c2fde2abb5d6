"""The scale benchmark makes its data set with set-based SQL and times every list."""

import io
import re

import pytest
from django.core.management import call_command
from django.db.models import Count

from conversations.models import BatchItem, Conversation
from devtools.management.commands.bench_scale import pages
from devtools.scale import STAFF_USERNAME, USER_USERNAME, existing
from enrichment.models import EnrichmentRun
from training.models import TrainingFile

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_bench_scale_makes_the_data_set_and_prints_every_page(media_root):
    out = io.StringIO()

    call_command("bench_scale", scale=500, repeat=1, stdout=out)

    text = out.getvalue()
    staff = Conversation.objects.filter(created_by__username=STAFF_USERNAME)
    assert (
        staff.count(),
        Conversation.objects.filter(created_by__username=USER_USERNAME).count(),
    ) == (
        500,
        50,
    )
    data = existing(500)
    big_job = data.big_job
    enriched = big_job.items.filter(conversation__enrichment_status="completed")
    assert (big_job.items.count(), big_job.conversations_total) == (50, 49)
    assert big_job.conversations_enriched == enriched.count() > 0
    assert BatchItem.objects.filter(conversation__isnull=False).count() == 550
    assert data.big_run.total == data.big_run.items.count() == 49
    assert EnrichmentRun.objects.count() == 3
    files = TrainingFile.objects.annotate(members=Count("memberships"))
    assert (
        files.filter(created_by=data.staff).count(),
        files.filter(created_by=data.user).count(),
    ) == (5, 1)
    completed_in_big_job = data.big_job.items.filter(
        conversation__enrichment_status="completed", conversation__is_active=True
    )
    assert data.big_file.memberships.count() == completed_in_big_job.count() > 0
    assert set(data.user_file.memberships.values_list("conversation__created_by", flat=True)) == {
        data.user.pk
    }
    assert all(f.conversation_count == f.members for f in files)
    assert 0 < data.user_file.memberships.count() <= 100
    assert "files are not written" in text
    for page in pages(data):
        # every page: a median, the fastest, and the queries, for each role it has
        row = re.search(rf"^{re.escape(page.label)} +(.*)$", text, re.MULTILINE)
        assert row, page.label
        cells = re.findall(r"\d+\.\d +\d+\.\d +\d+", row.group(1))
        assert len(cells) == (page.staff is not None) + (page.user is not None), page.label
    assert re.search(r"slowest median: [\d.]+ ms", text)
    assert not media_root.exists() or not list(media_root.rglob("*.json"))


def test_bench_scale_reuses_a_data_set_of_the_same_scale(media_root):
    call_command("bench_scale", scale=200, repeat=1, only="/runs/", stdout=io.StringIO())
    out = io.StringIO()

    call_command("bench_scale", scale=200, repeat=1, only="/runs/", stdout=out)

    assert "reusing the data set of scale 200" in out.getvalue()
    assert Conversation.objects.count() == 220
