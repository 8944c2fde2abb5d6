"""Background runs in the admin: the list with counts, the read-only page with its failed
conversations, and cancelling and retrying runs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from enrichment.models import EnrichmentRun, ItemOutcome, RunSource, RunStatus
from enrichment.runs import lanes, lifecycle
from tests.admin.helpers import RUNS, action_choices, messages_of, run_action
from tests.factories import BatchJobFactory, ConversationFactory, UserFactory
from tests.factories import a_run as stored_run

RUN_ACTIONS = ["cancel_runs", "retry_failed_runs"]
MISSING_FILE = "The conversation has no stored file to enrich."
# Session, user, the two counts (filtered and total), the page of runs with their creators,
# and the date hierarchy (first and last dates, then the days in between).
RUN_LIST_QUERIES = 7


def a_run(conversations=None, *, user=None, description="", job=None, **state) -> EnrichmentRun:
    """A run started through the service, then put in ``state`` (status, counters)."""
    conversations = conversations or [ConversationFactory()]
    run = stored_run(
        [c.pk for c in conversations],
        user=user,
        source=RunSource.API,
        description=description,
        job=job,
    )
    if state:
        EnrichmentRun.objects.filter(pk=run.pk).update(**state)
        run.refresh_from_db()
    return run


def a_processed_run(good: int, failing: int, **kwargs) -> tuple[EnrichmentRun, list]:
    """A run the real runner worked through; the failing conversations have no stored file."""
    failed = [ConversationFactory(document=None) for _ in range(failing)]
    run = a_run([*ConversationFactory.create_batch(good), *failed], **kwargs)
    lanes.process_run(run.pk)
    run.refresh_from_db()
    return run, failed


def change_url(run: EnrichmentRun) -> str:
    return f"{RUNS}{run.pk}/change/"


def run_form_action(client, run: EnrichmentRun, action: str):
    """Post an action from the run's own page, the way its action bar does."""
    return client.post(
        change_url(run), {"CHANGE_FORM-action": action, "_selected_action": str(run.pk)}
    )


# The list ------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 3])
def test_run_list_costs_the_same_queries_for_1_and_3_runs(
    admin_client, django_assert_num_queries, count
):
    for _ in range(count):
        a_run(user=UserFactory())

    with django_assert_num_queries(RUN_LIST_QUERIES):
        response = admin_client.get(RUNS)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == count


def test_run_list_shows_status_counts_and_progress(admin_client):
    run = a_run(
        ConversationFactory.create_batch(4),
        user=UserFactory(username="dana"),
        description="Nightly <all>",
        status=RunStatus.RUNNING,
        enriched=2,
        failed=1,
    )

    response = admin_client.get(RUNS)

    content = response.content.decode()
    url = change_url(run)
    assert (
        f'<td class="field-name"><a href="{url}"><span class="truncate" '
        'title="Nightly &lt;all&gt;">Nightly &lt;all&gt;</span></a></td>'
    ) in content
    assert 'class="status-badge status-badge--running"' in content
    assert ">Running</span></td>" in content
    assert '<td class="field-owner"><span class="truncate" title="dana">dana</span></td>' in content
    assert '<td class="field-total">4</td>' in content
    assert '<td class="field-enriched">2</td>' in content
    assert '<td class="field-failed">1</td>' in content
    assert '<td class="field-skipped">0</td>' in content
    assert '<td class="field-progress">75%</td>' in content


def test_run_list_is_newest_first(admin_client):
    older = a_run(description="Older")
    newer = a_run(description="Newer")

    response = admin_client.get(RUNS)

    assert list(response.context["cl"].result_list) == [newer, older]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status__exact": "running"}, ["Running"]),
        ({"status__exact": "completed"}, ["Done"]),
        ({"source__exact": "admin"}, ["From the admin"]),
    ],
)
def test_run_list_filters_by_status_and_source(admin_client, query, expected):
    a_run(description="Running", status=RunStatus.RUNNING)
    a_run(description="Done", status=RunStatus.COMPLETED)
    a_run(description="From the admin", source=RunSource.ADMIN)

    response = admin_client.get(RUNS, query)

    assert [run.description for run in response.context["cl"].result_list] == expected


# The run's page ------------------------------------------------------------------------------


def test_run_page_is_read_only_and_links_its_progress_page(admin_client):
    run = a_run(description="Nightly")

    response = admin_client.get(change_url(run))

    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert response.context["has_delete_permission"] is False
    assert response.context["adminform"].form.fields == {}
    content = response.content.decode()
    assert f'<a href="/runs/{run.pk}/">/runs/{run.pk}/</a>' in content
    assert f'<a href="/runs/{run.pk}/" class="viewsitelink">' in content
    assert "<label>Failed conversations:</label>" in content
    assert '<div class="readonly">None.</div>' in content


