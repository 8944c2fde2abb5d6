"""Numbers and times read the same on every page: thousands grouped (15,394, as the lists
print them) and times with their time zone."""

import re

import pytest

from conversations.models import BatchJob
from enrichment.models import EnrichmentRun
from tests.factories import BatchJobFactory, EnrichmentRunFactory, TrainingFileFactory

pytestmark = pytest.mark.django_db

BARE_BIG_NUMBER = re.compile(r">\s*1\d{4}\b")


def test_a_job_page_groups_thousands_and_says_utc(user_client, user):
    job = BatchJobFactory(created_by=user, status="completed")
    BatchJob.objects.filter(pk=job.pk).update(
        total_items=15394,
        completed_items=15394,
        successful_items=15390,
        failed_items=4,
        conversations_total=15390,
        conversations_enriched=12001,
        conversations_failed=10,
    )

    detail = user_client.get(f"/batch-jobs/{job.pk}/").content.decode()
    listed = user_client.get("/batch-jobs/").content.decode()

    assert "<strong>15,394 / 15,394</strong> processed" in detail
    assert "<dt>Successful</dt><dd>15,390</dd>" in detail
    assert "<dt>Enriched</dt><dd>12,001</dd>" in detail
    assert not BARE_BIG_NUMBER.search(detail), BARE_BIG_NUMBER.findall(detail)
    assert "12,001 of 15,390" in listed
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>", listed)


def test_a_run_page_groups_thousands_and_says_utc(user_client, user):
    run = EnrichmentRunFactory(created_by=user, status="running")
    EnrichmentRun.objects.filter(pk=run.pk).update(total=15394, enriched=10500, skipped=1200)

    detail = user_client.get(f"/runs/{run.pk}/").content.decode()
    listed = user_client.get("/runs/").content.decode()

    assert "<strong>11,700 / 15,394</strong> processed" in detail
    assert "<dt>Enriched</dt><dd>10,500</dd>" in detail
    assert "<dt>Remaining</dt><dd>3,694</dd>" in detail
    assert re.search(r"\d\d:\d\d:\d\d UTC</time>", detail)
    assert "11,700 / 15,394" in listed


def test_a_training_file_page_groups_thousands(user_client, user):
    training_file = TrainingFileFactory(
        created_by=user, conversation_count=15394, total_training_pairs=123456
    )

    detail = user_client.get(f"/training-files/{training_file.pk}/").content.decode()

    assert "<div><dt>Conversations</dt><dd>15,394</dd></div>" in detail
    assert "<div><dt>Training pairs</dt><dd>123,456</dd></div>" in detail
