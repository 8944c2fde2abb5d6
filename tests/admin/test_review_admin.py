"""Approving and rejecting selected conversations in the admin."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from conversations.models import Conversation, ReviewAction
from tests.admin.helpers import CONVERSATIONS, action_choices, messages_of, run_action
from tests.factories import ConversationFactory, UserFactory, enriched_conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer_client(db) -> Client:
    user = UserFactory(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_conversation", "change_conversation", "review_others_conversations"]
        )
    )
    client = Client()
    client.force_login(user)
    return client


def test_the_review_actions_are_offered_only_with_the_reviewer_permission(
    reviewer_client, browser_client
):
    ConversationFactory()

    offered = action_choices(reviewer_client.get(CONVERSATIONS))
    hidden = action_choices(browser_client.get(CONVERSATIONS))

    assert {"approve_selected", "reject_selected"} <= set(offered)
    assert not {"approve_selected", "reject_selected"} & set(hidden)


def test_approving_selected_reports_what_it_could_not_review(reviewer_client):
    enriched = enriched_conversation(conversation_name="Enriched chat")
    raw = ConversationFactory(conversation_name="Raw chat")

    response = run_action(reviewer_client, CONVERSATIONS, "approve_selected", [enriched, raw])

    assert response.status_code == 302
    assert Conversation.objects.get(pk=enriched.pk).review_status == "approved"
    found = messages_of(response)
    assert ("success", "Approved 1 of 2.") in found
    assert any(level == "warning" and text.startswith("Raw chat:") for level, text in found)


def test_rejecting_selected_asks_why_first(reviewer_client):
    conversation = enriched_conversation()

    asked = run_action(reviewer_client, CONVERSATIONS, "reject_selected", [conversation])
    done = run_action(
        reviewer_client,
        CONVERSATIONS,
        "reject_selected",
        [conversation],
        post="yes",
        reasons=["formatting"],
        comment="Broken markdown.",
    )

    assert asked.status_code == 200
    assert "Reasons" in asked.content.decode()
    assert Conversation.objects.get(pk=conversation.pk).review_status == "rejected"
    action = ReviewAction.objects.get()
    assert (action.reasons, action.comment) == (["formatting"], "Broken markdown.")
    assert done.status_code == 302


def test_rejecting_without_a_reason_changes_nothing(reviewer_client):
    conversation = enriched_conversation()

    response = run_action(
        reviewer_client, CONVERSATIONS, "reject_selected", [conversation], post="yes"
    )

    assert ("error", "Say why: give at least one reason or a comment.") in messages_of(response)
    assert Conversation.objects.get(pk=conversation.pk).review_status == "pending_review"
