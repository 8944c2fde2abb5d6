"""The batch-job pages: list, detail, progress polling, "Enrich All" (in the request, or
as a background run the page polls) and cancelling that run."""

import pytest
from django.test import Client

from conversations.models import BatchJobStatus, Conversation, EnrichmentStatus
from enrichment.models import EnrichmentRun, RunSource, RunStatus
from enrichment.runs import lanes
from enrichment.services import enrich_batch_job, enrich_one
from tests.counting import COUNT_QUERIES
from tests.factories import BatchJobFactory, UserFactory, a_run

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def statuses(job) -> dict[str, str]:
    return {
        c.conversation_name: c.enrichment_status
        for c in Conversation.objects.filter(batch_items__batch_job=job)
    }


# List ----------------------------------------------------------------------------


def test_batch_job_list_redirects_anonymous_users_to_login(client):
    response = client.get("/batch-jobs/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/batch-jobs/"


def test_batch_job_list_shows_own_jobs_newest_first_with_counts(
    make_job, user_client, user, other_user
):
    older = make_job(user, valid=2, name="Older batch")
    newer = make_job(user, valid=1, invalid=1, name="Newer batch")
    make_job(other_user, valid=1, name="Someone else's batch")
    first = older.items.get(position=1).conversation
    enrich_one(first, user=user, source=RunSource.PAGE)

    response = user_client.get("/batch-jobs/")

    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("Newer batch") < body.index("Older batch")
    assert "Someone else&#x27;s batch" not in body
    assert [job.name for job in response.context["page"].object_list] == [newer.name, older.name]
    assert "1 of 2" in body
    assert "0 of 2" in body
    assert '<span class="badge badge--job-completed">Completed</span>' in body
    assert "<html" in body


def test_batch_job_list_shows_every_job_to_staff(make_job, client, user):
    make_job(user, valid=1, name="Dana's batch")
    staff = UserFactory(username="admin", is_staff=True)
    client.force_login(staff)

    response = client.get("/batch-jobs/")

    assert response.status_code == 200
    assert [job.name for job in response.context["page"].object_list] == ["Dana's batch"]


def test_batch_job_list_htmx_request_gets_only_the_jobs_partial(make_job, user_client, user):
    make_job(user, valid=1, name="Only batch")

    response = user_client.get("/batch-jobs/", **HX)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="jobs"')
    assert "<html" not in body
    assert "Only batch" in body
    assert response["Vary"] == "HX-Request, Cookie"


def test_batch_job_list_paginates_25_jobs_per_page(user_client, user):
    for n in range(26):
        BatchJobFactory(created_by=user, name=f"Batch {n:02}")

    first = user_client.get("/batch-jobs/")
    second = user_client.get("/batch-jobs/?page=2")

    assert len(first.context["page"].object_list) == 25
    assert "Page 1 of 2" in first.content.decode()
    assert [job.name for job in second.context["page"].object_list] == ["Batch 00"]
    assert 'href="?page=1"' in second.content.decode()


@pytest.mark.parametrize("jobs", [1, 3])
def test_batch_job_list_takes_constant_queries(
    make_job, jobs, user_client, user, django_assert_num_queries
):
    for n in range(jobs):
        job = make_job(user, valid=1, name=f"Batch {n}")
        enrich_batch_job(job, user=user)

    # session, user, page count, page: the jobs' counts are stored with them, always true
    with django_assert_num_queries(3 + COUNT_QUERIES):
        response = user_client.get("/batch-jobs/")

    listed = response.context["page"].object_list
    assert [(job.conversations_total, job.conversations_enriched) for job in listed] == [
        (1, 1)
    ] * jobs


# Detail --------------------------------------------------------------------------


def test_batch_job_detail_redirects_anonymous_users_to_login(make_job, client, user):
    job = make_job(user, valid=1)

    response = client.get(f"/batch-jobs/{job.pk}/")

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/batch-jobs/{job.pk}/"


def test_batch_job_detail_of_another_users_job_is_not_found(make_job, user_client, other_user):
    job = make_job(other_user, valid=1)

    response = user_client.get(f"/batch-jobs/{job.pk}/")

    assert response.status_code == 404


def test_batch_job_detail_shows_header_progress_and_items(
    make_job, user_client, user, failed_item_factory
):
    job = make_job(user, valid=1, invalid=1, name="April batch")
    failed_item_factory(job, 3, error="The model timed out.")
    job.total_items, job.completed_items, job.successful_items, job.failed_items = 4, 3, 2, 1
    job.save()

    response = user_client.get(f"/batch-jobs/{job.pk}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert '<h1>April batch <span class="badge badge--job-completed">Completed</span></h1>' in body
    assert f"<code>{job.pk}</code>" in body
    assert "<strong>3 / 4</strong> processed" in body
    assert '<progress max="100" value="75"' in body
    assert "<dt>Successful</dt><dd>2</dd>" in body
    assert "<dt>Generation failed</dt><dd>1</dd>" in body
    assert "<dt>Remaining</dt><dd>1</dd>" in body
    assert "Valid chat 1" in body
    assert "Truncated chat 1" in body
    assert '<span class="badge badge--not_started">Not started</span>' in body
    assert '<span class="badge badge--item-failed">Failed</span>' in body
    assert '<span class="error-kind">Generation:</span> The model timed out.' in body
    assert [item.position for item in response.context["items"].object_list] == [1, 2, 3]
    assert "Enrich All" in body
    assert "Retry failed" not in body
    assert 'hx-trigger="every 2s"' not in body


def test_batch_job_detail_htmx_request_gets_only_the_items_partial(make_job, user_client, user):
    job = make_job(user, valid=2)

    response = user_client.get(f"/batch-jobs/{job.pk}/?page=1", **HX)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="items"')
    assert f'hx-get="/batch-jobs/{job.pk}/?page=1"' in body
    assert (
        'hx-trigger="enrichment-done from:body, enrichment-progress from:body, '
        'items-added from:body"' in body
    )
    assert "Valid chat 2" in body
    assert "Enrich All" not in body
    assert "<html" not in body
    assert response["Vary"] == "HX-Request, Cookie"


def test_batch_job_detail_paginates_items_50_per_page(
    make_job, user_client, user, failed_item_factory
):
    job = make_job(user, valid=1)
    for position in range(2, 53):
        failed_item_factory(job, position)

    response = user_client.get(f"/batch-jobs/{job.pk}/?page=2", **HX)

    assert response.status_code == 200
    assert [i.position for i in response.context["items"].object_list] == [51, 52]
    assert "Page 2 of 2" in response.content.decode()


@pytest.mark.parametrize("items", [1, 3])
def test_batch_job_detail_takes_constant_queries(
    make_job, items, user_client, user, django_assert_num_queries
):
    job = make_job(user, valid=items)

    # session, user, job, items count, items page, latest run
    with django_assert_num_queries(5 + COUNT_QUERIES):
        response = user_client.get(f"/batch-jobs/{job.pk}/")

    assert len(response.context["items"].object_list) == items
    assert response.context["state"].total == items


@pytest.mark.parametrize("items", [1, 3])
def test_batch_job_detail_with_failures_takes_constant_queries(
    make_job, items, user_client, user, django_assert_num_queries
):
    job = make_job(user, valid=items, invalid=1)
    enrich_batch_job(job, user=user)

    # as above, its failed conversations and how many of them failed validation
    with django_assert_num_queries(7 + COUNT_QUERIES):
        response = user_client.get(f"/batch-jobs/{job.pk}/")

    state = response.context["state"]
    assert (state.total, state.enriched, state.failed) == (items + 1, items, 1)
    assert [failure.name for failure in state.failures] == ["Truncated chat 1"]


@pytest.mark.parametrize("items", [1, 3])
def test_batch_job_items_partial_query_count_does_not_grow_with_items(
    make_job, items, user_client, user, django_assert_num_queries
):
    job = make_job(user, valid=items)

    # session, user, job, items count, items page
    with django_assert_num_queries(4 + COUNT_QUERIES):
        response = user_client.get(f"/batch-jobs/{job.pk}/", **HX)

    assert len(response.context["items"].object_list) == items


@pytest.mark.parametrize(
    "status", [BatchJobStatus.COMPLETED, BatchJobStatus.CANCELLED, BatchJobStatus.FAILED]
)
def test_enrich_all_is_offered_for_every_finished_job_with_unenriched_conversations(
    make_job, status, user_client, user
):
    job = make_job(user, valid=1, status=status)

    response = user_client.get(f"/batch-jobs/{job.pk}/")

    assert response.status_code == 200
    assert ">Enrich All</button>" in response.content.decode()


def test_enrich_all_is_not_offered_while_the_job_is_processing(make_job, user_client, user):
    job = make_job(user, valid=1, status=BatchJobStatus.PROCESSING)

    response = user_client.get(f"/batch-jobs/{job.pk}/")

    body = response.content.decode()
    assert "Enrich All" not in body
    assert "Enrichment is offered when the job has finished." in body
    assert f'hx-get="/batch-jobs/{job.pk}/progress/?seen=1" hx-trigger="every 2s"' in body


def test_enrich_all_is_not_offered_when_every_conversation_is_enriched(make_job, user_client, user):
    job = make_job(user, valid=2)
    enrich_batch_job(job, user=user)

    response = user_client.get(f"/batch-jobs/{job.pk}/")

    body = response.content.decode()
    assert "Enrich All" not in body
    assert "All 2 successful conversations are enriched." in body


# Progress polling ----------------------------------------------------------------


def test_progress_partial_keeps_polling_while_the_job_runs(make_job, user_client, user):
    job = make_job(user, valid=1, status=BatchJobStatus.PROCESSING)

    response = user_client.get(f"/batch-jobs/{job.pk}/progress/", **HX)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="progress"')
    assert 'hx-trigger="every 2s"' in body
    assert "HX-Refresh" not in response


def test_progress_partial_reloads_the_page_once_the_job_has_finished(make_job, user_client, user):
    job = make_job(user, valid=1, status=BatchJobStatus.COMPLETED)

    response = user_client.get(f"/batch-jobs/{job.pk}/progress/", **HX)

    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"
    assert 'hx-trigger="every 2s"' not in response.content.decode()


def test_progress_without_htmx_redirects_to_the_job_page(make_job, user_client, user):
    job = make_job(user, valid=1)

    response = user_client.get(f"/batch-jobs/{job.pk}/progress/")

    assert response.status_code == 302
    assert response["Location"] == f"/batch-jobs/{job.pk}/"


def test_progress_of_another_users_job_is_not_found(make_job, user_client, other_user):
    job = make_job(other_user, valid=1)

    response = user_client.get(f"/batch-jobs/{job.pk}/progress/", **HX)

    assert response.status_code == 404


# Enrich All ----------------------------------------------------------------------


def test_enrich_all_with_htmx_swaps_in_the_summary_and_stored_state(make_job, user_client, user):
    job = make_job(user, valid=2, invalid=1)

    response = user_client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "enrichment-done"
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="enrichment"')
    assert "Enriched: 2, Failed: 1, Skipped: 0" in body
    assert "<dt>Enriched</dt><dd>2</dd>" in body
    assert "<dt>Enrichment failed</dt><dd>1</dd>" in body
    assert "<dt>Not enriched yet</dt><dd>0</dd>" in body
    assert "Truncated chat 1" in body
    assert "INVALID_JSON_SYNTAX" in body
    assert ">Retry failed</button>" in body
    assert statuses(job) == {
        "Valid chat 1": EnrichmentStatus.COMPLETED,
        "Valid chat 2": EnrichmentStatus.COMPLETED,
        "Truncated chat 1": EnrichmentStatus.VALIDATION_FAILED,
    }
    failed = Conversation.objects.get(conversation_name="Truncated chat 1")
    assert failed.enrichment_error.startswith("Validation failed: INVALID_JSON_SYNTAX")


def test_enrich_all_a_second_time_skips_everything_including_known_failures(
    make_job, user_client, user
):
    job = make_job(user, valid=2, invalid=1)
    user_client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)
    enriched = Conversation.objects.get(conversation_name="Valid chat 1")
    failed = Conversation.objects.get(conversation_name="Truncated chat 1")
    first_enriched_at, first_failed_at = enriched.enriched_at, failed.updated_at

    response = user_client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)

    assert response.status_code == 200
    assert (
        "Enriched: 0, Failed: 0, Skipped: 3 (2 already enriched, 1 failed before)"
        in response.content.decode()
    )
    enriched.refresh_from_db()
    failed.refresh_from_db()
    assert enriched.enriched_at == first_enriched_at
    # The failure is left for "Retry failed", not re-run.
    assert failed.updated_at == first_failed_at
    assert failed.enrichment_status == EnrichmentStatus.VALIDATION_FAILED


