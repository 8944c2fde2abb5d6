"""Lists at any size: exact counts up to a limit, the planner's estimate above it, pages
that know their next one, and deep pages read on their keys."""

import pytest
from django.db import connection

from conversations.models import Conversation
from core.pagination import EstimatedPaginator, page_rows, planner_estimate
from tests.factories import ConversationFactory, EnrichmentRunItemFactory

pytestmark = pytest.mark.django_db


def rows(count: int) -> list[Conversation]:
    return [ConversationFactory(conversation_name=f"Chat {n:02}") for n in range(count)]


def by_name():
    return Conversation.objects.order_by("conversation_name", "id")


def names(page) -> list[str]:
    return [c.conversation_name for c in page.object_list]


def test_a_list_below_the_limit_is_counted_exactly():
    rows(3)
    paginator = EstimatedPaginator(by_name(), 2, exact_limit=10, estimate=lambda q: 99)

    page = paginator.get_page(2)

    assert (paginator.estimated, paginator.count, paginator.num_pages) == (False, 3, 2)
    assert (paginator.count_text, paginator.num_pages_text) == ("3", "2")
    assert names(page) == ["Chat 02"]
    assert (page.has_next(), page.has_previous(), page.start_index(), page.end_index()) == (
        False,
        True,
        3,
        3,
    )


def test_a_list_above_the_limit_shows_the_estimate_and_knows_its_next_page():
    rows(25)
    paginator = EstimatedPaginator(by_name(), 10, exact_limit=10, estimate=lambda q: 1234)

    page = paginator.get_page(2)

    assert (paginator.estimated, paginator.count) == (True, 1234)
    assert (paginator.count_text, paginator.num_pages_text) == ("about 1,200", "about 124")
    assert names(page) == [f"Chat {n:02}" for n in range(10, 20)]
    assert (page.has_next(), page.next_page_number(), page.end_index()) == (True, 3, 20)


def test_the_last_page_of_an_estimated_list_makes_the_count_exact():
    rows(25)
    paginator = EstimatedPaginator(by_name(), 10, exact_limit=10, estimate=lambda q: 1234)

    page = paginator.get_page(3)

    assert names(page) == [f"Chat {n:02}" for n in range(20, 25)]
    assert page.has_next() is False
    assert (paginator.estimated, paginator.count, paginator.num_pages_text) == (False, 25, "3")


def test_a_page_past_the_end_of_an_estimated_list_goes_to_the_real_last_page():
    rows(25)
    paginator = EstimatedPaginator(by_name(), 10, exact_limit=10, estimate=lambda q: 1234)

    page = paginator.get_page(50)

    assert page.number == 3
    assert names(page) == [f"Chat {n:02}" for n in range(20, 25)]
    assert (paginator.estimated, paginator.count) == (False, 25)


def test_a_page_beyond_an_estimate_that_was_low_is_still_shown():
    rows(25)
    paginator = EstimatedPaginator(by_name(), 10, exact_limit=1, estimate=lambda q: 2)

    page = paginator.get_page(2)

    assert names(page) == [f"Chat {n:02}" for n in range(10, 20)]
    assert page.has_next() is True
    assert paginator.num_pages == 3  # at least the pages seen to exist


def test_an_estimated_list_takes_page_zero_and_words_as_any_paginator_does():
    rows(3)

    def paginator():
        return EstimatedPaginator(by_name(), 2, exact_limit=1, estimate=lambda q: 50)

    assert names(paginator().get_page("last")) == ["Chat 00", "Chat 01"]
    assert names(paginator().get_page(0)) == ["Chat 02"]  # the (real) last page


def test_orphans_are_refused():
    with pytest.raises(ValueError, match="orphans"):
        EstimatedPaginator(by_name(), 10, 2)


@pytest.mark.parametrize("start", [0, 3, 7, 12])
def test_page_rows_reads_the_same_rows_as_slicing(start):
    rows(10)
    ordered = Conversation.objects.select_related("persona").order_by("-conversation_name", "-id")

    assert page_rows(ordered, start, start + 4) == list(ordered[start : start + 4])


@pytest.mark.parametrize("start", [0, 2, 5, 9])
def test_page_rows_on_a_unique_key_reads_the_same_rows_as_slicing(start):
    first = EnrichmentRunItemFactory(position=1)
    for position in range(2, 9):
        EnrichmentRunItemFactory(run=first.run, position=position)
    items = first.run.items.select_related("conversation").order_by("position")

    assert page_rows(items, start, start + 3, key="position") == list(items[start : start + 3])


def test_the_planner_estimate_is_postgresqls_guess():
    rows(30)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conversations")

    estimate = planner_estimate(Conversation.objects.filter(is_active=True))

    assert estimate == 30
    assert planner_estimate(Conversation.objects.none()) == 0
