"""The background-run pages: the runs list, one run with its progress and failures,
cancel and "Retry failed"."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Conversation, EnrichmentStatus
from core.templatetags.pages import duration
from enrichment.models import EnrichmentRun, ItemOutcome, RunSource, RunStatus
from enrichment.runs import lanes
from tests.counting import COUNT_QUERIES
from tests.factories import TRUNCATED_REPLY, ConversationFactory, UserFactory, a_run

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
POLL_EVERY_SECOND = 'hx-trigger="every 1s"'


def make_run(owner, *, valid: int = 2, invalid: int = 0, **kwargs) -> EnrichmentRun:
    """A queued run over ``valid`` good and ``invalid`` unparseable conversations of
    ``owner`` (in that order)."""
    good = [
        ConversationFactory(created_by=owner, conversation_name=f"Good chat {n + 1}")
        for n in range(valid)
    ]
    bad = [
        ConversationFactory(
            created_by=owner, conversation_name=f"Broken chat {n + 1}", document=TRUNCATED_REPLY
        )
        for n in range(invalid)
    ]
    kwargs.setdefault("description", "Nightly enrichment")
    return a_run([c.pk for c in good + bad], user=owner, source=RunSource.PAGE, **kwargs)


def finished(run: EnrichmentRun) -> EnrichmentRun:
    lanes.process_run(run.pk)
    run.refresh_from_db()
    return run


# List ----------------------------------------------------------------------------


def test_run_list_redirects_anonymous_users_to_login(client):
    response = client.get("/runs/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/runs/"


def test_run_list_shows_own_runs_newest_first(user_client, user, other_user):
    older = finished(make_run(user, valid=1, invalid=1, description="Older run"))
    newer = make_run(user, valid=3, description="Newer run")
    make_run(other_user, description="Mallory's run")

    response = user_client.get("/runs/")

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [newer, older]
    body = response.content.decode()
    assert "Mallory" not in body
    assert f'<a href="/runs/{newer.pk}/">Newer run</a>' in body
    assert '<span class="badge badge--run-queued">Queued</span>' in body
    assert '<span class="badge badge--run-completed">Completed</span>' in body
    assert '<td class="num" data-label="Processed">0 / 3</td>' in body
    assert '<td class="num" data-label="Processed">2 / 2</td>' in body
    assert '<td data-label="Source">Page</td>' in body
    assert '<td data-label="Started by">dana</td>' in body
    # A run is unfinished: the list keeps itself current.
    assert 'hx-get="/runs/" hx-trigger="every 2s"' in body
    assert 'aria-current="page">Runs</a>' in body


def test_run_list_stops_polling_when_every_run_has_ended(user_client, user):
    finished(make_run(user, valid=1))

    response = user_client.get("/runs/", **HX)

    body = response.content.decode()
    assert body.lstrip().startswith('<section id="runs"')
    assert "<html" not in body
    assert "every 2s" not in body
    assert response["Vary"] == "HX-Request, Cookie"


def test_run_list_shows_every_run_to_staff(client, user):
    run = make_run(user, valid=1)
    client.force_login(UserFactory(username="admin", is_staff=True))

    response = client.get("/runs/")

    assert list(response.context["page"].object_list) == [run]


def test_run_list_is_empty_with_a_hint(user_client):
    response = user_client.get("/runs/")

    assert "No enrichment runs yet." in response.content.decode()


@pytest.mark.parametrize("count", [1, 3])
def test_run_list_query_count_does_not_grow_with_runs(
    count, user_client, user, django_assert_num_queries
):
    for n in range(count):
        make_run(user, valid=1, description=f"Run {n}")

    # session, user, page count, page rows (with their starter)
    with django_assert_num_queries(3 + COUNT_QUERIES):
        response = user_client.get("/runs/")

    assert len(response.context["page"].object_list) == count


# Detail --------------------------------------------------------------------------


def test_run_detail_shows_header_and_a_polling_progress_partial(user_client, user, beating_worker):
    run = make_run(user, valid=3, description="Enrich All: June batch")

    response = user_client.get(f"/runs/{run.pk}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Enrich All: June batch</h1>" in body
    assert f"<code>{run.pk}</code>" in body
    assert (
        f'hx-get="/runs/{run.pk}/progress/?seen=0" {POLL_EVERY_SECOND} hx-target="this" '
        'hx-swap="outerHTML"'
    ) in body
    assert '<span class="badge badge--run-queued">Queued</span>' in body
    assert "<dt>Source</dt><dd>Page</dd>" in body
    assert "<dt>Started by</dt><dd>dana</dd>" in body
    assert "<dt>Started</dt><dd>—</dd>" in body
    assert "<strong>0 / 3</strong> processed" in body
    assert "<dt>Remaining</dt><dd>3</dd>" in body
    assert "<dt>Time left</dt><dd>Estimating…</dd>" in body
    assert f'action="/runs/{run.pk}/cancel/"' in body
    assert f'hx-post="/runs/{run.pk}/cancel/" hx-target="#run"' in body
    assert "No failures so far." in body
    assert "Retry failed" not in body
    assert "No worker is running" not in body


def test_run_detail_says_when_no_worker_runs_to_work_on_it(user_client, user):
    run = make_run(user, valid=3)

    body = user_client.get(f"/runs/{run.pk}/").content.decode()

    assert "<dt>Time left</dt><dd>Waiting for a worker</dd>" in body
    assert (
        "<strong>No worker is running.</strong> Nothing works on this run until one starts: "
        "run <code>bin/worker</code>"
    ) in body


def test_run_detail_of_a_running_run_shows_the_time_left(user_client, user, beating_worker):
    run = make_run(user, valid=4)
    EnrichmentRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=timezone.now() - timedelta(seconds=10), enriched=2
    )

    response = user_client.get(f"/runs/{run.pk}/progress/", **HX)

    body = response.content.decode()
    assert '<span class="badge badge--run-running">Running</span>' in body
    assert "<strong>2 / 4</strong> processed" in body
    assert '<progress max="100" value="50"' in body
    assert "<dt>Time left</dt><dd>10 s</dd>" in body
    assert "Enriching in the background." in body
    assert POLL_EVERY_SECOND in body


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, ""), (0, "0 s"), (45, "45 s"), (200, "3 min 20 s"), (7500, "2 h 5 min")],
)
def test_duration_filter_rounds_to_what_people_read(seconds, shown):
    assert duration(seconds) == shown


def test_run_detail_says_why_conversations_were_skipped(user_client, user):
    run = make_run(user, valid=3)
    Conversation.objects.filter(conversation_name="Good chat 1").update(
        enrichment_status=EnrichmentStatus.COMPLETED
    )
    Conversation.objects.filter(conversation_name="Good chat 2").update(is_active=False)
    run = finished(run)

    body = user_client.get(f"/runs/{run.pk}/").content.decode()

    assert "Enriched: 1, Failed: 0, Skipped: 2 (1 already enriched, 1 deactivated)" in body


def test_run_detail_of_a_finished_run_lists_its_failures_with_reasons(user_client, user):
    run = finished(make_run(user, valid=1, invalid=2))
    broken = run.items.filter(outcome=ItemOutcome.FAILED).select_related("conversation")

    response = user_client.get(f"/runs/{run.pk}/")

    body = response.content.decode()
    assert POLL_EVERY_SECOND not in body
    assert '<span class="badge badge--run-completed">Completed</span>' in body
    assert "Enriched: 1, Failed: 2, Skipped: 0" in body
    assert ">Cancel run</button>" not in body
    assert [i.position for i in response.context["failures"].object_list] == [2, 3]
    for item in broken:
        conversation = item.conversation
        assert f'<a href="/conversations/{conversation.pk}/">' in body
        assert f'<code title="{conversation.conversation_id}">' in body
    assert "Broken chat 1" in body
    assert "Broken chat 2" in body
    assert "Good chat 1" not in body
    assert '<td data-label="Category">Validation</td>' in body
    assert body.count("Validation failed: INVALID_JSON_SYNTAX") == 2
    assert ">Retry failed</button>" in body
    assert "over the 2 failed conversations" in body
    # Both failed validation: a retry as they are would fail them again, so it is not
    # the main action, and the page says why.
    assert 'class="button">Retry failed</button>' in body
    assert "they would fail again, so fix their files first" in body


def test_retry_failed_is_the_main_action_when_a_failure_may_pass_next_time(user_client, user):
    run = finished(make_run(user, valid=1, invalid=2))
    run.items.filter(outcome=ItemOutcome.FAILED, position=2).update(error_category="storage")

    body = user_client.get(f"/runs/{run.pk}/").content.decode()

    assert 'class="button button--primary">Retry failed</button>' in body
    assert "they would fail again" not in body


def test_run_detail_htmx_request_gets_only_the_failures_partial(user_client, user):
    run = finished(make_run(user, valid=1, invalid=1))

    response = user_client.get(f"/runs/{run.pk}/?page=1", **HX)

    body = response.content.decode()
    assert body.lstrip().startswith('<section id="failures"')
    assert (
        f'hx-get="/runs/{run.pk}/?page=1" '
        'hx-trigger="enrichment-done from:body, enrichment-progress from:body"'
    ) in body
    assert "Broken chat 1" in body
    assert "<html" not in body
    assert response["Vary"] == "HX-Request, Cookie"


def test_run_detail_paginates_failures_50_per_page(user_client, user):
    run = make_run(user, valid=52)
    run.items.update(outcome=ItemOutcome.FAILED, error="Boom", error_category="internal")

    response = user_client.get(f"/runs/{run.pk}/?page=2", **HX)

    assert [i.position for i in response.context["failures"].object_list] == [51, 52]
    body = response.content.decode()
    assert "Page 2 of 2" in body
    assert '<td data-label="Category">Internal error</td>' in body


def test_run_detail_of_another_users_run_is_not_found(user_client, other_user):
    run = make_run(other_user, valid=1)

    assert user_client.get(f"/runs/{run.pk}/").status_code == 404
    assert user_client.get(f"/runs/{run.pk}/progress/", **HX).status_code == 404


def test_run_detail_is_visible_to_staff(client, user):
    run = make_run(user, valid=1)
    client.force_login(UserFactory(username="admin", is_staff=True))

    response = client.get(f"/runs/{run.pk}/")

    assert response.status_code == 200
    assert response.context["run"] == run


def test_run_detail_redirects_anonymous_users_to_login(client, user):
    run = make_run(user, valid=1)

    response = client.get(f"/runs/{run.pk}/")

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/runs/{run.pk}/"


@pytest.mark.parametrize("failures", [1, 3])
def test_run_detail_query_count_does_not_grow_with_failures(
    failures, user_client, user, django_assert_num_queries
):
    run = finished(make_run(user, valid=1, invalid=failures))

    # session, user, run (with its starter), failures count, failures page, whether a
    # failure may pass on a retry
    with django_assert_num_queries(5 + COUNT_QUERIES):
        response = user_client.get(f"/runs/{run.pk}/")

    assert len(response.context["failures"].object_list) == failures


@pytest.mark.parametrize("failures", [1, 3])
def test_run_failures_partial_query_count_does_not_grow_with_failures(
    failures, user_client, user, django_assert_num_queries
):
    run = finished(make_run(user, valid=1, invalid=failures))

    with django_assert_num_queries(5 + COUNT_QUERIES):
        response = user_client.get(f"/runs/{run.pk}/", **HX)

    assert len(response.context["failures"].object_list) == failures


# Progress polling ----------------------------------------------------------------


def test_run_progress_keeps_polling_while_the_run_goes_on(user_client, user):
    run = make_run(user, valid=2)

    response = user_client.get(f"/runs/{run.pk}/progress/?seen=0", **HX)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="run"')
    assert POLL_EVERY_SECOND in body
    # No failure since the last poll: the failures list stays as it is.
    assert "HX-Trigger" not in response


def test_run_progress_ends_polling_with_the_summary_once_the_run_is_done(user_client, user):
    run = finished(make_run(user, valid=2, invalid=1))

    response = user_client.get(f"/runs/{run.pk}/progress/", **HX)

    body = response.content.decode()
    assert POLL_EVERY_SECOND not in body
    assert response["HX-Trigger"] == "enrichment-done"
    assert (
        '<p class="result__summary"><strong>Enrichment finished.</strong>\n'
        "    Enriched: 2, Failed: 1, Skipped: 0</p>"
    ) in body
    assert "<strong>3 / 3</strong> processed" in body
    assert '<progress max="100" value="100"' in body


def test_run_progress_without_htmx_redirects_to_the_run_page(user_client, user):
    run = make_run(user, valid=1)

    response = user_client.get(f"/runs/{run.pk}/progress/")

    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.pk}/"


# Cancel --------------------------------------------------------------------------


def test_cancel_with_htmx_rerenders_the_run_and_a_second_cancel_explains(user_client, user):
    run = make_run(user, valid=3)

    response = user_client.post(f"/runs/{run.pk}/cancel/", **HX)
    again = user_client.post(f"/runs/{run.pk}/cancel/", **HX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "enrichment-done"
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="run"')
    assert '<span class="badge badge--run-cancelled">Cancelled</span>' in body
    assert "Enriched: 0, Failed: 0, Skipped: 0; 3 not processed" in body
    assert POLL_EVERY_SECOND not in body
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert again.status_code == 200
    assert "HX-Trigger" not in again
    assert (
        '<div class="result result--warning" role="alert"><p>The run is already cancelled.</p>'
        in (again.content.decode())
    )


def test_cancel_without_htmx_redirects_with_a_message(user_client, user):
    run = make_run(user, valid=3)

    response = user_client.post(f"/runs/{run.pk}/cancel/")
    page = user_client.get(response["Location"]).content.decode()
    again = user_client.post(f"/runs/{run.pk}/cancel/", follow=True)

    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.pk}/"
    assert "Run cancelled: 0 of 3 conversations processed." in page
    assert again.redirect_chain == [(f"/runs/{run.pk}/", 302)]
    assert "The run is already cancelled." in again.content.decode()


def test_cancel_of_a_finished_run_explains(user_client, user):
    run = finished(make_run(user, valid=1))

    response = user_client.post(f"/runs/{run.pk}/cancel/", follow=True)

    assert "The run is already completed." in response.content.decode()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED


def test_cancel_of_another_users_run_is_not_found(user_client, other_user):
    run = make_run(other_user, valid=1)

    response = user_client.post(f"/runs/{run.pk}/cancel/", **HX)

    assert response.status_code == 404
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED


def test_cancel_refuses_get(user_client, user):
    run = make_run(user, valid=1)

    assert user_client.get(f"/runs/{run.pk}/cancel/").status_code == 405


# Retry failed --------------------------------------------------------------------


def test_retry_failed_with_htmx_starts_a_run_over_only_the_failed_and_redirects(user_client, user):
    run = finished(make_run(user, valid=2, invalid=2))
    failed = set(
        run.items.filter(outcome=ItemOutcome.FAILED).values_list("conversation", flat=True)
    )

    response = user_client.post(f"/runs/{run.pk}/retry-failed/", **HX)

    retry = EnrichmentRun.objects.exclude(pk=run.pk).get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/runs/{retry.pk}/"
    assert set(retry.items.values_list("conversation", flat=True)) == failed
    assert (retry.retry_of, retry.source, retry.created_by) == (run, RunSource.PAGE, user)
    assert retry.total == 2
    page = user_client.get(f"/runs/{retry.pk}/").content.decode()
    assert "Retrying 2 failed conversations in the background." in page
    assert f'<a href="/runs/{run.pk}/">an earlier run</a>' in page


def test_retry_failed_without_htmx_redirects_to_the_new_run(user_client, user):
    run = finished(make_run(user, valid=1, invalid=1))

    response = user_client.post(f"/runs/{run.pk}/retry-failed/")

    retry = EnrichmentRun.objects.exclude(pk=run.pk).get()
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{retry.pk}/"


def test_retry_failed_with_nothing_failed_explains(user_client, user):
    run = finished(make_run(user, valid=1))

    response = user_client.post(f"/runs/{run.pk}/retry-failed/", follow=True)

    assert response.redirect_chain == [(f"/runs/{run.pk}/", 302)]
    assert "The run has no failed conversations to retry." in response.content.decode()
    assert EnrichmentRun.objects.count() == 1


def test_retry_failed_of_another_users_run_is_not_found(user_client, other_user):
    run = finished(make_run(other_user, valid=1, invalid=1))

    response = user_client.post(f"/runs/{run.pk}/retry-failed/", **HX)

    assert response.status_code == 404
    assert EnrichmentRun.objects.count() == 1