def test_enrich_all_summary_survives_a_reload(make_job, user_client, user):
    job = make_job(user, valid=2, invalid=1)
    user_client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)

    response = user_client.get(f"/batch-jobs/{job.pk}/")

    body = response.content.decode()
    assert "<dt>Enriched</dt><dd>2</dd>" in body
    assert "<dt>Enrichment failed</dt><dd>1</dd>" in body
    assert "Validation failed: INVALID_JSON_SYNTAX" in body
    assert body.count('<span class="badge badge--completed">Completed</span>') == 2


def test_enrich_all_without_htmx_redirects_back_with_a_message(make_job, user_client, user):
    job = make_job(user, valid=1, invalid=1)

    response = user_client.post(f"/batch-jobs/{job.pk}/enrich/")

    assert response.status_code == 302
    assert response["Location"] == f"/batch-jobs/{job.pk}/"
    page = user_client.get(response["Location"]).content.decode()
    assert "Enriched: 1, Failed: 1, Skipped: 0." in page
    assert statuses(job) == {
        "Valid chat 1": EnrichmentStatus.COMPLETED,
        "Truncated chat 1": EnrichmentStatus.VALIDATION_FAILED,
    }


def test_retry_failed_runs_only_the_failed_conversations(make_job, user_client, user):
    job = make_job(user, valid=1, invalid=1)
    user_client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)

    response = user_client.post(f"/batch-jobs/{job.pk}/enrich/", {"only_failed": "1"}, **HX)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Retry finished." in body
    assert "Enriched: 0, Failed: 1, Skipped: 0" in body


