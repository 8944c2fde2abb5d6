"""Approving and rejecting the conversations ticked on the conversations page."""

import pytest

from conversations.models import Conversation
from tests.factories import ConversationFactory, enriched_conversation

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def test_the_list_offers_approve_and_reject_for_the_ticked_rows(user_client, user):
    ConversationFactory(created_by=user)

    html = user_client.get("/conversations/").content.decode()

    assert 'formaction="/review/selected/"' in html
    assert 'value="approved"' in html and 'value="rejected"' in html


def test_approving_ticked_rows_reports_the_ones_it_could_not(user_client, user):
    enriched = enriched_conversation(created_by=user, conversation_name="Ready")
    raw = ConversationFactory(created_by=user, conversation_name="Not enriched")

    response = user_client.post(
        "/review/selected/",
        {"ids": [str(enriched.pk), str(raw.pk)], "review_action": "approved"},
        **HX,
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Approved: 1, not reviewed: 1" in html
    assert "Not enriched" in html
    assert Conversation.objects.get(pk=enriched.pk).review_status == "approved"


def test_rejecting_ticked_rows_needs_a_reason(user_client, user):
    conversation = enriched_conversation(created_by=user)

    refused = user_client.post(
        "/review/selected/", {"ids": [str(conversation.pk)], "review_action": "rejected"}, **HX
    )
    done = user_client.post(
        "/review/selected/",
        {
            "ids": [str(conversation.pk)],
            "review_action": "rejected",
            "review_comment": "Off topic.",
        },
        **HX,
    )

    assert refused.status_code == 422
    assert "Say why" in refused.content.decode()
    assert done.status_code == 200
    assert Conversation.objects.get(pk=conversation.pk).review_status == "rejected"


def test_someone_elses_ticked_rows_are_left_alone(user_client, user, other_user):
    theirs = enriched_conversation(created_by=other_user)

    response = user_client.post(
        "/review/selected/", {"ids": [str(theirs.pk)], "review_action": "approved"}, **HX
    )

    assert "Approved: 0" in response.content.decode()
    assert Conversation.objects.get(pk=theirs.pk).review_status == "pending_review"
