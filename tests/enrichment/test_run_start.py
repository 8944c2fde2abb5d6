"""Starting a background run: its items are stored in the database by one statement,
whatever the size of the selection, in the selection's order."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations.models import Conversation
from enrichment.models import EnrichmentRun, EnrichmentRunItem, ItemOutcome, RunSource
from enrichment.runs import lifecycle
from enrichment.selection import (
    select_batch_job,
    select_ids,
    select_queryset,
    select_statuses,
)
from enrichment.services import BulkResult, enrich
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    EnrichmentRunItemFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def conversations(user, count: int, **fields) -> list:
    """``count`` conversations without files, created in a shuffled order of time."""
    now = timezone.now()
    offsets = [(n * 7) % count for n in range(count)]  # a permutation when count % 7
    return [
        ConversationFactory(
            created_by=user, document=None, created_at=now - timedelta(minutes=offset), **fields
        )
        for offset in offsets
    ]


def stored(run: EnrichmentRun) -> list[tuple[int, object]]:
    return list(run.items.order_by("position").values_list("position", "conversation_id"))


def start_by_status(user) -> tuple[EnrichmentRun, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        started = enrich(
            select_statuses(["not_started"], user=user),
            user=user,
            source=RunSource.API,
            background=True,
        )
    return started.run, [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("count", [3, 150])
def test_a_run_by_status_stores_its_items_in_creation_order(count):
    user = UserFactory()
    selected = conversations(user, count)
    ConversationFactory(created_by=user, document=None, enrichment_status="completed")
    ConversationFactory(created_by=user, document=None, is_active=False)
    ConversationFactory(document=None)  # another user's

    run, _ = start_by_status(user)

    run.refresh_from_db()
    expected = sorted(selected, key=lambda c: (c.created_at, c.pk))
    assert run.total == count
    assert stored(run) == [(n, c.pk) for n, c in enumerate(expected, start=1)]
    assert set(run.items.values_list("outcome", "enrichment_status")) == {(ItemOutcome.PENDING, "")}


def test_starting_a_run_by_status_takes_the_same_queries_at_any_size():
    small_user, big_user = UserFactory(), UserFactory()
    conversations(small_user, 2)
    Conversation.objects.bulk_create(
        Conversation(created_by=big_user, conversation_name=f"Big {n}") for n in range(2500)
    )

    small, small_queries = start_by_status(small_user)
    big, big_queries = start_by_status(big_user)

    assert (small.total, big.total) == (2, 2500)
    # A savepoint, the run, its items (one INSERT … SELECT: no id is read into Python),
    # its total, its lanes' jobs (one statement however many), the release.
    kinds = [sql.split()[0] for sql in big_queries]
    assert kinds == ["SAVEPOINT", "INSERT", "INSERT", "UPDATE", "SELECT", "RELEASE"]
    assert "procrastinate_defer_jobs" in big_queries[4]
    assert len(small_queries) == len(big_queries)
    insert = big_queries[2]
    assert insert.startswith('INSERT INTO "enrichment_run_items"')
    assert 'FROM "conversations"' in insert


def test_the_page_decides_by_reading_no_more_than_the_limit_plus_one(settings):
    settings.ENRICHMENT_BULK_LIMIT = 4
    user = UserFactory()
    conversations(user, 5)
    selection = select_queryset(Conversation.objects.visible_to(user), "Everything")

    with CaptureQueriesContext(connection) as captured:
        started = enrich(selection, user=user, source=RunSource.PAGE)

    assert started.run.total == 5
    [decision, *_] = captured.captured_queries
    assert "LIMIT 5" in decision["sql"]


def test_a_selection_within_the_limit_is_enriched_in_the_request(settings):
    settings.ENRICHMENT_BULK_LIMIT = 4
    user = UserFactory()
    selected = conversations(user, 4)
    selection = select_queryset(Conversation.objects.visible_to(user), "Everything")

    result = enrich(selection, user=user, source=RunSource.PAGE)

    assert isinstance(result, BulkResult)
    assert sorted(o.pk for o in result.outcomes) == sorted(c.pk for c in selected)
    assert EnrichmentRun.objects.count() == 0


def test_a_batch_job_run_keeps_item_order_and_a_conversation_once(settings):
    job = BatchJobFactory()
    first, second, third = (
        ConversationFactory(created_by=job.created_by, document=None) for _ in range(3)
    )
    for position, conversation in enumerate([third, first, third, second], start=1):
        BatchItemFactory(batch_job=job, position=position, conversation=conversation)
    BatchItemFactory(batch_job=job, position=5, status="failed")
    selection = select_batch_job(job, user=job.created_by)

    started = enrich(selection, user=job.created_by, source=RunSource.PAGE, background=True)

    run = started.run
    run.refresh_from_db()
    assert (run.total, run.batch_job_id) == (3, job.pk)
    assert stored(run) == [(1, third.pk), (2, first.pk), (3, second.pk)]


def test_a_batch_job_with_a_conversation_twice_counts_it_once_against_the_limit(settings):
    settings.ENRICHMENT_BULK_LIMIT = 3
    job = BatchJobFactory()
    first, second, third = (
        ConversationFactory(created_by=job.created_by, document=None) for _ in range(3)
    )
    for position, conversation in enumerate([first, second, first, third], start=1):
        BatchItemFactory(batch_job=job, position=position, conversation=conversation)
    selection = select_batch_job(job, user=job.created_by)

    result = enrich(selection, user=job.created_by, source=RunSource.PAGE)

    assert isinstance(result, BulkResult)
    assert [o.pk for o in result.outcomes] == [first.pk, second.pk, third.pk]


def test_an_empty_selection_by_status_is_refused_and_stores_no_run():
    user = UserFactory()
    ConversationFactory(created_by=user, document=None, enrichment_status="completed")

    with pytest.raises(lifecycle.NothingToEnrich):
        enrich(
            select_statuses(["not_started"], user=user),
            user=user,
            source=RunSource.API,
            background=True,
        )

    assert EnrichmentRun.objects.count() == 0
    assert EnrichmentRunItem.objects.count() == 0


def test_a_run_by_ids_keeps_the_order_sent_and_each_id_once():
    user = UserFactory()
    a, b, c = conversations(user, 3)
    ids = [str(c.conversation_id), str(a.pk), str(c.pk), str(b.conversation_id)]

    started = enrich(select_ids(ids, user=user), user=user, source=RunSource.API, background=True)

    assert started.run.total == 3
    assert stored(started.run) == [(1, c.pk), (2, a.pk), (3, b.pk)]


def test_retry_failed_stores_the_failures_in_the_runs_order():
    user = UserFactory()
    run = EnrichmentRun.objects.create(created_by=user, source=RunSource.API, total=4)
    outcomes = [ItemOutcome.FAILED, ItemOutcome.ENRICHED, ItemOutcome.FAILED, ItemOutcome.FAILED]
    items = [
        EnrichmentRunItemFactory(run=run, position=position, outcome=outcome)
        for position, outcome in zip([4, 1, 2, 3], outcomes, strict=True)
    ]

    retry = lifecycle.retry_failed(run, user=user, source=RunSource.API).run

    retry.refresh_from_db()
    failed = sorted((i for i in items if i.outcome == ItemOutcome.FAILED), key=lambda i: i.position)
    assert retry.total == 3
    assert stored(retry) == [(n, i.conversation_id) for n, i in enumerate(failed, start=1)]


def test_a_run_over_thousands_of_ids_stores_them_in_one_statement():
    user = UserFactory()
    Conversation.objects.bulk_create(
        Conversation(created_by=user, conversation_name=f"Listed {n}") for n in range(2500)
    )
    pks = list(Conversation.objects.filter(created_by=user).values_list("pk", flat=True))
    pks.reverse()

    with CaptureQueriesContext(connection) as captured:
        run = lifecycle.start_run([*pks, pks[0]], user=user, source=RunSource.API).run

    kinds = [query["sql"].split()[0] for query in captured.captured_queries]
    assert kinds == ["SAVEPOINT", "INSERT", "INSERT", "UPDATE", "SELECT", "RELEASE"]
    run.refresh_from_db()
    assert run.total == 2500
    assert stored(run) == list(enumerate(pks, start=1))
