"""The enrichment actions on selected conversations."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Conversation, EnrichmentStatus, ErrorCategory
from enrichment.models import EnrichmentRun, ItemOutcome, RunSource, RunStatus
from tests.admin.helpers import CONVERSATIONS, action_choices, messages_of, run_action, run_links
from tests.factories import ConversationFactory
from tests.jobs import queued

ENRICH_ACTIONS = ["enrich_selected", "retry_failed", "force_reenrich"]
REVIEW_ACTIONS = ["approve_selected", "reject_selected"]
CONFIRMATION = "admin/conversations/conversation/force_reenrich_confirmation.html"
MISSING_FILE = "The conversation has no stored file to enrich."


def conversations_in_order(count: int, make=ConversationFactory, **fields) -> list[Conversation]:
    """Rows created a minute apart, oldest first: the order a run lists them in."""
    start = timezone.now() - timedelta(hours=1)
    return [make(created_at=start + timedelta(minutes=n), **fields) for n in range(count)]


def run_fields(run: EnrichmentRun) -> dict:
    return {
        "source": run.source,
        "status": run.status,
        "description": run.description,
        "force": run.force,
        "batch_job": run.batch_job_id,
        "created_by": run.created_by,
        "total": run.total,
    }


def items_of(run: EnrichmentRun) -> list[tuple]:
    return list(
        run.items.order_by("position").values_list("position", "conversation_id", "outcome")
    )


def enqueued_lanes() -> int:
    return queued("enrich_run_lane").count()


def not_started() -> int:
    return Conversation.objects.filter(enrichment_status=EnrichmentStatus.NOT_STARTED).count()


def hidden_selection(content: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="_selected_action" value="([^"]+)">', content)


def completed_conversation(**fields) -> Conversation:
    return ConversationFactory(
        enrichment_status=EnrichmentStatus.COMPLETED,
        enriched_at=timezone.now() - timedelta(days=1),
        enriched_file_path="old/enriched.json",
        **fields,
    )


def failed_conversation(**fields) -> Conversation:
    return ConversationFactory(
        enrichment_status=EnrichmentStatus.ENRICHMENT_FAILED,
        enrichment_error="Unexpected error: boom",
        enrichment_error_category=ErrorCategory.INTERNAL,
        **fields,
    )


# Enrich selected ----------------------------------------------------------------------------


def test_enrich_selected_enriches_skips_and_names_failures(enricher_client):
    fresh = ConversationFactory()
    done = completed_conversation()
    busy = ConversationFactory(
        enrichment_status=EnrichmentStatus.IN_PROGRESS,
        enrichment_lease_expires_at=timezone.now() + timedelta(minutes=5),
    )
    broken = ConversationFactory(document=None, conversation_name="Broken chat")

    response = run_action(
        enricher_client, CONVERSATIONS, "enrich_selected", [fresh, done, busy, broken]
    )

    assert response.status_code == 302
    assert messages_of(response) == [
        (
            "warning",
            "Enrichment of 4 conversations: 1 enriched, 1 failed, 2 skipped. "
            "Skipped: 1 already enriched, 1 in progress elsewhere. "
            f"Failed: “Broken chat”: {MISSING_FILE.rstrip('.')}. "
            f'<a href="{CONVERSATIONS}?id__in={broken.pk}">See it in the list</a>.',
        )
    ]
    for row in (fresh, done, busy, broken):
        row.refresh_from_db()
    assert fresh.enrichment_status == EnrichmentStatus.COMPLETED
    # Revision 1's output, at its claim's own path.
    assert fresh.enriched_file_path.startswith(
        f"{fresh.owner_segment}/{fresh.conversation_id}/enriched/1-"
    )
    assert done.enriched_file_path == "old/enriched.json"
    assert busy.enrichment_status == EnrichmentStatus.IN_PROGRESS
    assert broken.enrichment_status == EnrichmentStatus.ENRICHMENT_FAILED
    assert broken.enrichment_error == MISSING_FILE
    assert broken.enrichment_error_category == ErrorCategory.MISSING_INPUT


def test_enrich_selected_reports_success_when_nothing_failed(enricher_client):
    rows = ConversationFactory.create_batch(2)

    response = run_action(enricher_client, CONVERSATIONS, "enrich_selected", rows)

    assert messages_of(response) == [
        ("success", "Enrichment of 2 conversations: 2 enriched, 0 failed, 0 skipped.")
    ]
    assert [
        status for status in Conversation.objects.values_list("enrichment_status", flat=True)
    ] == [EnrichmentStatus.COMPLETED, EnrichmentStatus.COMPLETED]


def test_enrich_selected_leaves_inactive_conversations_alone(enricher_client):
    active = ConversationFactory()
    inactive = ConversationFactory(is_active=False)

    response = run_action(enricher_client, CONVERSATIONS, "enrich_selected", [active, inactive])

    assert messages_of(response) == [
        (
            "success",
            "Enrichment of 1 conversation: 1 enriched, 0 failed, 0 skipped. "
            "1 selected conversation was inactive and left alone.",
        )
    ]
    inactive.refresh_from_db()
    assert inactive.enrichment_status == EnrichmentStatus.NOT_STARTED


def test_enrich_selected_runs_a_full_selection_at_the_limit(enricher_client, settings):
    rows = ConversationFactory.create_batch(settings.ENRICHMENT_BULK_LIMIT, document=None)

    response = run_action(
        enricher_client, CONVERSATIONS, "enrich_selected", rows[:1], select_across=1
    )

    [(level, message)] = messages_of(response)
    assert level == "warning"
    assert message.startswith(
        "Enrichment of 100 conversations: 0 enriched, 100 failed, 0 skipped. "
    )
    # A few by name, the rest a link away: the link lists exactly the failed ones.
    assert message.count(": The conversation has no stored file to enrich") == 3
    assert ": The conversation has no stored file to enrich; and 97 more. " in message
    url = re.search(r'<a href="([^"]+)">See all 100 in the list</a>\.$', message).group(1)
    listed = enricher_client.get(url).context["cl"]
    assert listed.result_count == 100
    assert {row.pk for row in listed.queryset} == {row.pk for row in rows}
    assert Conversation.objects.failed().count() == 100


def test_enrich_selected_queues_a_run_for_select_all_above_the_limit(
    enricher_client, settings, django_capture_on_commit_callbacks
):
    settings.ENRICHMENT_BULK_LIMIT = 3
    rows = conversations_in_order(4)

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(
            enricher_client, CONVERSATIONS, "enrich_selected", rows[:1], select_across=1
        )

    assert response.status_code == 302
    run = EnrichmentRun.objects.get()
    assert run_fields(run) == {
        "source": RunSource.ADMIN,
        "status": RunStatus.QUEUED,
        "description": "Enrich selected conversations",
        "force": False,
        "batch_job": None,
        "created_by": response.wsgi_request.user,
        "total": 4,
    }
    assert items_of(run) == [(n, row.pk, ItemOutcome.PENDING) for n, row in enumerate(rows, 1)]
    assert messages_of(response) == [
        (
            "success",
            f"Queued a background run over 4 conversations. Follow its progress on "
            f"{run_links(run)}.",
        )
    ]
    assert enqueued_lanes() == 1  # the run is smaller than a chunk
    assert not_started() == 4


def test_enrich_selected_queues_a_run_for_a_ticked_selection_above_the_limit(
    enricher_client, settings
):
    settings.ENRICHMENT_BULK_LIMIT = 3
    fresh = conversations_in_order(3)
    done = completed_conversation()
    inactive = ConversationFactory(is_active=False)

    response = run_action(
        enricher_client, CONVERSATIONS, "enrich_selected", [*fresh, done, inactive]
    )

    run = EnrichmentRun.objects.get()
    assert (run.description, run.force, run.total) == ("Enrich selected conversations", False, 4)
    assert items_of(run) == [
        (n, row.pk, ItemOutcome.PENDING) for n, row in enumerate([*fresh, done], 1)
    ]
    assert messages_of(response) == [
        (
            "success",
            "Queued a background run over 4 conversations (1 of them is already enriched and "
            f"will be skipped). Follow its progress on {run_links(run)}. "
            "1 selected conversation was inactive and left alone.",
        )
    ]
    assert not_started() == 4
    done.refresh_from_db()
    assert done.enriched_file_path == "old/enriched.json"


def test_the_queued_run_message_shows_its_links_on_the_next_page(enricher_client, settings):
    settings.ENRICHMENT_BULK_LIMIT = 3
    rows = ConversationFactory.create_batch(4)

    response = enricher_client.post(
        CONVERSATIONS,
        {
            "action": "enrich_selected",
            "_selected_action": [str(rows[0].pk)],
            "select_across": "1",
            "index": 0,
        },
        follow=True,
    )

    run = EnrichmentRun.objects.get()
    assert response.redirect_chain == [(CONVERSATIONS, 302)]
    assert (
        '<li class="success">Queued a background run over 4 conversations. Follow its '
        f"progress on {run_links(run)}.</li>"
    ) in response.content.decode()


# Retry failed -------------------------------------------------------------------------------


def test_retry_failed_re_enriches_only_failed_rows(enricher_client):
    failed = failed_conversation()
    fresh = ConversationFactory()
    done = completed_conversation()

    response = run_action(enricher_client, CONVERSATIONS, "retry_failed", [failed, fresh, done])

    assert messages_of(response) == [
        (
            "success",
            "Enrichment of 1 conversation: 1 enriched, 0 failed, 0 skipped. "
            "2 selected conversations were not in a failed state (or inactive) and left alone.",
        )
    ]
    for row in (failed, fresh, done):
        row.refresh_from_db()
    assert failed.enrichment_status == EnrichmentStatus.COMPLETED
    assert failed.enrichment_error is None
    assert failed.enrichment_error_category is None
    assert fresh.enrichment_status == EnrichmentStatus.NOT_STARTED
    assert done.enriched_file_path == "old/enriched.json"


def test_retry_failed_names_conversations_that_fail_again(enricher_client):
    still_broken = failed_conversation(document=None, conversation_name="Still broken")

    response = run_action(enricher_client, CONVERSATIONS, "retry_failed", [still_broken])

    assert messages_of(response) == [
        (
            "warning",
            "Enrichment of 1 conversation: 0 enriched, 1 failed, 0 skipped. "
            f"Failed: “Still broken”: {MISSING_FILE.rstrip('.')}. "
            f'<a href="{CONVERSATIONS}?id__in={still_broken.pk}">See it in the list</a>.',
        )
    ]
    still_broken.refresh_from_db()
    assert still_broken.enrichment_error == MISSING_FILE


def test_retry_failed_with_no_failed_rows_does_nothing(enricher_client):
    rows = [ConversationFactory(), completed_conversation()]

    response = run_action(enricher_client, CONVERSATIONS, "retry_failed", rows)

    assert messages_of(response) == [
        (
            "warning",
            "Nothing to enrich. 2 selected conversations were not in a failed state "
            "(or inactive) and left alone.",
        )
    ]
    assert Conversation.objects.filter(enrichment_status=EnrichmentStatus.NOT_STARTED).count() == 1


def test_retry_failed_queues_a_run_over_only_the_failed_rows_above_the_limit(
    enricher_client, settings
):
    settings.ENRICHMENT_BULK_LIMIT = 3
    failed = conversations_in_order(4, make=failed_conversation)
    ConversationFactory()
    completed_conversation()

    response = run_action(
        enricher_client, CONVERSATIONS, "retry_failed", failed[:1], select_across=1
    )

    run = EnrichmentRun.objects.get()
    assert run_fields(run) == {
        "source": RunSource.ADMIN,
        "status": RunStatus.QUEUED,
        "description": "Retry failed enrichments",
        "force": False,
        "batch_job": None,
        "created_by": response.wsgi_request.user,
        "total": 4,
    }
    assert items_of(run) == [(n, row.pk, ItemOutcome.PENDING) for n, row in enumerate(failed, 1)]
    assert messages_of(response) == [
        (
            "success",
            f"Queued a background run over 4 conversations. Follow its progress on "
            f"{run_links(run)}. 2 selected conversations were not in a failed state "
            "(or inactive) and left alone.",
        )
    ]
    assert Conversation.objects.failed().count() == 4


# Re-enrich (force) --------------------------------------------------------------------------


def test_force_reenrich_asks_for_confirmation_first(enricher_client):
    rows = [completed_conversation(), completed_conversation(), ConversationFactory()]

    response = run_action(enricher_client, CONVERSATIONS, "force_reenrich", rows)

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == CONFIRMATION
    content = response.content.decode()
    assert "You selected 3 conversations to re-enrich." in content
    assert (
        '<strong id="overwrite-count">2 completed conversations will be overwritten</strong>'
        in content
    )
    for row in rows:
        assert f'<input type="hidden" name="_selected_action" value="{row.pk}">' in content
    assert '<input type="hidden" name="action" value="force_reenrich">' in content
    assert '<input type="hidden" name="post" value="yes">' in content
    assert list(
        Conversation.objects.order_by("enrichment_status").values_list(
            "enrichment_status", flat=True
        )
    ) == [EnrichmentStatus.COMPLETED, EnrichmentStatus.COMPLETED, EnrichmentStatus.NOT_STARTED]
    assert messages_of(response) == []


def test_force_reenrich_confirmation_counts_one_completed(enricher_client):
    rows = [completed_conversation(), ConversationFactory()]

    response = run_action(enricher_client, CONVERSATIONS, "force_reenrich", rows)

    assert "1 completed conversation will be overwritten</strong>" in response.content.decode()


def test_force_reenrich_confirmation_warns_about_conversations_being_enriched(enricher_client):
    busy = ConversationFactory(
        enrichment_status=EnrichmentStatus.IN_PROGRESS,
        enrichment_lease_expires_at=timezone.now() + timedelta(minutes=5),
    )

    response = run_action(enricher_client, CONVERSATIONS, "force_reenrich", [busy])

    content = response.content.decode()
    assert "0 completed conversations will be overwritten</strong>" in content
    assert "1 conversation is being enriched right now and will be skipped." in content


def test_force_reenrich_confirmed_overwrites_completed_ones(enricher_client):
    done = completed_conversation()
    fresh = ConversationFactory()
    before = done.enriched_at

    response = enricher_client.post(
        CONVERSATIONS,
        {
            "action": "force_reenrich",
            "_selected_action": [str(done.pk), str(fresh.pk)],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert messages_of(response) == [
        ("success", "Enrichment of 2 conversations: 2 enriched, 0 failed, 0 skipped.")
    ]
    done.refresh_from_db()
    fresh.refresh_from_db()
    assert done.enrichment_status == EnrichmentStatus.COMPLETED
    assert done.enriched_at > before
    assert done.enriched_file_path.startswith(
        f"{done.owner_segment}/{done.conversation_id}/enriched/1-"
    )
    assert fresh.enrichment_status == EnrichmentStatus.COMPLETED


def test_force_reenrich_above_the_limit_confirms_with_counts_and_posts_back_select_all(
    enricher_client, settings
):
    settings.ENRICHMENT_BULK_LIMIT = 3
    rows = conversations_in_order(4, make=completed_conversation)
    ConversationFactory(
        enrichment_status=EnrichmentStatus.IN_PROGRESS,
        enrichment_lease_expires_at=timezone.now() + timedelta(minutes=5),
    )

    response = run_action(
        enricher_client, CONVERSATIONS, "force_reenrich", rows[:1], select_across=1
    )

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == CONFIRMATION
    content = response.content.decode()
    assert "You selected 5 conversations to re-enrich." in content
    assert "4 completed conversations will be overwritten</strong>" in content
    assert "1 conversation is being enriched right now and will be skipped." in content
    assert (
        '<p id="queued-note">That is more than the admin enriches in one request (3): '
        "a background run will be queued, and you can follow its progress.</p>"
    ) in content
    assert content.count("<li>Emergency fund chat") == 3
    assert "<li>… and 2 more.</li>" in content
    assert hidden_selection(content) == [str(rows[0].pk)]
    assert '<input type="hidden" name="select_across" value="1">' in content
    assert EnrichmentRun.objects.count() == 0
    assert messages_of(response) == []


def test_force_reenrich_above_the_limit_posts_back_a_ticked_selection(enricher_client, settings):
    settings.ENRICHMENT_BULK_LIMIT = 3
    rows = conversations_in_order(4, make=completed_conversation)

    response = run_action(enricher_client, CONVERSATIONS, "force_reenrich", rows)

    content = response.content.decode()
    assert "You selected 4 conversations to re-enrich." in content
    assert sorted(hidden_selection(content)) == sorted(str(row.pk) for row in rows)
    assert 'name="select_across"' not in content


def test_force_reenrich_confirmed_above_the_limit_queues_a_forced_run(
    enricher_client, settings, django_capture_on_commit_callbacks
):
    settings.ENRICHMENT_BULK_LIMIT = 3
    rows = conversations_in_order(4, make=completed_conversation)
    ConversationFactory(is_active=False)

    with django_capture_on_commit_callbacks(execute=True):
        response = enricher_client.post(
            CONVERSATIONS,
            {
                "action": "force_reenrich",
                "_selected_action": [str(rows[0].pk)],
                "select_across": "1",
                "post": "yes",
            },
        )

    assert response.status_code == 302
    run = EnrichmentRun.objects.get()
    assert run_fields(run) == {
        "source": RunSource.ADMIN,
        "status": RunStatus.QUEUED,
        "description": "Re-enrich (force)",
        "force": True,
        "batch_job": None,
        "created_by": response.wsgi_request.user,
        "total": 4,
    }
    assert items_of(run) == [(n, row.pk, ItemOutcome.PENDING) for n, row in enumerate(rows, 1)]
    assert messages_of(response) == [
        (
            "success",
            "Queued a forced background run over 4 conversations (completed ones are "
            f"re-enriched). Follow its progress on {run_links(run)}.",
        )
    ]
    assert enqueued_lanes() == 1  # the run is smaller than a chunk
    for row in rows:
        row.refresh_from_db()
    assert [row.enriched_file_path for row in rows] == ["old/enriched.json"] * 4


# Permissions ----------------------------------------------------------------------------------


def test_staff_without_the_permission_do_not_see_enrichment_actions(browser_client):
    ConversationFactory()

    response = browser_client.get(CONVERSATIONS)

    assert response.status_code == 200
    assert action_choices(response) == ["delete_selected"]


@pytest.mark.parametrize("client_fixture", ["enricher_client", "admin_client"])
def test_staff_with_the_permission_and_superusers_see_enrichment_actions(request, client_fixture):
    client = request.getfixturevalue(client_fixture)
    ConversationFactory()

    response = client.get(CONVERSATIONS)

    # (The training app adds "add_to_training_file"; its own tests cover it.)
    assert [
        name
        for name in action_choices(response)
        if name not in ("delete_selected", "add_to_training_file", *REVIEW_ACTIONS)
    ] == ENRICH_ACTIONS


@pytest.mark.parametrize("action", ENRICH_ACTIONS)
def test_staff_without_the_permission_cannot_post_enrichment_actions(browser_client, action):
    row = failed_conversation()

    response = run_action(browser_client, CONVERSATIONS, action, [row], post="yes")

    assert response.status_code == 302
    assert messages_of(response) == [("warning", "No action selected.")]
    row.refresh_from_db()
    assert row.enrichment_status == EnrichmentStatus.ENRICHMENT_FAILED


def test_staff_without_the_permission_cannot_confirm_a_forced_run(browser_client):
    done = completed_conversation()

    response = browser_client.post(
        CONVERSATIONS,
        {"action": "force_reenrich", "_selected_action": [str(done.pk)], "post": "yes"},
    )

    assert messages_of(response) == [("warning", "No action selected.")]
    done.refresh_from_db()
    assert done.enriched_file_path == "old/enriched.json"


def test_superuser_runs_enrichment_actions(admin_client):
    row = ConversationFactory()

    response = run_action(admin_client, CONVERSATIONS, "enrich_selected", [row])

    assert messages_of(response) == [
        ("success", "Enrichment of 1 conversation: 1 enriched, 0 failed, 0 skipped.")
    ]
    row.refresh_from_db()
    assert row.enrichment_status == EnrichmentStatus.COMPLETED


def test_the_report_names_every_kind_of_skip_it_saw():
    import uuid

    from enrichment.admin.reports import result_report
    from enrichment.pipeline.outcomes import Outcome
    from enrichment.services import BulkResult

    def skipped(reason: str, status: str) -> Outcome:
        return Outcome(uuid.uuid4(), uuid.uuid4(), "skipped", status, reason=reason)

    report = result_report(
        BulkResult(
            [
                skipped("already_enriched", "completed"),
                skipped("previously_failed", "validation_failed"),
                skipped("inactive", "not_started"),
                skipped("inactive", "not_started"),
            ]
        )
    )

    assert (
        "Skipped: 1 already enriched, 0 in progress elsewhere, 1 failed before, 2 deactivated."
        in report.message
    )
