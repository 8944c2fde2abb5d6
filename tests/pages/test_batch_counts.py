"""A batch job's conversation counts are stored and kept current: changes from any entry
point are found by a sweep, small jobs are counted again in the request, big ones by a
background task (the pages say so meanwhile)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import BatchJob, Conversation, CountsSweep, EnrichmentStatus
from enrichment.models import RunSource
from enrichment.runs import lanes
from enrichment.selection import select_ids
from enrichment.services import enrich
from intake import counts
from intake.services import current_job
from intake.tasks import refresh_batch_job_counts
from tests.factories import BatchItemFactory, a_run
from tests.jobs import queued

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def reloaded(job: BatchJob) -> BatchJob:
    return current_job(BatchJob.objects.all(), job.pk)


def numbers(job: BatchJob) -> tuple[int, int, int, int]:
    return (
        job.conversations_total,
        job.conversations_enriched,
        job.conversations_failed,
        job.conversations_in_progress,
    )


def refreshes_enqueued() -> int:
    return queued("refresh_batch_job_counts").count()


def test_counts_take_each_active_successful_conversation_once_by_state(make_job, user):
    job = make_job(user, valid=4, invalid=1)
    chats = {c.conversation_name: c for c in Conversation.objects.all()}
    chats["Valid chat 1"].enrichment_status = EnrichmentStatus.COMPLETED
    chats["Valid chat 2"].enrichment_status = EnrichmentStatus.IN_PROGRESS
    chats["Valid chat 3"].is_active = False
    chats["Truncated chat 1"].enrichment_status = EnrichmentStatus.VALIDATION_FAILED
    for chat in chats.values():
        chat.save()
    # The same conversation in a second item, and an item that produced none.
    BatchItemFactory(batch_job=job, position=6, conversation=chats["Valid chat 1"])
    BatchItemFactory(batch_job=job, position=7, status="failed", conversation=None)

    counts.recount([job])

    assert numbers(job) == (4, 1, 1, 1)
    job.refresh_from_db()
    assert numbers(job) == (4, 1, 1, 1)
    assert job.counts_are_current


def test_an_enrichment_from_another_entry_point_is_counted_on_the_next_look(make_job, user):
    job = make_job(user, valid=2, invalid=1)
    assert numbers(reloaded(job)) == (3, 0, 0, 0)
    first = job.items.get(position=1).conversation
    broken = job.items.get(position=3).conversation

    enrich(select_ids([first.pk, broken.pk], user=user), user=user, source=RunSource.API)

    assert numbers(reloaded(job)) == (3, 1, 1, 0)


def test_a_background_run_over_the_job_is_counted_when_it_ends(make_job, user):
    job = make_job(user, valid=3)
    assert numbers(reloaded(job)) == (3, 0, 0, 0)
    run = a_run(list(job.items.values_list("conversation_id", flat=True)), job=job)

    assert lanes.process_run(run.pk) == "done"

    assert numbers(reloaded(job)) == (3, 3, 0, 0)


def test_a_change_made_with_a_queryset_update_is_found_too(make_job, user):
    job = make_job(user, valid=2)
    assert numbers(reloaded(job)) == (2, 0, 0, 0)
    before = Conversation.objects.get(conversation_name="Valid chat 1").updated_at

    Conversation.objects.filter(conversation_name="Valid chat 1").update(
        enrichment_status=EnrichmentStatus.COMPLETED
    )

    assert Conversation.objects.get(conversation_name="Valid chat 1").updated_at > before
    assert numbers(reloaded(job)) == (2, 1, 0, 0)


def test_changes_to_other_jobs_leave_a_job_counted(make_job, user):
    quiet = make_job(user, valid=1, name="Quiet")
    busy = make_job(user, valid=1, name="Busy")
    # Made an hour ago: a sweep looks a few seconds back, not that far.
    Conversation.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    counts.refresh_all()
    counted_at = BatchJob.objects.get(pk=quiet.pk).conversations_counted_at

    Conversation.objects.filter(batch_items__batch_job=busy).update(
        enrichment_status=EnrichmentStatus.COMPLETED
    )
    counts.sweep()

    quiet.refresh_from_db()
    busy.refresh_from_db()
    assert (quiet.counts_are_current, quiet.conversations_counted_at) == (True, counted_at)
    assert busy.counts_are_current is False


def test_a_count_taken_before_a_change_that_was_found_later_is_stale(make_job, user):
    job = make_job(user, valid=1)
    now = timezone.now()
    job.conversations_counted_at = now - timedelta(seconds=1)
    job.conversations_changed_at = now

    assert job.counts_are_current is False
    job.conversations_counted_at = now
    assert job.counts_are_current is True


def test_the_first_sweep_of_a_database_takes_every_count_as_stale(make_job, user):
    job = make_job(user, valid=1)
    counts.recount([job])
    CountsSweep.objects.all().delete()

    assert counts.sweep() is True

    job.refresh_from_db()
    assert job.counts_are_current is False
    assert CountsSweep.objects.count() == 1


def test_a_big_job_is_counted_in_the_background_and_its_page_says_so(
    make_job, user, user_client, settings, django_capture_on_commit_callbacks
):
    settings.BATCH_COUNTS_INLINE_LIMIT = 2
    job = make_job(user, valid=3)

    with django_capture_on_commit_callbacks(execute=True):
        first = user_client.get(f"/batch-jobs/{job.pk}/")
        user_client.get("/batch-jobs/")

    state = first.context["state"]
    assert (state.total, state.current) == (0, False)
    body = first.content.decode()
    assert "the job's conversations are being counted again." in body
    assert "no successful conversations" not in body
    assert f'hx-get="/batch-jobs/{job.pk}/enrichment/" hx-trigger="every 1s"' in body
    assert "Being counted…" in user_client.get("/batch-jobs/").content.decode()
    assert refreshes_enqueued() == 1  # one at a time, however many pages ask

    assert refresh_batch_job_counts() == 1  # what the worker runs
    job.refresh_from_db()
    assert (numbers(job), job.counts_are_current) == ((3, 0, 0, 0), True)
    # Changes are looked for a few seconds back (they may commit late): later, when
    # nothing changed since, the page shows the counts as current.
    Conversation.objects.update(updated_at=timezone.now() - timedelta(minutes=1))

    after = user_client.get(f"/batch-jobs/{job.pk}/enrichment/", **HX)
    state = after.context["state"]
    assert (state.total, state.not_enriched, state.current) == (3, 3, True)
    assert "being counted again" not in after.content.decode()
    assert CountsSweep.objects.get().refresh_requested_at is None


def test_many_changes_at_once_are_swept_in_the_background(
    make_job, user, user_client, settings, django_capture_on_commit_callbacks
):
    job = make_job(user, valid=3)
    counts.refresh_all()
    settings.BATCH_COUNTS_SWEEP_LIMIT = 2
    Conversation.objects.update(enrichment_status=EnrichmentStatus.COMPLETED)

    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.get(f"/api/conversations/batch/{job.pk}/status")

    assert response.json()["enrichment"]["completed"] == 0
    assert refreshes_enqueued() == 1

    refresh_batch_job_counts()

    response = user_client.get(f"/api/conversations/batch/{job.pk}/status")
    assert (
        response.json()["enrichment"]["completed"],
        response.json()["enrichment"]["current"],
    ) == (
        3,
        True,
    )


def test_a_request_counts_again_no_more_items_than_its_budget(
    make_job, user, user_client, settings, django_capture_on_commit_callbacks
):
    settings.BATCH_COUNTS_INLINE_LIMIT = 3
    make_job(user, valid=1, name="Small")
    make_job(user, valid=2, name="Bigger")
    biggest = make_job(user, valid=3, name="Biggest")

    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.get("/batch-jobs/")

    listed = {job.name: job for job in response.context["page"].object_list}
    assert [listed[name].counts_are_current for name in ("Small", "Bigger", "Biggest")] == [
        True,
        True,
        False,
    ]
    assert (listed["Small"].conversations_total, listed["Bigger"].conversations_total) == (1, 2)
    assert refreshes_enqueued() == 1
    biggest.refresh_from_db()
    assert biggest.conversations_counted_at is None
