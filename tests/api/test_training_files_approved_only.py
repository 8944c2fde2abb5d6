"""Training files of approved conversations only, through the API and the page."""

import json

import pytest

from conversations.models import Conversation
from enrichment.pipeline.run import enrich_conversations
from review import services as review
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    enriched_conversation,
)
from tests.training.helpers import stored
from training.models import TrainingFile

pytestmark = pytest.mark.django_db

URL = "/api/training-files"


def test_by_id_a_conversation_not_approved_is_refused_with_the_reason(api, user):
    approved = enriched_conversation(created_by=user)
    pending = enriched_conversation(created_by=user)
    review.review(approved, user, "approved")

    response = api.post(
        URL,
        {
            "name": "Approved",
            "approvedOnly": True,
            "conversationIds": [str(approved.pk), str(pending.pk)],
        },
        format="json",
    )

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "1 conversation is not approved; nothing was changed."
    [refused] = body["ineligible"]
    assert (refused["conversationId"], refused["reason"]) == (str(pending.pk), "not_approved")
    assert refused["message"] == (
        "The training file takes approved conversations only (review: pending review)."
    )
    assert not TrainingFile.objects.exists()


def test_by_batch_job_the_others_are_left_out_and_the_metadata_counts_reviews(api, user):
    job = BatchJobFactory(created_by=user)
    approved = enriched_conversation(created_by=user)
    pending = enriched_conversation(created_by=user)
    for conversation in (approved, pending):
        BatchItemFactory(batch_job=job, conversation=conversation)
    review.review(approved, user, "approved")

    response = api.post(
        URL, {"name": "Job", "approvedOnly": True, "batchJobId": str(job.pk)}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["leftOut"] == 1
    assert body["trainingFile"]["approvedOnly"] is True
    training_file = TrainingFile.objects.get()
    document = json.loads(stored(training_file.json_file_path))
    summary = document["training_file_metadata"]["quality_summary"]
    assert (summary["human_reviewed_count"], summary["human_reviewed_percentage"]) == (1, 100)


def test_adding_to_an_approved_only_file_refuses_what_is_not_approved(api, user):
    approved = enriched_conversation(created_by=user)
    rejected = enriched_conversation(created_by=user)
    review.review(approved, user, "approved")
    review.review(rejected, user, "rejected", "Unsafe.", ["safety"])
    created = api.post(
        URL,
        {"name": "Approved", "approvedOnly": True, "conversationIds": [str(approved.pk)]},
        format="json",
    ).json()

    response = api.post(
        f"{URL}/{created['trainingFile']['id']}/add-conversations",
        {"conversationIds": [str(rejected.pk)]},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["ineligible"][0]["reason"] == "not_approved"
    assert TrainingFile.objects.get().memberships.count() == 1


def test_a_member_enriched_again_must_be_approved_again_before_a_rebuild(api, user):
    conversation = enriched_conversation(created_by=user)
    review.review(conversation, user, "approved")
    created = api.post(
        URL,
        {"name": "Approved", "approvedOnly": True, "conversationIds": [str(conversation.pk)]},
        format="json",
    ).json()
    enrich_conversations([conversation.pk], force=True)

    refused = api.post(f"{URL}/{created['trainingFile']['id']}/rebuild")
    review.review(conversation, user, "approved")
    rebuilt = api.post(f"{URL}/{created['trainingFile']['id']}/rebuild")

    assert refused.status_code == 409
    assert "1 member conversation is no longer approved" in refused.json()["error"]
    assert f"{conversation.conversation_id} (pending review)" in refused.json()["error"]
    assert rebuilt.status_code == 200


def test_the_page_makes_an_approved_only_file(user_client, user):
    approved = enriched_conversation(created_by=user)
    pending = enriched_conversation(created_by=user)
    review.review(approved, user, "approved")

    form = user_client.get(f"/training-files/new/?ids={approved.pk}&ids={pending.pk}")
    response = user_client.post(
        "/training-files/create/",
        {"ids": [str(approved.pk), str(pending.pk)], "name": "Reviewed", "approved_only": "on"},
    )

    assert "Approved conversations only" in form.content.decode()
    assert response.status_code == 302
    training_file = TrainingFile.objects.get()
    assert training_file.approved_only is True
    assert list(training_file.memberships.values_list("conversation_id", flat=True)) == [
        approved.conversation_id
    ]
    assert Conversation.objects.get(pk=pending.pk).review_status == "pending_review"


def test_the_page_says_why_each_conversation_was_left_out(user_client, user):
    approved = enriched_conversation(created_by=user)
    pending = [enriched_conversation(created_by=user) for _ in range(2)]
    not_enriched = ConversationFactory(created_by=user)
    review.review(approved, user, "approved")
    ids = [str(c.pk) for c in (approved, *pending, not_enriched)]

    response = user_client.post(
        "/training-files/create/",
        {"ids": ids, "name": "Reviewed", "approved_only": "on"},
        follow=True,
    )

    assert response.status_code == 200
    [message] = [str(m) for m in response.context["messages"]]
    assert message.endswith("3 conversations left out: 2 not approved, 1 not completed.")


def test_nothing_approved_is_refused_saying_so(user_client, user):
    pending = enriched_conversation(created_by=user)

    response = user_client.post(
        "/training-files/create/",
        {"ids": [str(pending.pk)], "name": "Reviewed", "approved_only": "on"},
    )

    assert response.status_code == 422
    assert "There are no approved completed conversations" in response.content.decode()
    assert not TrainingFile.objects.exists()