def test_run_page_shows_progress_and_time_left(admin_client, beating_worker):
    run = a_run(
        ConversationFactory.create_batch(4),
        status=RunStatus.RUNNING,
        started_at=timezone.now() - timedelta(minutes=3),
        enriched=2,
        skipped=1,
    )

    content = admin_client.get(change_url(run)).content.decode()

    assert '<div class="readonly">3 of 4 processed (75%), 1 remaining</div>' in content
    # Three minutes for three conversations: one more minute for the last one.
    assert '<div class="readonly">about 1 min 0 s</div>' in content


def test_run_page_says_when_no_worker_runs_instead_of_a_time_left(admin_client):
    run = a_run(
        ConversationFactory.create_batch(4),
        status=RunStatus.RUNNING,
        started_at=timezone.now() - timedelta(minutes=3),
        enriched=2,
    )

    content = admin_client.get(change_url(run)).content.decode()

    assert '<div class="readonly">-; no worker is running (bin/worker)</div>' in content


def test_run_page_links_its_batch_job_and_the_run_it_retries(admin_client):
    job = BatchJobFactory()
    first, _ = a_processed_run(0, 1, description="Nightly", job=job)
    retry = lifecycle.retry_failed(first, user=None, source=RunSource.API).run

    content = admin_client.get(change_url(retry)).content.decode()

    assert (
        f'Batch job <a href="/admin/conversations/batchjob/{job.pk}/change/">{job.name}</a>'
        in content
    )
    assert f'<a href="{change_url(first)}">Nightly</a>' in content


def test_run_page_saves_nothing_posted_to_it(admin_client):
    run = a_run(description="Nightly")

    response = admin_client.post(change_url(run), {"description": "Edited", "total": 99})

    assert response.status_code == 403
    run.refresh_from_db()
    assert (run.description, run.total) == ("Nightly", 1)


def test_run_page_lists_failed_conversations_with_links(admin_client):
    run, failed = a_processed_run(1, 2)

    content = admin_client.get(change_url(run)).content.decode()

    rows = "".join(
        f"<tr><td>{position}</td><td>"
        f'<a href="/admin/conversations/conversation/{conversation.pk}/change/">'
        f"{conversation.conversation_name}</a></td><td>Missing input</td>"
        f'<td><span class="preformatted">{MISSING_FILE}</span></td></tr>'
        for position, conversation in [(2, failed[0]), (3, failed[1])]
    )
    assert (
        '<table class="run-failed-items"><thead><tr><th>#</th><th>Conversation</th>'
        f"<th>Error category</th><th>Error</th></tr></thead><tbody>{rows}</tbody></table>"
    ) in content


def test_run_page_lists_a_limited_number_of_failed_conversations(admin_client, monkeypatch):
    monkeypatch.setattr("enrichment.admin.runs.FAILED_ITEMS_SHOWN", 2)
    run, failed = a_processed_run(0, 3)

    content = admin_client.get(change_url(run)).content.decode()

    assert f"/admin/conversations/conversation/{failed[1].pk}/change/" in content
    assert f"/admin/conversations/conversation/{failed[2].pk}/change/" not in content
    assert "<p>The first 2 of 3 failed.</p>" in content


def test_runs_cannot_be_added_in_the_admin(admin_client):
    response = admin_client.get(f"{RUNS}add/")

    assert response.status_code == 403
    assert admin_client.get(RUNS).context["has_add_permission"] is False


# Cancel --------------------------------------------------------------------------------------


def test_cancel_selected_runs_cancels_unfinished_ones_and_counts_finished_ones(enricher_client):
    queued = a_run()
    running = a_run(status=RunStatus.RUNNING)
    done = a_run(status=RunStatus.COMPLETED)

    response = run_action(enricher_client, RUNS, "cancel_runs", [queued, running, done])

    assert response.status_code == 302
    assert messages_of(response) == [
        ("success", "Cancelled 2 runs. 1 selected run was already finished.")
    ]
    for run in (queued, running, done):
        run.refresh_from_db()
    assert [queued.status, running.status, done.status] == [
        RunStatus.CANCELLED,
        RunStatus.CANCELLED,
        RunStatus.COMPLETED,
    ]
    assert queued.finished_at is not None
    assert done.finished_at is None


