import json
from io import StringIO

import pytest
from django.core.management import call_command

from conversations.models import BatchJob, BatchJobStatus
from enrichment.models import EnrichmentRun, RunSource
from intake.lifecycle import finish_batch_job
from tests.factories import BatchItemFactory, BatchJobFactory, UserFactory, conversation_document
from tests.jobs import queued

pytestmark = pytest.mark.django_db


def job_with(statuses, *, auto_enrich=True, status=BatchJobStatus.PROCESSING) -> BatchJob:
    job = BatchJobFactory(auto_enrich=auto_enrich, status=status)
    for position, item_status in enumerate(statuses, start=1):
        BatchItemFactory(
            batch_job=job,
            position=position,
            status=item_status,
            conversation=None if item_status == "failed" else BatchItemFactory.conversation,
        )
    return job


def test_a_finished_job_with_auto_enrich_starts_a_run_over_its_successful_conversations(
    django_capture_on_commit_callbacks,
):
    job = job_with(["completed", "failed", "completed"])
    wanted = list(
        job.items.filter(status="completed")
        .order_by("position")
        .values_list("conversation_id", flat=True)
    )

    with django_capture_on_commit_callbacks(execute=True):
        run = finish_batch_job(job)

    job.refresh_from_db()
    assert job.status == BatchJobStatus.COMPLETED
    assert (job.total_items, job.completed_items, job.successful_items, job.failed_items) == (
        3,
        3,
        2,
        1,
    )
    assert job.completed_at is not None
    assert run.source == RunSource.AUTO
    assert run.batch_job_id == job.pk
    assert run.created_by == job.created_by
    assert list(run.items.order_by("position").values_list("conversation_id", flat=True)) == (
        wanted
    )
    assert queued("enrich_run_lane", run_id=str(run.pk)).exists()


def test_a_job_whose_items_all_failed_ends_failed_and_starts_nothing():
    job = job_with(["failed", "failed"])

    run = finish_batch_job(job)

    job.refresh_from_db()
    assert job.status == BatchJobStatus.FAILED
    assert run is None
    assert EnrichmentRun.objects.count() == 0


@pytest.mark.parametrize("status", [BatchJobStatus.CANCELLED, BatchJobStatus.FAILED])
def test_a_cancelled_or_failed_job_with_successful_items_is_auto_enriched_too(status):
    job = job_with(["completed", "queued"])

    run = finish_batch_job(job, status=status)

    job.refresh_from_db()
    assert job.status == status
    assert run.total == 1


def test_auto_enrich_off_starts_no_run():
    job = job_with(["completed"], auto_enrich=False)

    run = finish_batch_job(job)

    job.refresh_from_db()
    assert job.status == BatchJobStatus.COMPLETED
    assert run is None
    assert EnrichmentRun.objects.count() == 0


def test_finishing_a_finished_job_again_starts_no_second_run():
    job = job_with(["completed"])
    finish_batch_job(job)

    again = finish_batch_job(job)

    assert again is None
    assert EnrichmentRun.objects.count() == 1


def test_import_conversations_auto_enriches_unless_told_not_to(tmp_path):
    UserFactory(username="owner")
    path = tmp_path / "one.json"
    path.write_text(json.dumps(conversation_document()))

    auto = StringIO()
    call_command("import_conversations", path, "--owner", "owner", stdout=auto)
    manual = StringIO()
    call_command(
        "import_conversations",
        path,
        "--owner",
        "owner",
        "--no-auto-enrich",
        "--allow-duplicates",
        stdout=manual,
    )

    auto_summary = json.loads(auto.getvalue().splitlines()[-1])
    manual_summary = json.loads(manual.getvalue().splitlines()[-1])
    run = EnrichmentRun.objects.get()
    assert auto_summary["enrichmentRunId"] == str(run.pk)
    assert run.batch_job_id == BatchJob.objects.get(pk=auto_summary["batchJobId"]).pk
    assert "Auto-enrich: run" in auto.getvalue()
    assert manual_summary["enrichmentRunId"] is None
    assert BatchJob.objects.get(pk=manual_summary["batchJobId"]).auto_enrich is False