def test_retry_failed_is_not_the_next_step_when_only_validation_failures_are_left(
    make_job, user_client, user
):
    job = make_job(user, valid=1, invalid=2)
    user_client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)

    body = user_client.get(f"/batch-jobs/{job.pk}/").content.decode()

    panel = body.split('id="enrichment"')[1].split("</section>")[0]
    assert 'class="button">Retry failed</button>' in panel
    assert 'button--primary">Retry failed' not in panel
    assert 'class="button button--primary" href="/training-files/new/' in panel
    assert "so Retry failed would fail them again" in panel


def test_retry_failed_stays_the_next_step_for_failures_a_retry_may_fix(make_job, user_client, user):
    job = make_job(user, valid=1, invalid=1)
    user_client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)
    Conversation.objects.filter(enrichment_status=EnrichmentStatus.VALIDATION_FAILED).update(
        enrichment_status=EnrichmentStatus.ENRICHMENT_FAILED
    )

    body = user_client.get(f"/batch-jobs/{job.pk}/").content.decode()

    assert 'class="button button--primary">Retry failed</button>' in body
    assert "would fail them again" not in body


def test_enrich_all_works_for_a_cancelled_job(make_job, user_client, user):
    job = make_job(user, valid=1, status=BatchJobStatus.CANCELLED)

    response = user_client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)

    assert response.status_code == 200
    assert "Enriched: 1, Failed: 0, Skipped: 0" in response.content.decode()
    assert statuses(job) == {"Valid chat 1": EnrichmentStatus.COMPLETED}


