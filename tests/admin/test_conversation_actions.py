"""The enrichment actions on selected conversations."""

from datetime import timedelta

import pytest
from django.utils import timezone

from enrichment.models import Conversation, EnrichmentStatus, ErrorCategory
from tests.admin.helpers import CONVERSATIONS, action_choices, messages_of, run_action
from tests.factories import ConversationFactory

ENRICH_ACTIONS = ["enrich_selected", "retry_failed", "force_reenrich"]
CONFIRMATION = "admin/enrichment/conversation/force_reenrich_confirmation.html"
MISSING_FILE = "The conversation has no stored file to enrich."


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
            f"Failed: “Broken chat” ({broken.conversation_id}): {MISSING_FILE}",
        )
    ]
    for row in (fresh, done, busy, broken):
        row.refresh_from_db()
    assert fresh.enrichment_status == EnrichmentStatus.COMPLETED
    assert (
        fresh.enriched_file_path == f"{fresh.owner_segment}/{fresh.conversation_id}/enriched.json"
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
    assert message.count(": The conversation has no stored file to enrich; ") == 10
    assert message.endswith(": The conversation has no stored file to enrich; and 90 more.")
    assert Conversation.objects.failed().count() == 100


def test_enrich_selected_refuses_select_all_above_the_limit(enricher_client, settings):
    rows = ConversationFactory.create_batch(settings.ENRICHMENT_BULK_LIMIT + 1, document=None)

    response = run_action(
        enricher_client, CONVERSATIONS, "enrich_selected", rows[:1], select_across=1
    )

    assert response.status_code == 302
    assert messages_of(response) == [
        (
            "error",
            "101 conversations selected: the admin enriches at most 100 in one request, so "
            "nothing was enriched. Run it from the command line instead: "
            "python manage.py enrich <ids…>, or python manage.py enrich --status <status>",
        )
    ]
    assert (
        Conversation.objects.filter(enrichment_status=EnrichmentStatus.NOT_STARTED).count() == 101
    )


def test_enrich_selected_refuses_a_ticked_selection_above_the_limit(enricher_client, settings):
    settings.ENRICHMENT_BULK_LIMIT = 2
    rows = ConversationFactory.create_batch(3)

    response = run_action(enricher_client, CONVERSATIONS, "enrich_selected", rows)

    assert messages_of(response) == [
        (
            "error",
            "3 conversations selected: the admin enriches at most 2 in one request, so "
            "nothing was enriched. Run it from the command line instead: "
            "python manage.py enrich <ids…>, or python manage.py enrich --status <status>",
        )
    ]
    assert Conversation.objects.filter(enrichment_status=EnrichmentStatus.NOT_STARTED).count() == 3


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
            f"Failed: “Still broken” ({still_broken.conversation_id}): {MISSING_FILE}",
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


def test_retry_failed_refuses_above_the_limit(enricher_client, settings):
    settings.ENRICHMENT_BULK_LIMIT = 2
    rows = [failed_conversation() for _ in range(3)]

    response = run_action(enricher_client, CONVERSATIONS, "retry_failed", rows[:1], select_across=1)

    assert messages_of(response) == [
        (
            "error",
            "3 conversations selected: the admin enriches at most 2 in one request, so "
            "nothing was enriched. Run it from the command line instead: python manage.py "
            "enrich --status validation_failed --status normalization_failed "
            "--status enrichment_failed",
        )
    ]
    assert Conversation.objects.failed().count() == 3


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
    assert done.enriched_file_path == f"{done.owner_segment}/{done.conversation_id}/enriched.json"
    assert fresh.enrichment_status == EnrichmentStatus.COMPLETED


def test_force_reenrich_refuses_above_the_limit_without_confirmation(enricher_client, settings):
    settings.ENRICHMENT_BULK_LIMIT = 2
    rows = [completed_conversation() for _ in range(3)]

    response = run_action(
        enricher_client, CONVERSATIONS, "force_reenrich", rows[:1], select_across=1
    )

    assert response.status_code == 302
    assert messages_of(response) == [
        (
            "error",
            "3 conversations selected: the admin enriches at most 2 in one request, so "
            "nothing was enriched. Run it from the command line instead: python manage.py "
            "enrich --force <ids…>, or python manage.py enrich --force --status <status>",
        )
    ]
    assert all(row.enriched_file_path == "old/enriched.json" for row in Conversation.objects.all())


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

    assert [
        name for name in action_choices(response) if name != "delete_selected"
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