def test_cancel_with_only_finished_runs_cancels_nothing(enricher_client):
    finished = [a_run(status=RunStatus.COMPLETED), a_run(status=RunStatus.CANCELLED)]

    response = run_action(enricher_client, RUNS, "cancel_runs", finished[:1], select_across=1)

    assert messages_of(response) == [
        ("warning", "Nothing to cancel. 2 selected runs were already finished.")
    ]
    assert sorted(EnrichmentRun.objects.values_list("status", flat=True)) == [
        RunStatus.CANCELLED,
        RunStatus.COMPLETED,
    ]


def test_cancel_from_the_run_page(enricher_client):
    run = a_run(status=RunStatus.RUNNING)

    response = run_form_action(enricher_client, run, "cancel_runs")

    assert response.status_code == 302
    assert response["Location"] == change_url(run)
    assert messages_of(response) == [("success", "Cancelled 1 run.")]
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED


# Retry failed --------------------------------------------------------------------------------


def test_retry_failed_of_selected_runs_queues_a_run_over_each_runs_failures(enricher_client):
    run, failed = a_processed_run(1, 2, description="Nightly")
    EnrichmentRun.objects.filter(pk=run.pk).update(force=True)
    clean, _ = a_processed_run(1, 0)

    response = run_action(enricher_client, RUNS, "retry_failed_runs", [run, clean])

    retry = EnrichmentRun.objects.get(retry_of=run)
    assert (
        retry.source,
        retry.status,
        retry.description,
        retry.force,
        retry.created_by,
        retry.total,
    ) == (
        RunSource.ADMIN,
        RunStatus.QUEUED,
        "Retry of failed: Nightly",
        True,
        response.wsgi_request.user,
        2,
    )
    assert list(
        retry.items.order_by("position").values_list("position", "conversation_id", "outcome")
    ) == [(1, failed[0].pk, ItemOutcome.PENDING), (2, failed[1].pk, ItemOutcome.PENDING)]
    assert EnrichmentRun.objects.count() == 3
    assert messages_of(response) == [
        (
            "success",
            "Queued 1 retry run over 2 failed conversations: "
            f'<a href="/runs/{retry.pk}/">Retry of failed: Nightly</a> '
            f'(<a href="{change_url(retry)}">in the admin</a>). '
            "1 selected run had no failed conversations to retry.",
        )
    ]


def test_retry_failed_of_runs_without_failures_queues_nothing(enricher_client):
    clean, _ = a_processed_run(1, 0)

    response = run_action(enricher_client, RUNS, "retry_failed_runs", [clean])

    assert messages_of(response) == [
        ("warning", "Nothing to retry: 1 selected run had no failed conversations.")
    ]
    assert list(EnrichmentRun.objects.all()) == [clean]


def test_retry_failed_from_the_run_page(enricher_client):
    run, failed = a_processed_run(0, 1)

    response = run_form_action(enricher_client, run, "retry_failed_runs")

    retry = EnrichmentRun.objects.get(retry_of=run)
    assert list(retry.items.values_list("conversation_id", flat=True)) == [failed[0].pk]
    assert messages_of(response) == [
        (
            "success",
            "Queued 1 retry run over 1 failed conversation: "
            f'<a href="/runs/{retry.pk}/">Retry of failed: {run.pk}</a> '
            f'(<a href="{change_url(retry)}">in the admin</a>).',
        )
    ]


# Permissions ---------------------------------------------------------------------------------


def test_staff_without_the_permission_see_runs_without_actions(browser_client):
    run = a_run()

    listing = browser_client.get(RUNS)
    page = browser_client.get(change_url(run))

    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [run]
    assert listing.context["action_form"] is None
    assert page.status_code == 200
    assert page.context["action_form"] is None


@pytest.mark.parametrize("action", RUN_ACTIONS)
def test_staff_without_the_permission_cannot_post_run_actions(browser_client, action):
    run, _ = a_processed_run(0, 1)
    EnrichmentRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)

    from_list = run_action(browser_client, RUNS, action, [run])
    from_page = run_form_action(browser_client, run, action)

    assert from_list.status_code == 200
    assert from_page.status_code == 403
    assert messages_of(from_list) == []
    assert list(EnrichmentRun.objects.values_list("status", flat=True)) == [RunStatus.RUNNING]


@pytest.mark.parametrize("client_fixture", ["enricher_client", "admin_client"])
def test_staff_with_the_permission_and_superusers_see_run_actions(request, client_fixture):
    client = request.getfixturevalue(client_fixture)
    run = a_run()

    listing = client.get(RUNS)
    page = client.get(change_url(run))

    assert action_choices(listing) == RUN_ACTIONS
    assert [name for name, _ in page.context["action_form"].fields["action"].choices if name] == (
        RUN_ACTIONS
    )
