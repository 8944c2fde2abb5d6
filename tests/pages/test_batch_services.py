"""The page-facing batch services: job listing counts, the stored enrichment state and
"Enrich All" (in the request up to the bulk limit, a background run above it)."""

import threading

import pytest
from django.db import connection

from conversations import counts
from conversations.models import Conversation, EnrichmentStatus
from enrichment.models import EnrichmentRun, RunSource, RunStatus
from enrichment.runs import lanes, lifecycle
from enrichment.runs.lifecycle import RunStarted
from enrichment.selection import select_ids
from enrichment.services import (
    BulkResult,
    cancel_job_run,
    deactivate,
    enrich,
    enrich_batch_job,
    get_job_enrichment_state,
    latest_job_run,
)
from intake.services import jobs_page, list_batch_jobs
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_enrich_batch_job_over_the_bulk_limit_starts_a_background_run(make_job, user, settings):
    settings.ENRICHMENT_BULK_LIMIT = 2
    job = make_job(user, valid=2, invalid=1, name="June batch")

    started = enrich_batch_job(job, user=user)

    assert isinstance(started, RunStarted) and started.created
    run = started.run
    assert (run.status, run.source, run.total) == (RunStatus.QUEUED, RunSource.PAGE, 3)
    assert (run.description, run.batch_job_id, run.created_by) == (
        "Batch job “June batch”",
        job.pk,
        user,
    )
    assert [i.conversation.conversation_name for i in run.items.order_by("position")] == [
        "Valid chat 1",
        "Valid chat 2",
        "Truncated chat 1",
    ]
    assert Conversation.objects.filter(enrichment_status=EnrichmentStatus.NOT_STARTED).count() == 3

    assert lanes.process_run(run.pk) == "done"

    run.refresh_from_db()
    assert (run.status, run.enriched, run.failed, run.skipped) == (RunStatus.COMPLETED, 2, 1, 0)


def test_enrich_batch_job_at_the_bulk_limit_stays_in_the_request(make_job, user, settings):
    settings.ENRICHMENT_BULK_LIMIT = 2
    job = make_job(user, valid=2)

    result = enrich_batch_job(job, user=user)

    assert isinstance(result, BulkResult)
    assert result.summary == {"total": 2, "successful": 2, "failed": 0, "skipped": 0}
    assert EnrichmentRun.objects.count() == 0


def test_enrich_batch_job_returns_the_unfinished_run_instead_of_starting_another(
    make_job, user, settings
):
    settings.ENRICHMENT_BULK_LIMIT = 2
    job = make_job(user, valid=3)
    first = enrich_batch_job(job, user=user)

    second = enrich_batch_job(job, user=user)
    settings.ENRICHMENT_BULK_LIMIT = 100
    third = enrich_batch_job(job, user=user, only_failed=True)

    assert first.created
    assert (second.run, second.created) == (first.run, False)
    assert (third.run, third.created) == (first.run, False)
    assert EnrichmentRun.objects.count() == 1
    assert Conversation.objects.filter(enrichment_status=EnrichmentStatus.NOT_STARTED).count() == 3


def test_enrich_batch_job_starts_a_new_run_once_the_last_one_has_ended(make_job, user, settings):
    settings.ENRICHMENT_BULK_LIMIT = 2
    job = make_job(user, valid=3)
    first = enrich_batch_job(job, user=user).run
    lifecycle.cancel_run(first)

    second = enrich_batch_job(job, user=user)

    assert isinstance(second, RunStarted) and second.created
    assert second.run != first
    assert latest_job_run(job) == second.run


def test_retry_failed_over_the_bulk_limit_starts_a_run_over_only_the_failed(
    make_job, user, settings
):
    job = make_job(user, valid=1, invalid=2, name="July batch")
    enrich_batch_job(job, user=user)
    settings.ENRICHMENT_BULK_LIMIT = 1

    run = enrich_batch_job(job, user=user, only_failed=True).run

    assert run.description == "Retry failed: Batch job “July batch”"
    assert sorted(i.conversation.conversation_name for i in run.items.all()) == [
        "Truncated chat 1",
        "Truncated chat 2",
    ]


