"""A batch job has at most one unfinished enrichment run, whichever entry point asks: the
page, the admin, the API, the command line and auto-enrich each report the job's running
run instead of starting a second one (or enriching in the request beside it)."""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from conversations.models import BatchItemStatus, BatchJobStatus, Conversation, EnrichmentStatus
from enrichment.models import EnrichmentRun, RunSource, RunStatus
from enrichment.services import enrich_batch_job
from intake.lifecycle import finish_batch_job
from tests.admin.helpers import BATCH_JOBS, messages_of, run_action
from tests.factories import BatchItemFactory, BatchJobFactory, UserFactory, a_run
from tests.workers import seed, wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory(username="olga", is_staff=True, is_superuser=True)


@pytest.fixture
def job(owner):
    """A job of three successful items (small enough for the request) with a running run."""
    job = BatchJobFactory(
        created_by=owner, name="March batch", status=BatchJobStatus.PROCESSING, auto_enrich=True
    )
    for position in (1, 2, 3):
        BatchItemFactory(
            batch_job=job,
            position=position,
            status=BatchItemStatus.COMPLETED,
            conversation__created_by=owner,
        )
    return job


@pytest.fixture
def running(job, owner):
    run = a_run(
        Conversation.objects.values_list("pk", flat=True), job=job, user=owner, source="page"
    )
    EnrichmentRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    run.refresh_from_db()
    return run


def assert_nothing_new(running):
    assert list(EnrichmentRun.objects.values_list("pk", flat=True)) == [running.pk]
    assert not Conversation.objects.filter(enrichment_status=EnrichmentStatus.COMPLETED).exists()


def test_the_page_reports_the_running_run(client, owner, job, running):
    client.force_login(owner)

    response = client.post(f"/batch-jobs/{job.pk}/enrich/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response.context["run"] == running
    assert f'hx-get="/batch-jobs/{job.pk}/enrichment/?seen=' in response.content.decode()
    assert_nothing_new(running)


def test_the_admin_reports_the_running_run(client, owner, job, running):
    client.force_login(owner)

    response = run_action(client, BATCH_JOBS, "enrich_completed_items", [job])

    assert response.status_code == 302
    [(level, message)] = messages_of(response)
    assert level == "warning"
    assert message.startswith(
        f"“{running}” is already running over these conversations; nothing new was queued."
    )
    assert f'<a href="/runs/{running.pk}/">' in message
    assert_nothing_new(running)


def test_the_api_reports_the_running_run(owner, job, running):
    api = APIClient()
    api.force_login(owner)

    response = api.post("/api/enrichment-runs", {"batchJobId": str(job.pk)}, format="json")

    assert response.status_code == 200
    assert response["Location"] == f"/api/enrichment-runs/{running.pk}"
    assert (response.json()["id"], response.json()["status"]) == (str(running.pk), "running")
    assert_nothing_new(running)


@pytest.mark.parametrize("extra", [[], ["--background", "--detach"]], ids=["inline", "background"])
def test_the_command_line_reports_the_running_run(job, running, extra):
    out = StringIO()

    call_command("enrich", "--batch", str(job.pk), "--no-progress", "--detach", *extra, stdout=out)

    assert out.getvalue().splitlines()[:3] == [
        f"Run {running.pk} ({running.description}) is already going over these conversations; "
        "following it instead of starting another.",
        f"Its page: http://127.0.0.1:8000/runs/{running.pk}/",
        f"Follow it: GET /api/enrichment-runs/{running.pk}",
    ]
    assert_nothing_new(running)


def test_auto_enrich_reports_the_running_run(job, running):
    run = finish_batch_job(job)

    assert run == running
    job.refresh_from_db()
    assert job.status == BatchJobStatus.COMPLETED
    assert_nothing_new(running)


def test_a_new_run_starts_once_the_last_one_ended(owner, job, running):
    EnrichmentRun.objects.filter(pk=running.pk).update(status=RunStatus.COMPLETED)
    api = APIClient()
    api.force_login(owner)

    response = api.post("/api/enrichment-runs", {"batchJobId": str(job.pk)}, format="json")

    assert response.status_code == 202
    assert response.json()["id"] != str(running.pk)
    assert str(EnrichmentRun.objects.unfinished().get().pk) == response.json()["id"]


def test_the_database_refuses_a_second_unfinished_run_over_a_job(job, running):
    with pytest.raises(IntegrityError), transaction.atomic():
        EnrichmentRun.objects.create(source=RunSource.API, batch_job=job, total=1)

    EnrichmentRun.objects.create(
        source=RunSource.API,
        batch_job=job,
        total=1,
        status=RunStatus.CANCELLED,
    )
    assert EnrichmentRun.objects.of_batch_job(job.pk).count() == 2


@pytest.mark.django_db(transaction=True)
def test_every_entry_point_at_once_starts_one_run(settings):
    """Page, admin, API and auto-enrich racing on one job (above the bulk limit): one run."""
    settings.ENRICHMENT_BULK_LIMIT = 2
    owner = UserFactory(username="dana", is_staff=True, is_superuser=True)
    job = BatchJobFactory(created_by=owner, status=BatchJobStatus.PROCESSING, auto_enrich=True)
    for position in (1, 2, 3):
        BatchItemFactory(batch_job=job, position=position, conversation__created_by=owner)
    barrier = threading.Barrier(4)
    started: dict[str, str] = {}

    def page() -> str:
        return str(enrich_batch_job(job, user=owner).run.pk)

    def admin() -> str:
        client = APIClient()
        client.force_login(owner)
        run_action(client, BATCH_JOBS, "enrich_completed_items", [job])
        return str(EnrichmentRun.objects.get().pk)

    def api() -> str:
        client = APIClient()
        client.force_login(owner)
        return client.post(
            "/api/enrichment-runs", {"batchJobId": str(job.pk)}, format="json"
        ).json()["id"]

    def auto() -> str:
        return str(finish_batch_job(job).pk)

    def race(name, entry_point) -> None:
        try:
            barrier.wait()
            started[name] = entry_point()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=race, args=(name, entry_point))
        for name, entry_point in [("page", page), ("admin", admin), ("api", api), ("auto", auto)]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    [run] = EnrichmentRun.objects.all()
    assert started == {name: str(run.pk) for name in ("page", "admin", "api", "auto")}
    assert run.total == 3