def test_enrich_all_on_another_users_job_is_not_found_and_enriches_nothing(
    make_job, user_client, other_user
):
    job = make_job(other_user, valid=1)

    response = user_client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)

    assert response.status_code == 404
    assert statuses(job) == {"Valid chat 1": EnrichmentStatus.NOT_STARTED}


def test_enrich_all_refuses_get(make_job, user_client, user):
    job = make_job(user, valid=1)

    response = user_client.get(f"/batch-jobs/{job.pk}/enrich/")

    assert response.status_code == 405
    assert statuses(job) == {"Valid chat 1": EnrichmentStatus.NOT_STARTED}


def test_enrich_all_needs_the_csrf_token_that_the_page_sends_in_hx_headers(make_job, user):
    job = make_job(user, valid=1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get(f"/batch-jobs/{job.pk}/")
    token = page.context["csrf_token"]

    refused = client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)
    accepted = client.post(f"/batch-jobs/{job.pk}/enrich/", HTTP_X_CSRFTOKEN=str(token), **HX)

    assert f'hx-headers=\'{{"X-CSRFToken": "{token}"}}\'' in page.content.decode()
    assert refused.status_code == 403
    assert accepted.status_code == 200
    assert statuses(job) == {"Valid chat 1": EnrichmentStatus.COMPLETED}


