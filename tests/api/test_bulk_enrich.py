import json
import uuid

import pytest
from django.core.files.storage import default_storage

from conversations.models import Conversation, EnrichmentStatus
from tests.factories import ConversationFactory, UserFactory, conversation_document

pytestmark = pytest.mark.django_db

URL = "/api/conversations/bulk-enrich"


def post(client, body):
    return client.post(URL, body, format="json")


def invalid_document() -> dict:
    document = conversation_document()
    del document["turns"][1]["emotional_context"]["intensity"]
    return document


def test_bulk_enrich_enriches_valid_conversations_in_input_order(api, user):
    first, second = ConversationFactory(created_by=user), ConversationFactory(created_by=user)

    response = post(api, {"conversationIds": [str(second.pk), str(first.conversation_id)]})

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["summary"] == {"total": 2, "successful": 2, "failed": 0, "skipped": 0}
    assert [r["conversationId"] for r in body["results"]] == [
        str(second.pk),
        str(first.conversation_id),
    ]
    assert [r["businessConversationId"] for r in body["results"]] == [
        str(second.conversation_id),
        str(first.conversation_id),
    ]
    assert {r["status"] for r in body["results"]} == {"enriched"}
    assert {r["enrichmentStatus"] for r in body["results"]} == {"completed"}
    for conversation in (first, second):
        conversation.refresh_from_db()
        assert conversation.enrichment_status == EnrichmentStatus.COMPLETED
        assert conversation.enriched_at is not None
        stored = json.loads(default_storage.open(conversation.enriched_file_path).read())
        assert list(stored) == ["dataset_metadata", "consultant_profile", "training_pairs"]
        assert conversation.enriched_file_size == default_storage.size(
            conversation.enriched_file_path
        )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"conversationIds": []}, "conversationIds"),
        ({"conversationIds": ["not-a-uuid"]}, "conversationIds"),
        ({"conversationIds": "abc"}, "conversationIds"),
        ({}, "conversationIds"),
        ({"conversationIds": [str(uuid.uuid4())], "sequential": "yes"}, "sequential"),
        ({"conversationIds": [str(uuid.uuid4())], "userId": 5}, "userId"),
    ],
)
def test_bulk_enrich_rejects_a_bad_body_with_details(api, body, field):
    response = post(api, body)

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert response.json()["error"] == "Invalid request"
    assert field in response.json()["details"]