@pytest.mark.worker
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_entry_points_report_the_run_a_real_worker_is_processing(workers, tmp_path):
    owner = UserFactory(username="wanda", is_staff=True, is_superuser=True)
    job = BatchJobFactory(
        created_by=owner, status=BatchJobStatus.PROCESSING, name="Big batch", auto_enrich=True
    )
    conversations = seed(owner, 400)
    for position, conversation in enumerate(conversations, start=1):
        BatchItemFactory(
            batch_job=job,
            position=position,
            status=BatchItemStatus.COMPLETED,
            conversation=conversation,
        )
    # Small chunks: the run takes a few seconds, long enough to knock on every door.
    workers.env["ENRICHMENT_RUN_CHUNK_SIZE"] = "2"
    first = enrich_batch_job(job, user=owner)
    assert first.created
    workers.start()
    wait_for(
        lambda: EnrichmentRun.objects.filter(pk=first.run.pk, status=RunStatus.RUNNING).exists(),
        timeout=60,
        what="the worker to take the run",
    )
    api = APIClient()
    api.force_login(owner)
    cli = StringIO()

    reported = {
        "page": enrich_batch_job(job, user=owner).run.pk,
        "api": api.post("/api/enrichment-runs", {"batchJobId": str(job.pk)}, format="json").json()[
            "id"
        ],
        "auto": finish_batch_job(job).pk,
    }
    call_command("enrich", "--batch", str(job.pk), "--background", "--detach", stdout=cli)
    still_running = EnrichmentRun.objects.get(pk=first.run.pk).status == RunStatus.RUNNING

    assert still_running, "the run ended before every entry point was tried; seed more"
    assert {name: str(pk) for name, pk in reported.items()} == {
        name: str(first.run.pk) for name in reported
    }
    assert f"Run {first.run.pk}" in cli.getvalue()
    wait_for(
        lambda: EnrichmentRun.objects.get(pk=first.run.pk).status == RunStatus.COMPLETED,
        timeout=120,
        what="the run to complete",
    )
    run = EnrichmentRun.objects.get()
    assert (run.total, run.enriched, run.failed, run.skipped) == (400, 400, 0, 0)
    assert Conversation.objects.filter(enrichment_status=EnrichmentStatus.COMPLETED).count() == 400