# Enrich All as a background run ------------------------------------------------------

POLL_EVERY_SECOND = 'hx-trigger="every 1s"'


def test_enrich_all_over_100_conversations_starts_one_run_that_the_panel_polls(
    make_job, user_client, user, beating_worker
):
    job = make_job(user, valid=101, name="Big batch")

    first = user_client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)
    second = user_client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)

    run = EnrichmentRun.objects.get()
    assert (run.total, run.batch_job_id, run.source) == (101, job.pk, RunSource.PAGE)
    assert run.description == "Batch job “Big batch”"
    for response in (first, second):
        assert response.status_code == 200
        assert "HX-Trigger" not in response
        body = response.content.decode()
        assert body.lstrip().startswith('<section id="enrichment"')
        assert (
            f'hx-get="/batch-jobs/{job.pk}/enrichment/?seen=0" {POLL_EVERY_SECOND} '
            'hx-target="this" hx-swap="outerHTML"'
        ) in body
        assert "<strong>0 / 101</strong> processed" in body
        assert '<progress max="100" value="0"' in body
        assert "<dt>Time left</dt><dd>Estimating…</dd>" in body
        assert f'action="/batch-jobs/{job.pk}/cancel-run/"' in body
        assert f'<input type="hidden" name="run" value="{run.pk}">' in body
        assert ">Cancel run</button>" in body
        assert ">Enrich All</button>" not in body
        assert f'<a href="/runs/{run.pk}/">Run details</a>' in body
    assert statuses(job) == {f"Valid chat {n}": EnrichmentStatus.NOT_STARTED for n in range(1, 102)}

    lanes.process_run(run.pk)
    finished = user_client.get(f"/batch-jobs/{job.pk}/enrichment/", **HX)

    assert finished.status_code == 200
    assert finished["HX-Trigger"] == "enrichment-done"
    body = finished.content.decode()
    assert body.lstrip().startswith('<section id="enrichment"')
    assert POLL_EVERY_SECOND not in body
    assert (
        '<p class="result__summary"><strong>Enrichment finished.</strong>\n'
        "    Enriched: 101, Failed: 0, Skipped: 0</p>"
    ) in body
    assert "<dt>Enriched</dt><dd>101</dd>" in body
    assert "All 101 successful conversations are enriched." in body
    assert ">Cancel run</button>" not in body