def test_bulk_enrich_rejects_a_body_that_is_not_json(api):
    response = api.post(URL, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"
    assert "body" in response.json()["details"]


def test_bulk_enrich_rejects_a_json_array_body(api):
    response = api.post(URL, "[]", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["details"] == {"body": ["The body must be a JSON object."]}


def test_bulk_enrich_accepts_100_ids_and_rejects_101(api, user):
    conversations = [ConversationFactory(created_by=user, document=None) for _ in range(101)]
    ids = [str(c.pk) for c in conversations]

    rejected = post(api, {"conversationIds": ids})
    accepted = post(api, {"conversationIds": ids[:100]})

    assert rejected.status_code == 400
    assert "/api/enrichment-runs" in rejected.json()["details"]["conversationIds"][0]
    assert accepted.status_code == 200
    assert accepted.json()["summary"]["total"] == 100
    # Nothing was processed by the rejected call: the 101st is untouched.
    conversations[100].refresh_from_db()
    assert conversations[100].enrichment_status == EnrichmentStatus.NOT_STARTED


def test_bulk_enrich_answers_404_listing_unknown_ids_and_processes_nothing(api, user):
    known = ConversationFactory(created_by=user)
    unknown = str(uuid.uuid4())

    response = post(api, {"conversationIds": [str(known.pk), unknown]})

    assert response.status_code == 404
    assert response.json()["success"] is False
    assert response.json()["missing"] == [unknown]
    known.refresh_from_db()
    assert known.enrichment_status == EnrichmentStatus.NOT_STARTED


def test_bulk_enrich_treats_another_users_conversation_as_missing(api):
    other = ConversationFactory(created_by=UserFactory())

    response = post(api, {"conversationIds": [str(other.conversation_id)]})

    assert response.status_code == 404
    assert response.json()["missing"] == [str(other.conversation_id)]
    other.refresh_from_db()
    assert other.enrichment_status == EnrichmentStatus.NOT_STARTED


def test_staff_may_bulk_enrich_anyones_conversations(staff_api):
    other = ConversationFactory(created_by=UserFactory())

    response = post(staff_api, {"conversationIds": [str(other.pk)]})

    assert response.status_code == 200
    assert response.json()["summary"]["successful"] == 1


def test_bulk_enrich_forbids_acting_for_another_user(api):
    other = UserFactory()

    response = post(api, {"conversationIds": [str(uuid.uuid4())], "userId": str(other.pk)})

    assert response.status_code == 403
    assert response.json()["success"] is False


def test_bulk_enrich_accepts_the_callers_own_user_id(api, user):
    conversation = ConversationFactory(created_by=user)

    response = post(api, {"conversationIds": [str(conversation.pk)], "userId": str(user.pk)})

    assert response.status_code == 200
    assert response.json()["summary"]["successful"] == 1


def test_staff_acting_for_a_user_sees_only_that_users_conversations(staff_api):
    owner, stranger = UserFactory(), UserFactory()
    mine = ConversationFactory(created_by=owner)
    theirs = ConversationFactory(created_by=stranger)

    response = post(
        staff_api,
        {"conversationIds": [str(mine.pk), str(theirs.pk)], "userId": owner.username},
    )

    assert response.status_code == 404
    assert response.json()["missing"] == [str(theirs.pk)]


def test_bulk_enrich_skips_completed_conversations(api, user):
    conversation = ConversationFactory(created_by=user)
    post(api, {"conversationIds": [str(conversation.pk)]})
    conversation.refresh_from_db()
    enriched_at = conversation.enriched_at

    response = post(api, {"conversationIds": [str(conversation.pk)]})

    assert response.status_code == 200
    assert response.json()["summary"] == {"total": 1, "successful": 0, "failed": 0, "skipped": 1}
    [result] = response.json()["results"]
    assert result["status"] == "skipped"
    assert result["reason"] == "already_enriched"
    assert result["enrichmentStatus"] == "completed"
    conversation.refresh_from_db()
    assert conversation.enriched_at == enriched_at


def test_bulk_enrich_skips_a_conversation_claimed_elsewhere(api, user):
    from enrichment.pipeline.run import claim

    conversation = ConversationFactory(created_by=user)
    claim([conversation.pk])

    response = post(api, {"conversationIds": [str(conversation.pk)]})

    [result] = response.json()["results"]
    assert result["status"] == "skipped"
    assert result["reason"] == "in_progress"
    assert result["enrichmentStatus"] == "enrichment_in_progress"


def test_bulk_enrich_processes_duplicate_ids_once(api, user):
    conversation = ConversationFactory(created_by=user)

    response = post(
        api,
        {
            "conversationIds": [
                str(conversation.pk),
                str(conversation.pk),
                str(conversation.conversation_id),
            ]
        },
    )

    assert response.status_code == 200
    assert response.json()["summary"] == {"total": 1, "successful": 1, "failed": 0, "skipped": 0}
    assert [r["conversationId"] for r in response.json()["results"]] == [str(conversation.pk)]


@pytest.mark.parametrize("sequential", [True, False])
def test_one_invalid_conversation_does_not_stop_the_others(api, user, sequential):
    good = [ConversationFactory(created_by=user) for _ in range(3)]
    bad = ConversationFactory(created_by=user, document=invalid_document())
    ids = [str(good[0].pk), str(bad.pk), str(good[1].pk), str(good[2].pk)]

    response = post(api, {"conversationIds": ids, "sequential": sequential})

    body = response.json()
    assert response.status_code == 200
    assert body["success"] is False
    assert body["summary"] == {"total": 4, "successful": 3, "failed": 1, "skipped": 0}
    assert [r["status"] for r in body["results"]] == ["enriched", "failed", "enriched", "enriched"]
    failed = body["results"][1]
    assert failed["enrichmentStatus"] == "validation_failed"
    assert failed["errorCategory"] == "validation"
    assert "MISSING_INTENSITY at turns[1].emotional_context.intensity" in failed["error"]
    bad.refresh_from_db()
    assert bad.enrichment_status == EnrichmentStatus.VALIDATION_FAILED
    assert bad.validation_report["blockers"][0]["code"] == "MISSING_INTENSITY"
    assert bad.enriched_file_path == ""


def test_parallel_and_sequential_modes_write_identical_files(api, user):
    sequential = [ConversationFactory(created_by=user) for _ in range(4)]
    parallel = [ConversationFactory(created_by=user) for _ in range(4)]

    post(api, {"conversationIds": [str(c.pk) for c in sequential], "sequential": True})
    post(api, {"conversationIds": [str(c.pk) for c in parallel], "sequential": False})

    def contents(conversations):
        out = []
        for c in conversations:
            c.refresh_from_db()
            text = default_storage.open(c.enriched_file_path).read().decode()
            # Only the ids and dates differ between two conversations of the same document.
            out.append(text.replace(str(c.conversation_id), "ID"))
        return out

    assert contents(sequential) == contents(parallel)


def test_unauthenticated_bulk_enrich_answers_401():
    from rest_framework.test import APIClient

    response = APIClient().post(URL, {"conversationIds": [str(uuid.uuid4())]}, format="json")

    assert response.status_code == 401


def test_bulk_enrich_works_with_token_auth(user):
    from rest_framework.test import APIClient

    from core.tokens import create_token

    conversation = ConversationFactory(created_by=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_token(user, name='script')[1]}")

    response = client.post(URL, {"conversationIds": [str(conversation.pk)]}, format="json")

    assert response.status_code == 200
    assert response.json()["summary"]["successful"] == 1


def _scaffolded_conversations(user, n: int) -> list[str]:
    from tests.factories import (
        EmotionalArcFactory,
        PersonaFactory,
        PromptTemplateFactory,
        TrainingTopicFactory,
    )

    scaffolding = {
        "persona": PersonaFactory(),
        "emotional_arc": EmotionalArcFactory(),
        "training_topic": TrainingTopicFactory(),
        "template": PromptTemplateFactory(),
    }
    return [str(ConversationFactory(created_by=user, **scaffolding).pk) for _ in range(n)]


def _queries_for_bulk(api, ids: list[str], **body) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = post(api, {"conversationIds": ids, **body})
    assert response.json()["summary"]["successful"] == len(ids)
    return len(captured)


def test_sequential_bulk_enrich_costs_two_queries_per_conversation_beyond_a_fixed_few(api, user):
    five = _queries_for_bulk(api, _scaffolded_conversations(user, 5))
    nine = _queries_for_bulk(api, _scaffolded_conversations(user, 9))

    # Each conversation's outcome is committed on its own: its UPDATE, and the look for
    # batch jobs holding it, whose counts would change with it (none hold these).
    assert nine - five == 2 * 4
    assert Conversation.objects.filter(enrichment_status="completed").count() == 14


def test_parallel_bulk_enrich_writes_outcomes_in_a_constant_number_of_queries(api, user):
    counts = [
        _queries_for_bulk(api, _scaffolded_conversations(user, n), sequential=False)
        for n in (5, 8, 20)
    ]

    assert counts[0] == counts[1] == counts[2]
    assert Conversation.objects.filter(enrichment_status="completed").count() == 33


def test_staff_naming_an_unknown_user_is_404(staff_api):
    response = post(staff_api, {"conversationIds": [str(uuid.uuid4())], "userId": "nobody"})

    assert response.status_code == 404
    assert response.json()["missing"] == ["nobody"]


def test_staff_naming_a_user_id_with_a_nul_character_is_404(staff_api):
    response = post(staff_api, {"conversationIds": [str(uuid.uuid4())], "userId": "a\x00b"})

    assert response.status_code == 404
    assert response.json()["missing"] == ["a\x00b"]


def test_an_api_path_with_a_malformed_id_answers_json_404(api):
    response = api.post("/api/conversations/not-a-uuid/enrich")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"success": False, "error": "Not found.", "code": "not_found"}
