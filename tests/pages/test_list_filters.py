"""Searching, filtering and sorting the batch jobs, runs and training files lists (one
helper, core.lists, reads the address's parameters for all three)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import BatchJob
from core.lists import ListSpec, read_list
from tests.factories import (
    BatchJobFactory,
    EnrichmentRunFactory,
    TrainingFileFactory,
)

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def names(response, attribute: str = "name") -> list[str]:
    return [getattr(row, attribute) for row in response.context["page"].object_list]


def spaced(factory, user, *rows: dict):
    """Rows created a day apart, in the order given (the first is the oldest)."""
    now = timezone.now()
    made = []
    for n, fields in enumerate(rows):
        row = factory(created_by=user, **fields)
        type(row).objects.filter(pk=row.pk).update(created_at=now - timedelta(days=len(rows) - n))
        made.append(row)
    return made


def test_read_list_keeps_what_is_valid_and_names_the_rest():
    spec = ListSpec(search_fields=("name",), statuses=[("done", "Done")])

    good = read_list({"q": "  march   batch ", "status": "done", "order": "name"}, spec)
    bad = read_list({"q": "x" * 300, "status": "bogus", "order": "size"}, spec)

    assert (good.q, good.status, good.order, good.problems) == ("march batch", "done", "name", ())
    assert (len(bad.q), bad.status, bad.order) == (200, "", "-created")
    assert bad.problems == (
        "A search is at most 200 characters: it was cut.",
        "Unknown status “bogus”: every status is shown.",
        "Unknown order “size”: newest first.",
    )


def test_batch_jobs_are_searched_filtered_and_sorted(user_client, user):
    spaced(
        BatchJobFactory,
        user,
        {"name": "March windfall", "status": "completed"},
        {"name": "April windfall", "status": "processing"},
        {"name": "Budget basics", "status": "completed"},
    )
    BatchJobFactory(name="Mallory's windfall")  # another user's

    newest = user_client.get("/batch-jobs/")
    searched = user_client.get("/batch-jobs/", {"q": "WINDFALL"})
    completed = user_client.get("/batch-jobs/", {"status": "completed", "order": "name"})
    oldest = user_client.get("/batch-jobs/", {"order": "created"})
    by_name_desc = user_client.get("/batch-jobs/", {"order": "-name"}, **HX)

    assert names(newest) == ["Budget basics", "April windfall", "March windfall"]
    assert names(searched) == ["April windfall", "March windfall"]
    assert names(completed) == ["Budget basics", "March windfall"]
    assert names(oldest) == ["March windfall", "April windfall", "Budget basics"]
    assert names(by_name_desc) == ["March windfall", "Budget basics", "April windfall"]
    body = newest.content.decode()
    assert 'name="q"' in body and 'id="list-status"' in body and 'id="list-order"' in body
    assert by_name_desc.content.decode().lstrip().startswith('<section id="jobs"')


def test_batch_jobs_show_and_filter_enrichment_failures(user_client, user):
    failing, fine = spaced(BatchJobFactory, user, {"name": "Failing"}, {"name": "Fine"})
    BatchJob.objects.filter(pk=failing.pk).update(conversations_total=5, conversations_failed=2)
    BatchJob.objects.filter(pk=fine.pk).update(conversations_total=5, conversations_enriched=5)

    everything = user_client.get("/batch-jobs/").content.decode()
    with_failures = user_client.get("/batch-jobs/", {"status": "enrichment_failures"})

    assert f'href="/conversations/?batch={failing.pk}&amp;status=failed">2 failed</a>' in everything
    assert names(with_failures) == ["Failing"]


def test_an_unknown_filter_is_said_and_not_taken_for_everything(user_client, user):
    BatchJobFactory(created_by=user, name="Only")

    response = user_client.get("/batch-jobs/", {"status": "nonsense"})

    assert response.status_code == 200
    assert "Unknown status “nonsense”: every status is shown." in response.content.decode()
    assert names(response) == ["Only"]


def test_nothing_matching_says_so_with_a_way_back(user_client, user):
    BatchJobFactory(created_by=user, name="Only")

    body = user_client.get("/batch-jobs/", {"q": "zzz"}).content.decode()

    assert 'No batch jobs match. <a href="/batch-jobs/">Show them all</a>.' in body


def test_runs_are_searched_filtered_and_sorted(user_client, user):
    spaced(
        EnrichmentRunFactory,
        user,
        {"description": "Batch job “March”", "status": "completed"},
        {"description": "Enrich all matching: Search: “loan”", "status": "running"},
        {"description": "Batch job “April”", "status": "failed"},
    )

    searched = user_client.get("/runs/", {"q": "batch job"}, **HX)
    running = user_client.get("/runs/", {"status": "running"})
    by_name = user_client.get("/runs/", {"order": "name"})

    assert names(searched, "description") == ["Batch job “April”", "Batch job “March”"]
    assert names(running, "description") == ["Enrich all matching: Search: “loan”"]
    assert names(by_name, "description")[0] == "Batch job “April”"
    assert 'id="list-status"' in running.content.decode()


def test_training_files_are_searched_filtered_and_sorted(user_client, user):
    spaced(
        TrainingFileFactory,
        user,
        {"name": "Zeta set", "status": "active"},
        {"name": "Alpha set", "status": "archived", "description": "old March data"},
        {"name": "Beta set", "status": "active"},
    )

    searched = user_client.get("/training-files/", {"q": "march"})
    active = user_client.get("/training-files/", {"status": "active", "order": "name"})
    oldest = user_client.get("/training-files/", {"order": "created"}, **HX)

    assert names(searched) == ["Alpha set"]
    assert names(active) == ["Beta set", "Zeta set"]
    assert names(oldest) == ["Zeta set", "Alpha set", "Beta set"]
