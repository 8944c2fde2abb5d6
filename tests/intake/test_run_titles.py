"""A run over a batch job is titled with the job's name, never its id, whichever entry
point started it: the API (a run by job, a completed job's auto-enrichment, a retry), the
job's page ("Enrich All", "Retry failed"), the admin, the command line and an import."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from conversations.models import BatchJob, BatchJobStatus, Conversation, EnrichmentStatus
from enrichment.models import EnrichmentRun, RunSource
from enrichment.runs import lanes
from tests.admin.helpers import BATCH_JOBS, run_action
from tests.factories import BatchItemFactory, BatchJobFactory, UserFactory, conversation_document

pytestmark = pytest.mark.django_db

NAME = "Nightly generation 42"
TITLE = "Batch job “Nightly generation 42”"


@pytest.fixture
def owner():
    return UserFactory(username="olga", is_staff=True, is_superuser=True)


@pytest.fixture
def job(owner, settings):
    # Over the bulk limit, so that every entry point starts a run.
    settings.ENRICHMENT_BULK_LIMIT = 2
    job = BatchJobFactory(created_by=owner, name=NAME, status=BatchJobStatus.COMPLETED)
    for position in (1, 2, 3):
        BatchItemFactory(batch_job=job, position=position, conversation__created_by=owner)
    return job


def api_for(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def page_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def only_run() -> EnrichmentRun:
    [run] = EnrichmentRun.objects.all()
    return run


def test_a_run_started_through_the_api_is_titled_with_the_jobs_name(owner, job):
    response = api_for(owner).post(
        "/api/enrichment-runs", {"batchJobId": str(job.pk)}, format="json"
    )

    assert response.status_code == 202
    assert response.json()["description"] == TITLE
    assert only_run().description == TITLE


def test_a_completed_jobs_auto_enrichment_is_titled_with_its_name(owner, settings):
    api = api_for(owner)
    job = api.post("/api/batch-jobs", {"name": NAME}, format="json").json()
    api.post(
        f"/api/batch-jobs/{job['id']}/items",
        {"items": [{"conversation": conversation_document()}]},
        format="json",
    )

    response = api.post(f"/api/batch-jobs/{job['id']}/complete")

    assert response.json()["enrichmentRun"]["description"] == TITLE
    run = only_run()
    assert (run.description, run.source) == (TITLE, RunSource.AUTO)


def test_enrich_all_and_retry_failed_on_the_page_are_titled_with_the_jobs_name(owner, job):
    client = page_for(owner)
    client.post(f"/batch-jobs/{job.pk}/enrich/")
    first = only_run()
    lanes.process_run(first.pk)
    Conversation.objects.update(enrichment_status=EnrichmentStatus.VALIDATION_FAILED)

    client.post(f"/batch-jobs/{job.pk}/enrich/", {"only_failed": "1"})

    retry = EnrichmentRun.objects.exclude(pk=first.pk).get()
    assert first.description == TITLE
    assert retry.description == f"Retry failed: {TITLE}"
    page = client.get(f"/runs/{retry.pk}/").content.decode()
    assert f"<h1>Retry failed: {TITLE}</h1>" in page


def test_a_run_started_from_the_admin_is_titled_with_the_jobs_name(owner, job):
    run_action(page_for(owner), BATCH_JOBS, "enrich_completed_items", [job])

    assert only_run().description == TITLE


def test_a_run_started_from_the_command_line_is_titled_with_the_jobs_name(job):
    call_command("enrich", "--batch", str(job.pk), "--background", "--detach", stdout=StringIO())

    assert only_run().description == TITLE


def test_an_imports_auto_enrichment_is_titled_with_the_jobs_name(owner, tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(conversation_document()))
    out = StringIO()

    call_command("import_conversations", path, "--owner", "olga", "--batch-name", NAME, stdout=out)

    job = BatchJob.objects.get()
    assert json.loads(out.getvalue().splitlines()[-1])["batchJobId"] == str(job.pk)
    assert only_run().description == TITLE


def test_a_retry_of_a_jobs_run_through_the_api_keeps_the_jobs_name(owner, job):
    api = api_for(owner)
    started = api.post("/api/enrichment-runs", {"batchJobId": str(job.pk)}, format="json")
    run = EnrichmentRun.objects.get(pk=started.json()["id"])
    item = run.items.order_by("position").first()
    item.conversation.file_path = ""
    item.conversation.save()
    lanes.process_run(run.pk)

    response = api.post(f"/api/enrichment-runs/{run.pk}/retry-failed")

    assert response.status_code == 202
    assert response.json()["description"] == f"Retry of failed: {TITLE}"
    assert str(job.pk) not in response.json()["description"]