def test_a_run_that_ends_in_failures_shows_the_sync_summary_and_offers_retry(
    make_job, user_client, user, settings
):
    settings.ENRICHMENT_BULK_LIMIT = 2
    job = make_job(user, valid=2, invalid=1)
    user_client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)
    run = EnrichmentRun.objects.get()
    lanes.process_run(run.pk)

    response = user_client.get(f"/batch-jobs/{job.pk}/enrichment/", **HX)

    body = response.content.decode()
    assert "Enriched: 2, Failed: 1, Skipped: 0" in body
    assert '<div class="result result--warning" role="status">' in body
    assert "<dt>Enriched</dt><dd>2</dd>" in body
    assert "<dt>Enrichment failed</dt><dd>1</dd>" in body
    assert "Truncated chat 1" in body
    assert "INVALID_JSON_SYNTAX" in body
    # Nothing is left that Enrich All would do, and the failure is one a retry repeats.
    assert "Enrich All" not in body
    assert '<button type="submit" class="button">Retry failed</button>' in body
    assert "so Retry failed would fail it again" in body
    assert POLL_EVERY_SECOND not in body


def test_job_page_reload_shows_the_runs_progress_then_its_summary(
    make_job, user_client, user, settings
):
    settings.ENRICHMENT_BULK_LIMIT = 2
    job = make_job(user, valid=3)
    user_client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)
    run = EnrichmentRun.objects.get()

    during = user_client.get(f"/batch-jobs/{job.pk}/").content.decode()
    lanes.process_run(run.pk)
    after = user_client.get(f"/batch-jobs/{job.pk}/").content.decode()

    assert f'hx-get="/batch-jobs/{job.pk}/enrichment/?seen=0" {POLL_EVERY_SECOND}' in during
    assert "<strong>0 / 3</strong> processed" in during
    assert ">Cancel run</button>" in during
    assert ">Enrich All</button>" not in during
    assert POLL_EVERY_SECOND not in after
    assert "Enriched: 3, Failed: 0, Skipped: 0" in after
    assert "Background run completed" in after
    assert "All 3 successful conversations are enriched." in after
    assert after.count('<span class="badge badge--completed">Completed</span>') == 3


def test_enrich_all_over_the_limit_without_htmx_redirects_to_the_polling_page(
    make_job, user_client, user, settings
):
    settings.ENRICHMENT_BULK_LIMIT = 2
    job = make_job(user, valid=3)

    response = user_client.post(f"/batch-jobs/{job.pk}/enrich/")

    assert response.status_code == 302
    assert response["Location"] == f"/batch-jobs/{job.pk}/"
    page = user_client.get(response["Location"]).content.decode()
    assert "Enrichment runs in the background: 0 of 3 conversations processed." in page
    assert POLL_EVERY_SECOND in page
    assert EnrichmentRun.objects.count() == 1


def test_retry_failed_over_the_limit_starts_a_run_over_the_failed_ones(
    make_job, user_client, user, settings
):
    job = make_job(user, valid=1, invalid=2)
    user_client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)
    settings.ENRICHMENT_BULK_LIMIT = 1

    response = user_client.post(f"/batch-jobs/{job.pk}/enrich/", {"only_failed": "1"}, **HX)

    assert response.status_code == 200
    assert "<strong>0 / 2</strong> processed" in response.content.decode()
    run = EnrichmentRun.objects.get()
    assert sorted(i.conversation.conversation_name for i in run.items.all()) == [
        "Truncated chat 1",
        "Truncated chat 2",
    ]


def test_enrichment_panel_without_htmx_redirects_to_the_job_page(make_job, user_client, user):
    job = make_job(user, valid=1)

    response = user_client.get(f"/batch-jobs/{job.pk}/enrichment/")

    assert response.status_code == 302
    assert response["Location"] == f"/batch-jobs/{job.pk}/"


def test_enrichment_panel_of_another_users_job_is_not_found(make_job, user_client, other_user):
    job = make_job(other_user, valid=1)

    response = user_client.get(f"/batch-jobs/{job.pk}/enrichment/", **HX)

    assert response.status_code == 404


