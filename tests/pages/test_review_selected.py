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


def test_the_list_shows_each_rows_review_status_and_sends_it_with_the_ticked_rows(
    user_client, user
):
    conversation = enriched_conversation(created_by=user, conversation_name="Shown")
    raw = ConversationFactory(created_by=user)

    html = user_client.get("/conversations/").content.decode()

    row = html[html.index(f'id="conversation-{conversation.pk}"') :]
    assert "data-review-status>Pending review</span>" in row[: row.index("</tr>")]
    assert (
        f'<input type="hidden" name="shown-{conversation.pk}" value="pending_review" '
        'form="bulk-enrich">'
    ) in html
    assert f'name="shown-{raw.pk}" value="" form="bulk-enrich"' in html


def test_a_ticked_row_reviewed_by_someone_else_meanwhile_is_left_as_they_decided(user_client, user):
    from review import services

    decided = enriched_conversation(created_by=user, conversation_name="Decided meanwhile")
    unchanged = enriched_conversation(created_by=user, conversation_name="Unchanged")
    enriched_meanwhile = ConversationFactory(created_by=user, conversation_name="Enriched now")
    # The page showed all three; then another session rejects one and another enriches one.
    shown = {
        f"shown-{decided.pk}": "pending_review",
        f"shown-{unchanged.pk}": "pending_review",
        f"shown-{enriched_meanwhile.pk}": "",
    }
    services.review(decided, user, "rejected", "Wrong tone.", ["tone"])
    from enrichment.pipeline.run import enrich_conversations

    enrich_conversations([enriched_meanwhile.pk])

    response = user_client.post(
        "/review/selected/",
        {
            "ids": [str(decided.pk), str(unchanged.pk), str(enriched_meanwhile.pk)],
            "review_action": "approved",
            **shown,
        },
        **HX,
    )

    html = response.content.decode()
    assert "Approved: 1, not reviewed: 2" in html
    assert "Decided meanwhile" in html and "It was reviewed meanwhile: it is rejected now." in html
    assert "Enriched now" in html and "It changed meanwhile: it is pending review now" in html
    statuses = dict(Conversation.objects.values_list("conversation_name", "review_status"))
    assert statuses == {
        "Decided meanwhile": "rejected",
        "Unchanged": "approved",
        "Enriched now": "pending_review",
    }
    assert [a.action for a in services.history(decided)] == ["rejected"]
