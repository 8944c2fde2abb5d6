"""The Review page over HTTP: the queue's first conversation claimed and shown, actions
answering with the next one, skipping, going back, and a second reviewer's view."""

import pytest
from django.contrib.auth.models import Permission

from conversations.models import Conversation, ReviewAction
from review import services
from review.queue import QueueFilters
from tests.factories import UserFactory, enriched_conversation

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def test_the_page_claims_and_shows_the_oldest_pending_conversation(user_client, user):
    first = enriched_conversation(created_by=user, conversation_name="First chat")
    enriched_conversation(created_by=user, conversation_name="Second chat")

    response = user_client.get("/review/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "First chat" in html and "Second chat" not in html
    assert "Turn 1: a thoughtful message" in html  # the transcript
    assert 'href="/review/"' in html  # in the site's navigation
    assert Conversation.objects.get(pk=first.pk).review_claimed_by == user
    assert response.context["stats"].pending == 2


def test_approving_answers_with_the_next_conversation(user_client, user):
    first = enriched_conversation(created_by=user, conversation_name="First chat")
    second = enriched_conversation(created_by=user, conversation_name="Second chat")
    user_client.get("/review/")

    response = user_client.post(
        f"/review/{first.pk}/act/",
        {"action": "approved", "expected_status": "pending_review", "skip": ""},
        **HX,
    )

    assert response.status_code == 200
    assert response.context["conversation"].pk == second.pk
    assert "Approved: “First chat”" in response.content.decode()
    assert Conversation.objects.get(pk=first.pk).review_status == "approved"
    assert response.context["stats"].approved == 1


def test_rejecting_keeps_the_reasons_and_refuses_without_any(user_client, user):
    conversation = enriched_conversation(created_by=user)

    refused = user_client.post(f"/review/{conversation.pk}/act/", {"action": "rejected"}, **HX)
    done = user_client.post(
        f"/review/{conversation.pk}/act/",
        {"action": "rejected", "reasons": ["tone", "safety"], "comment": "Too pushy."},
        **HX,
    )

    assert refused.status_code == 422
    assert "Say why" in refused.content.decode()
    assert done.status_code == 200
    action = ReviewAction.objects.get()
    assert (action.reasons, action.comment) == (["tone", "safety"], "Too pushy.")


def test_a_plain_form_post_comes_back_to_the_page(user_client, user):
    conversation = enriched_conversation(created_by=user)

    response = user_client.post(
        f"/review/{conversation.pk}/act/", {"action": "approved", "sort": "quality"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/review/?sort=quality"


def test_skipping_gives_the_claim_back_and_shows_the_next(user_client, user):
    first = enriched_conversation(created_by=user)
    second = enriched_conversation(created_by=user)
    user_client.get("/review/")

    response = user_client.get(f"/review/next/?skip={first.pk}", **HX)

    assert response.context["conversation"].pk == second.pk
    assert Conversation.objects.get(pk=first.pk).review_claimed_by is None


def test_a_second_reviewer_sees_the_others_claim_and_action(client, user):
    conversation = enriched_conversation(created_by=user)
    services.next_for_review(user, QueueFilters())
    other = UserFactory(username="rita")
    other.user_permissions.add(Permission.objects.get(codename="review_others_conversations"))
    client.force_login(other)

    queue = client.get("/review/")
    shown = client.get(f"/review/{conversation.pk}/", **HX)
    refused = client.post(
        f"/review/{conversation.pk}/act/",
        {"action": "approved", "expected_status": "pending_review"},
        **HX,
    )
    services.review(conversation, user, "rejected", "Wrong numbers.", ["accuracy"])
    after = client.post(
        f"/review/{conversation.pk}/act/",
        {"action": "approved", "expected_status": "pending_review"},
        **HX,
    )

    assert queue.context["conversation"] is None  # the only one is claimed
    assert "dana is reviewing this conversation right now" in shown.content.decode()
    assert refused.status_code == 422
    assert "dana is reviewing this conversation" in refused.content.decode()
    assert after.status_code == 422
    assert "It was reviewed meanwhile: it is rejected now." in after.content.decode()
    assert "Wrong numbers." in after.content.decode()  # the history shows what dana did
    assert Conversation.objects.get(pk=conversation.pk).review_status == "rejected"


def test_someone_elses_conversation_is_not_found_without_the_permission(client, user):
    conversation = enriched_conversation(created_by=user)
    client.force_login(UserFactory(username="eve"))

    assert client.get(f"/review/{conversation.pk}/").status_code == 404
    assert client.post(f"/review/{conversation.pk}/act/", {"action": "approved"}).status_code == 404


def test_bad_filters_are_named_and_the_queue_still_shows(user_client, user):
    enriched_conversation(created_by=user)

    response = user_client.get("/review/?qualityMin=lots")

    assert response.status_code == 200
    assert "qualityMin" in response.context["errors"]
    assert response.context["conversation"] is not None


def test_the_panel_shows_each_pairs_quality_score(user_client, user):
    import json

    from django.core.files.storage import default_storage

    conversation = enriched_conversation(created_by=user)
    document = json.loads(default_storage.open(conversation.enriched_file_path).read())
    first = document["training_pairs"][0]["training_metadata"]

    html = user_client.get("/review/").content.decode()

    assert "Quality scores" in html
    assert f'<td class="num">{first["quality_score"]}</td>' in html