def test_job_page_shows_an_automatic_run_and_its_owner_can_cancel_it(make_job, user_client, user):
    job = make_job(user, valid=2)
    run = a_run(
        [i.conversation_id for i in job.items.all()],
        user=None,
        source=RunSource.AUTO,
        job=job,
    )

    page = user_client.get(f"/batch-jobs/{job.pk}/").content.decode()
    cancel = user_client.post(f"/batch-jobs/{job.pk}/cancel-run/", {"run": run.pk}, **HX)

    assert "<strong>0 / 2</strong> processed" in page
    assert "Run details" not in page  # the run page is its starter's and staff's
    assert cancel.status_code == 200
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED


# Cancelling from the job page ------------------------------------------------------


def test_cancel_on_the_job_page_with_htmx_swaps_in_the_cancelled_summary(
    make_job, user_client, user, settings
):
    settings.ENRICHMENT_BULK_LIMIT = 2
    job = make_job(user, valid=3)
    user_client.post(f"/batch-jobs/{job.pk}/enrich/", **HX)
    run = EnrichmentRun.objects.get()

    response = user_client.post(f"/batch-jobs/{job.pk}/cancel-run/", {"run": run.pk}, **HX)
    again = user_client.post(f"/batch-jobs/{job.pk}/cancel-run/", {"run": run.pk}, **HX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "enrichment-done"
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="enrichment"')
    assert "<strong>Enrichment cancelled.</strong>" in body
    assert "Enriched: 0, Failed: 0, Skipped: 0; 3 not processed" in body
    assert POLL_EVERY_SECOND not in body
    assert ">Enrich All</button>" in body
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert again.status_code == 200
    assert "HX-Trigger" not in again
    assert "The run is already cancelled." in again.content.decode()


def test_cancel_on_the_job_page_without_htmx_redirects_with_a_message(
    make_job, user_client, user, settings
):
    settings.ENRICHMENT_BULK_LIMIT = 2
    job = make_job(user, valid=3)
    user_client.post(f"/batch-jobs/{job.pk}/enrich/")
    run = EnrichmentRun.objects.get()

    response = user_client.post(f"/batch-jobs/{job.pk}/cancel-run/", {"run": run.pk})
    page = user_client.get(response["Location"]).content.decode()
    again = user_client.post(f"/batch-jobs/{job.pk}/cancel-run/", {"run": run.pk}, follow=True)

    assert response.status_code == 302
    assert response["Location"] == f"/batch-jobs/{job.pk}/"
    assert "Enrichment cancelled: 0 of 3 conversations processed." in page
    assert "<strong>Enrichment cancelled.</strong>" in page
    assert again.redirect_chain == [(f"/batch-jobs/{job.pk}/", 302)]
    assert "The run is already cancelled." in again.content.decode()


def test_cancel_of_a_run_of_another_job_is_not_found(make_job, user_client, user, settings):
    settings.ENRICHMENT_BULK_LIMIT = 1
    job = make_job(user, valid=2, name="One")
    other = make_job(user, valid=2, name="Two")
    user_client.post(f"/batch-jobs/{other.pk}/enrich/", **HX)
    run = EnrichmentRun.objects.get()

    wrong_job = user_client.post(f"/batch-jobs/{job.pk}/cancel-run/", {"run": run.pk}, **HX)
    malformed = user_client.post(f"/batch-jobs/{job.pk}/cancel-run/", {"run": "nope"}, **HX)

    assert (wrong_job.status_code, malformed.status_code) == (404, 404)
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED


def test_cancel_on_another_users_job_is_not_found(make_job, user_client, other_user, settings):
    settings.ENRICHMENT_BULK_LIMIT = 1
    job = make_job(other_user, valid=2)
    run = a_run(
        [i.conversation_id for i in job.items.all()],
        user=other_user,
        source=RunSource.PAGE,
        job=job,
    )

    response = user_client.post(f"/batch-jobs/{job.pk}/cancel-run/", {"run": run.pk}, **HX)

    assert response.status_code == 404
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
