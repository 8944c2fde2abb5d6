"""The review API: queue, one review, many at once, and the review fields of a
conversation's JSON."""

import uuid

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from conversations.models import Conversation, ReviewAction
from review import services
from review.queue import QueueFilters
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    EmotionalArcFactory,
    PersonaFactory,
    UserFactory,
    enriched_conversation,
)

pytestmark = pytest.mark.django_db


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_reviewing_one_conversation_answers_its_review_fields_and_history(api, user):
    conversation = enriched_conversation(created_by=user)

    response = api.post(
        f"/api/conversations/{conversation.conversation_id}/review",
        {"action": "revision_requested", "comment": "Turn 3 drifts.", "reasons": ["persona_drift"]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["reviewStatus"] == "needs_revision"
    assert body["reviewerNotes"] == "Turn 3 drifts."
    [action] = body["reviewHistory"]
    assert (action["action"], action["reviewer"], action["reasons"]) == (
        "revision_requested",
        user.username,
        ["persona_drift"],
    )
    status = api.get(f"/api/conversations/{conversation.pk}/enrich").json()
    assert status["reviewStatus"] == "needs_revision"
    assert status["reviewHistory"] == body["reviewHistory"]


def test_approval_shows_who_and_when_in_the_conversations_json(api, user):
    conversation = enriched_conversation(created_by=user)

    api.post(f"/api/conversations/{conversation.pk}/review", {"action": "approved"}, format="json")

    status = api.get(f"/api/conversations/{conversation.pk}/enrich").json()
    assert status["reviewStatus"] == "approved"
    assert status["approvedBy"] == user.username
    assert status["approvedAt"] is not None


def test_a_conversation_not_enriched_has_no_review_status_in_its_json(api, user):
    conversation = ConversationFactory(created_by=user)

    status = api.get(f"/api/conversations/{conversation.pk}/enrich").json()

    assert (status["reviewStatus"], status["reviewHistory"]) == (None, [])


@pytest.mark.parametrize(
    ("body", "status", "code", "key"),
    [
        ({"action": "approve"}, 400, "invalid", "action"),
        ({"action": "rejected", "reasons": ["rude"]}, 400, "invalid", "reasons"),
        ({"action": "approved", "comment": 5}, 400, "invalid", "comment"),
        ({"action": "approved", "forse": True}, 400, "invalid", "forse"),
    ],
)
def test_bad_review_bodies_are_refused_with_a_code(api, user, body, status, code, key):
    conversation = enriched_conversation(created_by=user)

    response = api.post(f"/api/conversations/{conversation.pk}/review", body, format="json")

    assert response.status_code == status
    assert response.json()["code"] == code
    if key:
        assert key in response.json()["details"]
    assert not ReviewAction.objects.exists()


def test_review_refusals_have_their_codes(api, user):
    not_enriched = ConversationFactory(created_by=user)
    claimed = enriched_conversation(created_by=user)
    someone = UserFactory(is_superuser=True)
    services.claim(claimed, someone)

    answers = [
        api.post(f"/api/conversations/{pk}/review", {"action": "approved"}, format="json")
        for pk in (not_enriched.pk, claimed.pk, uuid.uuid4())
    ]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [
        (409, "not_reviewable"),
        (409, "claimed"),
        (404, "not_found"),
    ]
    assert answers[1].json()["claimedBy"] == someone.username


def test_others_conversations_need_the_reviewer_permission(user):
    conversation = enriched_conversation()
    staff = UserFactory(is_staff=True)

    forbidden = client_of(staff).post(
        f"/api/conversations/{conversation.pk}/review", {"action": "approved"}, format="json"
    )
    hidden = client_of(user).post(
        f"/api/conversations/{conversation.pk}/review", {"action": "approved"}, format="json"
    )
    user.user_permissions.add(Permission.objects.get(codename="review_others_conversations"))
    allowed = client_of(user).post(
        f"/api/conversations/{conversation.pk}/review", {"action": "approved"}, format="json"
    )

    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "review_forbidden")
    assert hidden.status_code == 404
    assert allowed.status_code == 200


def test_expected_status_tells_a_second_reviewer_what_the_first_did(api, user):
    conversation = enriched_conversation(created_by=user)
    services.review(conversation, user, "rejected", "Unsafe advice.", ["safety"])

    response = api.post(
        f"/api/conversations/{conversation.pk}/review",
        {"action": "approved", "expectedStatus": "pending_review"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "review_changed"
    assert response.json()["reviewStatus"] == "rejected"


def test_bulk_review_answers_per_id_and_skips_what_it_cannot_review(api, user):
    first = enriched_conversation(created_by=user)
    second = enriched_conversation(created_by=user)
    raw = ConversationFactory(created_by=user)
    services.claim(second, UserFactory(is_superuser=True))

    response = api.post(
        "/api/conversations/review",
        {
            "conversationIds": [str(first.conversation_id), str(second.pk), str(raw.pk)],
            "action": "approved",
        },
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    assert body["summary"] == {"total": 3, "reviewed": 1, "skipped": 2}
    assert [(r["conversationId"], r["status"], r.get("code")) for r in body["results"]] == [
        (str(first.conversation_id), "reviewed", None),
        (str(second.pk), "skipped", "claimed"),
        (str(raw.pk), "skipped", "not_reviewable"),
    ]
    assert Conversation.objects.get(pk=first.pk).review_status == "approved"
    assert Conversation.objects.get(pk=second.pk).review_status == "pending_review"


def test_bulk_review_with_expected_status_leaves_what_another_reviewer_decided(api, user):
    waiting = enriched_conversation(created_by=user)
    decided = enriched_conversation(created_by=user)
    other = UserFactory()
    other.user_permissions.add(Permission.objects.get(codename="review_others_conversations"))
    services.review(decided, type(other).objects.get(pk=other.pk), "approved")

    response = api.post(
        "/api/conversations/review",
        {
            "conversationIds": [str(waiting.pk), str(decided.conversation_id)],
            "action": "rejected",
            "comment": "Off tone.",
            "expectedStatus": "pending_review",
        },
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["summary"] == {"total": 2, "reviewed": 1, "skipped": 1}
    reviewed, conflict = body["results"]
    assert (reviewed["status"], reviewed["reviewStatus"]) == ("reviewed", "rejected")
    assert conflict == {
        "conversationId": str(decided.conversation_id),
        "businessConversationId": str(decided.conversation_id),
        "status": "skipped",
        "reviewStatus": "approved",
        "code": "review_changed",
        "error": "It was reviewed meanwhile: it is approved now.",
    }
    decided.refresh_from_db()
    assert decided.review_status == "approved" and decided.approved_by_id == other.pk
    assert [a.action for a in services.history(decided)] == ["approved"]


def test_bulk_review_refuses_an_unknown_expected_status(api, user):
    conversation = enriched_conversation(created_by=user)

    response = api.post(
        "/api/conversations/review",
        {"conversationIds": [str(conversation.pk)], "action": "approved", "expectedStatus": "ok"},
        format="json",
    )

    assert response.status_code == 400
    assert "expectedStatus" in response.json()["details"]
    assert Conversation.objects.get(pk=conversation.pk).review_status == "pending_review"


def test_bulk_review_with_an_unknown_id_reviews_nothing(api, user):
    first = enriched_conversation(created_by=user)
    unknown = str(uuid.uuid4())

    response = api.post(
        "/api/conversations/review",
        {"conversationIds": [str(first.pk), unknown], "action": "approved"},
        format="json",
    )

    assert (response.status_code, response.json()["missing"]) == (404, [unknown])
    assert Conversation.objects.get(pk=first.pk).review_status == "pending_review"


def test_bulk_review_takes_at_most_100_ids(api):
    ids = [str(uuid.uuid4()) for _ in range(101)]

    response = api.post(
        "/api/conversations/review", {"conversationIds": ids, "action": "approved"}, format="json"
    )

    assert response.status_code == 400
    assert "conversationIds" in response.json()["details"]


def test_the_queue_filters_sorts_pages_and_counts(api, user):
    persona, arc = PersonaFactory(), EmotionalArcFactory()
    job = BatchJobFactory(created_by=user)
    rows = []
    for score in (3.0, 4.0, 2.0):
        conversation = enriched_conversation(created_by=user, persona=persona, emotional_arc=arc)
        Conversation.objects.filter(pk=conversation.pk).update(quality_score=score)
        BatchItemFactory(batch_job=job, conversation=conversation)
        rows.append(conversation)
    other = enriched_conversation(created_by=user)
    services.review(other, user, "approved")

    first = api.get("/api/review/queue", {"sort": "quality", "limit": 2}).json()
    second = api.get("/api/review/queue", {"sort": "quality", "limit": 2, "offset": 2}).json()
    filtered = api.get(
        "/api/review/queue",
        {
            "persona": persona.persona_key,
            "arc": arc.arc_key,
            "batch": str(job.pk),
            "qualityMin": 2.5,
        },
    ).json()
    approved = api.get("/api/review/queue", {"status": "approved"}).json()

    assert [r["qualityScore"] for r in first["data"]] == [2.0, 3.0]
    assert first["pagination"] == {"limit": 2, "offset": 0, "nextOffset": 2}
    assert [r["qualityScore"] for r in second["data"]] == [4.0]
    assert second["pagination"]["nextOffset"] is None
    assert first["statistics"]["pending"] == 3
    assert first["statistics"]["approved"] == 1
    assert first["statistics"]["averageQuality"] == pytest.approx(3.0)
    assert first["statistics"]["oldestPendingAt"] is not None
    assert {r["id"] for r in filtered["data"]} == {str(rows[0].pk), str(rows[1].pk)}
    assert filtered["statistics"]["pending"] == 2
    assert [r["id"] for r in approved["data"]] == [str(other.pk)]


def test_the_queue_shows_who_holds_a_claim(api, user):
    conversation = enriched_conversation(created_by=user)
    holder = UserFactory(is_superuser=True)
    services.next_for_review(holder, QueueFilters())

    [row] = api.get("/api/review/queue").json()["data"]

    assert (row["id"], row["claimedBy"]) == (str(conversation.pk), holder.username)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"qualityMin": "high"}, "qualityMin"),
        ({"qualityMax": "7"}, "qualityMax"),
        ({"sort": "name"}, "sort"),
        ({"status": "done"}, "status"),
        ({"batch": "12"}, "batch"),
        ({"failureCategory": "nope"}, "failureCategory"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_queue_parameters_are_named(api, params, name):
    response = api.get("/api/review/queue", params)

    assert response.status_code == 400
    assert name in response.json()["details"]


def test_the_queue_holds_only_what_the_user_may_review(api, user):
    enriched_conversation()  # someone else's

    assert api.get("/api/review/queue").json()["data"] == []


def test_the_schema_documents_the_review_operations():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]

    assert paths["/api/review/queue"]["get"]["operationId"] == "get_review_queue"
    single = paths["/api/conversations/{conversation_id}/review"]["post"]
    assert single["operationId"] == "review_conversation"
    assert {"400", "403", "404", "409"} <= set(single["responses"])
    assert paths["/api/conversations/review"]["post"]["operationId"] == "review_conversations"


def test_a_script_may_reject_without_saying_why(api, user):
    conversation = enriched_conversation(created_by=user)

    response = api.post(
        f"/api/conversations/{conversation.pk}/review", {"action": "rejected"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["reviewStatus"] == "rejected"
    assert ReviewAction.objects.get().reasons == []


def test_a_scaffolding_key_a_column_cannot_hold_is_refused_by_name(api):
    response = api.get("/api/review/queue", {"arc": "\x00u", "topic": "x" * 101})

    assert response.status_code == 400
    assert response.json()["details"] == {
        "arc": ["Must be a key: at most 100 characters, no NUL."],
        "topic": ["Must be a key: at most 100 characters, no NUL."],
    }
