"""The conversations list stays cheap at any size: ties ordered by creation, search that
indexes can serve, a batch-job filter that sorts just the job's rows when they are few,
an estimated count above the exact limit, and a constant number of queries whatever the
filter."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from conversations.models import BatchJob, Conversation, EnrichmentStatus
from tests.counting import COUNT_QUERIES
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    PersonaFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    return [c.display_name for c in response.context["page"].object_list]


def made(owner, name: str, minutes_ago: int, **fields) -> Conversation:
    return ConversationFactory(
        created_by=owner,
        conversation_name=name,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        document=None,
        **fields,
    )


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("name", ["older", "newer", "other"]),
        ("-name", ["other", "newer", "older"]),
        ("status", ["older", "newer", "other"]),
        ("-status", ["other", "newer", "older"]),
    ],
)
def test_equal_values_are_ordered_by_creation_the_same_way_round(
    order, expected, user_client, user
):
    done = EnrichmentStatus.COMPLETED
    rows = {
        "older": made(user, "Same", 10, enrichment_status=done),
        "newer": made(user, "Same", 5, enrichment_status=done),
        "other": made(user, "Zed", 20),
    }

    response = user_client.get(f"/conversations/?order={order}")

    listed = [c.pk for c in response.context["page"].object_list]
    assert listed == [rows[key].pk for key in expected]


def test_search_matches_the_name_or_the_personas_name_in_any_case(user_client, user):
    made(user, "Retirement plan", 1, persona=PersonaFactory(name="Priya Raman"))
    made(user, "priya's budget", 2)
    made(user, "Other", 3, persona=PersonaFactory(name="Sam Ortiz"))

    response = user_client.get("/conversations/?q=PRIYA")

    assert names(response) == ["Retirement plan", "priya's budget"]


@pytest.mark.parametrize("small", [True, False], ids=["few rows, sorted", "many, walked"])
@pytest.mark.parametrize("order", ["-created", "created", "name"])
def test_a_batch_job_filter_lists_the_same_rows_however_it_is_read(
    small, order, user_client, user, monkeypatch
):
    monkeypatch.setattr("enrichment.forms.SMALL_GROUP", 10 if small else 1)
    job = BatchJobFactory(created_by=user)
    for n, minutes in enumerate([30, 10, 20], start=1):
        BatchItemFactory(batch_job=job, position=n, conversation=made(user, f"In {n}", minutes))
    made(user, "Outside", 15)

    response = user_client.get(f"/conversations/?batch={job.pk}&order={order}")

    expected = {"-created": ["In 2", "In 3", "In 1"], "created": ["In 1", "In 3", "In 2"]}
    assert names(response) == expected.get(order, ["In 1", "In 2", "In 3"])


def test_the_batch_job_drop_down_offers_jobs_holding_conversations_one_may_see(user, other_user):
    mine = BatchJobFactory(created_by=user, name="Mine")
    BatchItemFactory(batch_job=mine, position=1)
    theirs = BatchJobFactory(created_by=other_user, name="Theirs")
    BatchItemFactory(batch_job=theirs, position=1)
    empty = BatchJobFactory(created_by=user, name="Nothing generated")
    BatchItemFactory(batch_job=empty, position=1, status="failed", conversation=None)
    deactivated = BatchJobFactory(created_by=user, name="All deactivated")
    BatchItemFactory(batch_job=deactivated, position=1, conversation__is_active=False)
    staff = UserFactory(is_staff=True)

    def offered(who) -> list[str]:
        jobs = BatchJob.objects.visible_to(who).holding_conversations_of(who)
        return list(jobs.order_by("-created_at", "-id").values_list("name", flat=True))

    assert offered(user) == ["Mine"]
    assert offered(staff) == ["Theirs", "Mine"]


FILTERS = {
    "": 0,
    "status=validation_failed": 0,
    "status=failed": 0,
    "persona={persona}": 0,
    "batch={job}": 1,  # whether the job holds few conversations
    "q=chat": 1,  # the personas whose name matches
    "page=2": 0,
    "order=-turns": 0,
}


@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize("query", list(FILTERS))
def test_every_filter_costs_the_same_queries_for_1_and_3_rows(
    query, rows, user_client, user, django_assert_num_queries
):
    persona = PersonaFactory()
    job = BatchJobFactory(created_by=user)
    for n in range(1, rows + 1):
        BatchItemFactory(
            batch_job=job,
            position=n,
            conversation__conversation_name=f"Chat {n}",
            conversation__persona=persona,
            conversation__enrichment_status=EnrichmentStatus.VALIDATION_FAILED,
        )
    url = "/conversations/?" + query.format(persona=persona.pk, job=job.pk)

    # session, user, batch-job choices, persona choices, the count, the page (persona
    # joined), the batch jobs of the page's rows, whether any is left to enrich; and what
    # the filter needs
    with django_assert_num_queries(7 + COUNT_QUERIES + FILTERS[query]):
        response = user_client.get(url)

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == rows  # page 2: the last one


def test_above_the_exact_limit_the_list_shows_the_estimate_and_pages_on(
    user_client, user, settings
):
    settings.LIST_EXACT_COUNT_LIMIT = 10
    for n in range(30):
        made(user, f"Chat {n:02}", n)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conversations")

    first = user_client.get("/conversations/")
    last = user_client.get("/conversations/?page=2")

    paginator = first.context["page"].paginator
    assert paginator.estimated is True
    body = first.content.decode()
    assert f"Page 1 of about {paginator.num_pages}" in body
    assert f"({paginator.count_text} in all)" in body
    assert paginator.count_text.startswith("about ")
    assert 'rel="next"' in body
    assert names(last) == [f"Chat {n:02}" for n in range(25, 30)]
    assert 'Page 2 of 2 <span class="muted">(30 in all)</span>' in last.content.decode()
