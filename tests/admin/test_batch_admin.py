"""Batch jobs and their items in the admin, and enriching a job's completed items."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import BatchItemStatus, BatchJobStatus, Conversation, EnrichmentStatus
from enrichment.models import EnrichmentRun, ItemOutcome, RunSource, RunStatus
from tests.admin.helpers import (
    BATCH_ITEMS,
    BATCH_JOBS,
    action_choices,
    messages_of,
    run_action,
    run_links,
)
from tests.factories import BatchItemFactory, BatchJobFactory, ConversationFactory
from tests.jobs import queued

# Session, user, the two counts, and the page of jobs with their owners.
JOB_LIST_QUERIES = 5
# Session, user, the job filter's choices, the two counts, and the page of items with
# their job and conversation.
ITEM_LIST_QUERIES = 6


@pytest.mark.parametrize("rows", [1, 3])
def test_batch_job_list_costs_the_same_queries_for_1_and_3_rows(
    admin_client, django_assert_num_queries, rows
):
    BatchJobFactory.create_batch(rows)

    with django_assert_num_queries(JOB_LIST_QUERIES):
        response = admin_client.get(BATCH_JOBS)

    assert len(response.context["cl"].result_list) == rows


def test_batch_job_list_shows_status_and_counters(admin_client):
    BatchJobFactory(
        name="March batch",
        status=BatchJobStatus.PROCESSING,
        total_items=10,
        completed_items=4,
        successful_items=3,
        failed_items=1,
    )

    response = admin_client.get(BATCH_JOBS)

    content = response.content.decode()
    assert 'class="status-badge status-badge--processing"' in content
    assert ">Processing</span>" in content
    assert '<td class="field-total_items">10</td>' in content
    assert '<td class="field-successful_items">3</td>' in content
    assert '<td class="field-generation_failed">1</td>' in content
    assert '<td class="field-progress">40%</td>' in content
    assert "Generation failed</a></div>" in content


def test_batch_job_detail_lists_its_items_read_only(admin_client):
    job = BatchJobFactory(total_items=2)
    done = BatchItemFactory(batch_job=job, position=1, conversation__conversation_name="Chat one")
    BatchItemFactory(
        batch_job=job,
        position=2,
        status=BatchItemStatus.FAILED,
        conversation=None,
        error_message="Model <timeout>",
    )

    response = admin_client.get(f"{BATCH_JOBS}{job.pk}/change/")

    content = response.content.decode()
    conversation_url = f"/admin/conversations/conversation/{done.conversation_id}/change/"
    assert (
        '<tr><td>1</td><td>Building an Emergency Fund</td><td><span class="status-badge '
        'status-badge--completed"'
    ) in content
    assert 'class="status-badge status-badge--failed"' in content
    assert f'<a href="{conversation_url}">Chat one</a>' in content
    assert "<td>Model &lt;timeout&gt;</td>" in content
    assert (
        f'<a href="/admin/conversations/batchitem/?batch_job__id__exact={job.pk}">All 2 items</a>'
    ) in content
    assert (
        f'<a href="/admin/conversations/conversation/?batch_job={job.pk}">'
        "Conversations of this job</a>"
    ) in content
    assert "total_items" not in response.context["adminform"].form.fields
    assert "status" not in response.context["adminform"].form.fields


def test_batch_job_detail_shows_a_limited_number_of_items(admin_client, monkeypatch):
    monkeypatch.setattr("intake.admin.ITEMS_SHOWN", 2)
    job = BatchJobFactory()
    for position in (1, 2, 3):
        BatchItemFactory(batch_job=job, position=position, topic=f"Topic {position}")

    content = admin_client.get(f"{BATCH_JOBS}{job.pk}/change/").content.decode()

    assert "<td>Topic 1</td>" in content
    assert "<td>Topic 2</td>" in content
    assert "<td>Topic 3</td>" not in content
    assert "All 3 items</a>" in content


@pytest.mark.parametrize("rows", [1, 3])
def test_batch_item_list_costs_the_same_queries_for_1_and_3_rows(
    admin_client, django_assert_num_queries, rows
):
    job = BatchJobFactory()
    BatchItemFactory.create_batch(rows, batch_job=job)

    with django_assert_num_queries(ITEM_LIST_QUERIES):
        response = admin_client.get(BATCH_ITEMS, {"batch_job__id__exact": str(job.pk)})

    assert len(response.context["cl"].result_list) == rows


def test_batch_item_list_filters_by_job_and_is_read_only(admin_client):
    job = BatchJobFactory()
    wanted = BatchItemFactory(batch_job=job)
    BatchItemFactory()

    response = admin_client.get(BATCH_ITEMS, {"batch_job__id__exact": str(job.pk)})

    assert list(response.context["cl"].result_list) == [wanted]
    assert (
        admin_client.get(f"{BATCH_ITEMS}{wanted.pk}/change/").context["has_change_permission"]
        is False
    )


# Enrich completed items of selected jobs ----------------------------------------------------


def test_enrich_completed_items_enriches_only_completed_items_of_selected_jobs(enricher_client):
    job = BatchJobFactory()
    first = BatchItemFactory(batch_job=job).conversation
    second = BatchItemFactory(batch_job=job).conversation
    BatchItemFactory(batch_job=job, status=BatchItemStatus.FAILED, conversation=None)
    queued = BatchItemFactory(batch_job=job, status=BatchItemStatus.QUEUED).conversation
    other_job = BatchItemFactory().conversation

    response = run_action(enricher_client, BATCH_JOBS, "enrich_completed_items", [job])

    assert response.status_code == 302
    assert messages_of(response) == [
        ("success", "Enrichment of 2 conversations: 2 enriched, 0 failed, 0 skipped.")
    ]
    statuses = dict(Conversation.objects.values_list("pk", "enrichment_status"))
    assert statuses == {
        first.pk: EnrichmentStatus.COMPLETED,
        second.pk: EnrichmentStatus.COMPLETED,
        queued.pk: EnrichmentStatus.NOT_STARTED,
        other_job.pk: EnrichmentStatus.NOT_STARTED,
    }


def test_enrich_completed_items_names_failures_and_skips_completed(enricher_client):
    job = BatchJobFactory()
    BatchItemFactory(batch_job=job)
    broken = BatchItemFactory(
        batch_job=job,
        conversation=ConversationFactory(document=None, conversation_name="Broken chat"),
    ).conversation
    BatchItemFactory(batch_job=job, conversation__enrichment_status=EnrichmentStatus.COMPLETED)

    response = run_action(enricher_client, BATCH_JOBS, "enrich_completed_items", [job])

    assert messages_of(response) == [
        (
            "warning",
            "Enrichment of 3 conversations: 1 enriched, 1 failed, 1 skipped. "
            "Skipped: 1 already enriched, 0 in progress elsewhere. "
            "Failed: “Broken chat”: The conversation has no stored file to enrich. "
            f'<a href="/admin/conversations/conversation/?id__in={broken.pk}">'
            "See it in the list</a>.",
        )
    ]
    broken.refresh_from_db()
    assert broken.enrichment_status == EnrichmentStatus.ENRICHMENT_FAILED


def test_enrich_completed_items_of_one_job_above_the_limit_queues_a_run_for_the_job(
    enricher_client, settings, django_capture_on_commit_callbacks
):
    settings.ENRICHMENT_BULK_LIMIT = 3
    job = BatchJobFactory(name="March batch")
    start = timezone.now() - timedelta(hours=1)
    conversations = [
        BatchItemFactory(
            batch_job=job, conversation__created_at=start + timedelta(minutes=n)
        ).conversation
        for n in range(4)
    ]
    BatchItemFactory(batch_job=job, status=BatchItemStatus.QUEUED)

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(enricher_client, BATCH_JOBS, "enrich_completed_items", [job])

    assert response.status_code == 302
    run = EnrichmentRun.objects.get()
    assert (
        run.source,
        run.status,
        run.description,
        run.force,
        run.batch_job_id,
        run.created_by,
        run.total,
    ) == (
        RunSource.ADMIN,
        RunStatus.QUEUED,
        "Batch job “March batch”",
        False,
        job.pk,
        response.wsgi_request.user,
        4,
    )
    assert list(
        run.items.order_by("position").values_list("position", "conversation_id", "outcome")
    ) == [(n, c.pk, ItemOutcome.PENDING) for n, c in enumerate(conversations, 1)]
    assert messages_of(response) == [
        (
            "success",
            f"Queued a background run over 4 conversations. Follow its progress on "
            f"{run_links(run)}.",
        )
    ]
    # One lane: the run is smaller than a chunk.
    assert queued("enrich_run_lane", run_id=str(run.pk)).count() == 1
    assert Conversation.objects.filter(enrichment_status=EnrichmentStatus.NOT_STARTED).count() == 5


def test_enrich_completed_items_of_several_jobs_above_the_limit_queues_one_run(
    enricher_client, settings
):
    settings.ENRICHMENT_BULK_LIMIT = 3
    jobs = BatchJobFactory.create_batch(2)
    for job in jobs:
        BatchItemFactory.create_batch(2, batch_job=job)
    BatchItemFactory()

    response = run_action(
        enricher_client, BATCH_JOBS, "enrich_completed_items", jobs[:1], select_across=1
    )

    run = EnrichmentRun.objects.get()
    assert (run.description, run.batch_job_id, run.total) == (
        "Enrich completed items of 3 batch jobs",
        None,
        5,
    )
    assert set(run.items.values_list("conversation_id", flat=True)) == set(
        Conversation.objects.values_list("pk", flat=True)
    )
    assert messages_of(response) == [
        (
            "success",
            f"Queued a background run over 5 conversations. Follow its progress on "
            f"{run_links(run)}.",
        )
    ]
    assert Conversation.objects.filter(enrichment_status=EnrichmentStatus.NOT_STARTED).count() == 5


def test_staff_without_the_permission_do_not_see_the_job_action(browser_client):
    BatchJobFactory()

    response = browser_client.get(BATCH_JOBS)

    assert response.status_code == 200
    assert response.context["action_form"] is None


def test_staff_without_the_permission_cannot_post_the_job_action(browser_client):
    job = BatchJobFactory()
    conversation = BatchItemFactory(batch_job=job).conversation

    response = run_action(browser_client, BATCH_JOBS, "enrich_completed_items", [job])

    assert response.status_code == 200
    assert messages_of(response) == []
    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.NOT_STARTED


@pytest.mark.parametrize(
    ("client_fixture", "expected"),
    [
        ("enricher_client", ["enrich_completed_items"]),
        ("admin_client", ["delete_selected", "enrich_completed_items"]),
    ],
)
def test_staff_with_the_permission_and_superusers_see_the_job_action(
    request, client_fixture, expected
):
    client = request.getfixturevalue(client_fixture)
    BatchJobFactory()

    response = client.get(BATCH_JOBS)

    assert action_choices(response) == expected