def test_cancel_job_run_only_cancels_a_run_of_that_job(make_job, user, settings):
    settings.ENRICHMENT_BULK_LIMIT = 1
    job = make_job(user, valid=2, name="One")
    other = make_job(user, valid=2, name="Two")
    run = enrich_batch_job(job, user=user).run
    other_run = enrich_batch_job(other, user=user).run

    with pytest.raises(EnrichmentRun.DoesNotExist):
        cancel_job_run(job, other_run.pk)
    cancelled = cancel_job_run(job, run.pk)
    with pytest.raises(lifecycle.RunNotCancellable, match="already cancelled"):
        cancel_job_run(job, run.pk)

    assert cancelled.status == RunStatus.CANCELLED
    other_run.refresh_from_db()
    assert other_run.status == RunStatus.QUEUED


@pytest.mark.django_db(transaction=True)
def test_concurrent_enrich_all_posts_start_one_run(make_job, settings):
    settings.ENRICHMENT_BULK_LIMIT = 2
    owner = UserFactory(username="dana")
    job = make_job(owner, valid=3)
    barrier = threading.Barrier(4)
    started: list = []

    def post() -> None:
        try:
            barrier.wait()
            started.append(enrich_batch_job(job, user=owner).run.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert EnrichmentRun.objects.count() == 1
    assert started == [EnrichmentRun.objects.get().pk] * 4


def test_enrich_batch_job_only_failed_leaves_the_others_alone(make_job, user):
    job = make_job(user, valid=2, invalid=1)
    enrich_batch_job(job, user=user)

    result = enrich_batch_job(job, user=user, only_failed=True)

    assert result.summary == {"total": 1, "successful": 0, "failed": 1, "skipped": 0}
    assert [str(o.conversation_id) for o in result.outcomes] == [
        str(Conversation.objects.get(conversation_name="Truncated chat 1").conversation_id)
    ]


def test_enrich_batch_job_ignores_items_without_a_conversation(make_job, user, failed_item_factory):
    job = make_job(user, valid=1)
    failed_item_factory(job, 2)

    result = enrich_batch_job(job, user=user)

    assert result.summary == {"total": 1, "successful": 1, "failed": 0, "skipped": 0}


def test_job_enrichment_state_counts_by_status_and_lists_failures(
    make_job, user, django_assert_num_queries
):
    job = make_job(user, valid=2, invalid=1)
    enrich_batch_job(job, user=user)
    Conversation.objects.filter(conversation_name="Valid chat 2").update(
        enrichment_status=EnrichmentStatus.NOT_STARTED
    )
    counts.recount([job])
    job.refresh_from_db()

    # the counts are the job's own; the failures are read, and how many failed validation
    with django_assert_num_queries(2):
        state = get_job_enrichment_state(job, user=user)

    assert (state.total, state.enriched, state.failed, state.not_enriched) == (3, 1, 1, 1)
    assert state.has_unenriched is True
    assert [(f.name, f.status_label) for f in state.failures] == [
        ("Truncated chat 1", "Validation failed")
    ]
    assert state.failures[0].error.startswith("Validation failed: INVALID_JSON_SYNTAX")
    assert (state.failed_for_good, state.retry_is_pointless) == (1, True)


def test_job_enrichment_state_of_a_fully_enriched_job_needs_no_query(
    make_job, user, django_assert_num_queries
):
    job = make_job(user, valid=2)
    Conversation.objects.update(enrichment_status=EnrichmentStatus.COMPLETED)
    counts.recount([job])
    job.refresh_from_db()

    with django_assert_num_queries(0):
        state = get_job_enrichment_state(job, user=user)

    assert (state.total, state.enriched, state.failed, state.failures) == (2, 2, 0, [])
    assert state.has_unenriched is False


def test_jobs_page_shows_the_counts_kept_with_each_change(make_job, user):
    job = make_job(user, valid=3)
    first, _, third = job.items.order_by("position").values_list("conversation_id", flat=True)
    enrich(select_ids([first], user=user), user=user, source=RunSource.API)
    deactivate(Conversation.objects.get(pk=third))

    [listed] = jobs_page(user, None, per_page=25).object_list

    assert listed == job
    assert (listed.conversations_total, listed.conversations_enriched) == (2, 1)


def test_list_batch_jobs_hides_other_users_jobs_but_not_from_staff(make_job, user):
    make_job(user, valid=1)
    stranger = UserFactory(username="stranger")
    staff = UserFactory(username="admin", is_staff=True)

    assert list(list_batch_jobs(stranger)) == []
    assert len(list_batch_jobs(staff)) == 1
