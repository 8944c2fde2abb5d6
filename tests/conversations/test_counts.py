"""A batch job's conversation counts change in the same transaction as whatever changes
them, whichever entry point it comes from, so that they are always true."""

import threading

import pytest
from django.db import connection, transaction

from conversations import counts
from conversations.models import BatchJob, Conversation, EnrichmentStatus
from enrichment.models import RunSource
from enrichment.runs import lanes
from enrichment.selection import select_ids
from enrichment.services import deactivate, enrich
from tests.factories import BatchItemFactory, a_run

pytestmark = pytest.mark.django_db


def numbers(job: BatchJob) -> tuple[int, int, int]:
    job.refresh_from_db()
    return (job.conversations_total, job.conversations_enriched, job.conversations_failed)


def test_a_job_counts_each_active_successful_conversation_once(make_job, user):
    job = make_job(user, valid=3, invalid=1)
    first = job.items.get(position=1).conversation

    # The same conversation in a second item, and an item that produced none.
    BatchItemFactory(batch_job=job, position=6, conversation=first)
    BatchItemFactory(batch_job=job, position=7, status="failed", conversation=None)

    assert numbers(job) == (4, 0, 0)


def test_outcomes_from_any_entry_point_are_counted_with_them(make_job, user):
    job = make_job(user, valid=2, invalid=1)
    first = job.items.get(position=1).conversation
    broken = job.items.get(position=3).conversation

    enrich(select_ids([first.pk, broken.pk], user=user), user=user, source=RunSource.API)

    assert numbers(job) == (3, 1, 1)


def test_a_background_run_counts_each_group_of_outcomes_it_records(make_job, user, settings):
    settings.ENRICHMENT_RUN_COMMIT_EVERY = 1
    job = make_job(user, valid=3)
    run = a_run(list(job.items.values_list("conversation_id", flat=True)), job=job)
    seen = []
    from enrichment.pipeline import run as runner

    original = runner.stage

    def stage_after_looking(*args, **kwargs):
        seen.append(numbers(job))
        return original(*args, **kwargs)

    runner.stage = stage_after_looking
    try:
        assert lanes.process_run(run.pk) == "done"
    finally:
        runner.stage = original

    assert seen[0] == (3, 0, 0)
    assert numbers(job) == (3, 3, 0)


def test_a_claim_counts_in_the_status_it_found_until_the_outcome(make_job, user):
    job = make_job(user, valid=1)
    conversation = job.items.get().conversation
    enrich(select_ids([conversation.pk], user=user), user=user, source=RunSource.API)
    assert numbers(job) == (1, 1, 0)
    from enrichment.pipeline.run import claim, release

    # A forced re-enrichment claims it: still enriched meanwhile, and after a release.
    token, _ = claim([conversation.pk], force=True)
    assert numbers(job) == (1, 1, 0)
    release(token)

    assert Conversation.objects.get(pk=conversation.pk).enrichment_status == "completed"
    assert numbers(job) == (1, 1, 0)


def test_a_deactivated_conversation_leaves_the_counts_of_every_job_holding_it(make_job, user):
    job = make_job(user, valid=2, invalid=1, name="One")
    other = make_job(user, valid=0, name="Other")
    broken = job.items.get(position=3).conversation
    BatchItemFactory(batch_job=other, position=1, conversation=broken)
    enrich(select_ids([broken.pk], user=user), user=user, source=RunSource.API)
    assert (numbers(job), numbers(other)) == ((3, 0, 1), (1, 0, 1))

    deactivate(Conversation.objects.get(pk=broken.pk))
    deactivate(Conversation.objects.get(pk=broken.pk))  # twice: counted once

    assert (numbers(job), numbers(other)) == ((2, 0, 0), (0, 0, 0))


def test_recount_agrees_with_the_counts_kept_along_the_way(make_job, user):
    job = make_job(user, valid=3, invalid=2)
    conversations = list(job.items.values_list("conversation_id", flat=True))
    enrich(select_ids(conversations[1:], user=user), user=user, source=RunSource.API)
    deactivate(Conversation.objects.get(pk=conversations[2]))
    kept = numbers(job)

    BatchJob.objects.filter(pk=job.pk).update(
        conversations_total=0, conversations_enriched=0, conversations_failed=0
    )
    counts.recount([job])

    assert numbers(job) == kept == (4, 1, 2)


@pytest.mark.django_db(transaction=True)
def test_two_writers_touching_the_same_jobs_in_opposite_orders_never_deadlock(user):
    first = BatchJob.objects.create(name="A", created_by=user, status="completed")
    second = BatchJob.objects.create(name="B", created_by=user, status="completed")
    shared = [Conversation.objects.create(created_by=user) for _ in range(2)]
    for conversation in shared:
        BatchItemFactory(
            batch_job=first, conversation=conversation, position=shared.index(conversation) + 1
        )
        BatchItemFactory(
            batch_job=second, conversation=conversation, position=shared.index(conversation) + 1
        )
    started = threading.Barrier(2)
    errors = []

    def writer(order):
        try:
            with transaction.atomic():
                started.wait(timeout=10)  # both transactions open before either writes
                for conversation in order:
                    counts.move([(conversation.pk, "not_started", EnrichmentStatus.COMPLETED)])
        except Exception as exc:  # noqa: BLE001 (the test reports whatever ended a writer)
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=writer, args=(shared,)),
        threading.Thread(target=writer, args=(shared[::-1],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert numbers(first) == numbers(second) == (2, 4, 0)


def test_saving_a_job_read_before_its_counts_changed_keeps_the_new_counts(make_job, user):
    job = make_job(user, valid=2)
    stale = BatchJob.objects.get(pk=job.pk)
    first = job.items.get(position=1).conversation
    enrich(select_ids([first.pk], user=user), user=user, source=RunSource.API)

    stale.name = "Renamed"
    stale.save()

    assert numbers(job) == (2, 1, 0)
    assert job.name == "Renamed"
