import json
import uuid

import pytest
from django.core.files.storage import default_storage
from django.utils.text import slugify

from conversations.models import EnrichmentStatus
from tests.factories import ConversationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_enrich_one_by_business_id_answers_the_result_object(api, user):
    conversation = ConversationFactory(created_by=user)

    response = api.post(f"/api/conversations/{conversation.conversation_id}/enrich")

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "conversationId": str(conversation.conversation_id),
        "businessConversationId": str(conversation.conversation_id),
        "status": "enriched",
        "enrichmentStatus": "completed",
    }
    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED


def test_enrich_one_by_row_id_echoes_the_row_id(api, user):
    conversation = ConversationFactory(created_by=user)

    response = api.post(f"/api/conversations/{conversation.pk}/enrich")

    assert response.status_code == 200
    assert response.json()["conversationId"] == str(conversation.pk)
    assert response.json()["businessConversationId"] == str(conversation.conversation_id)


def test_enrich_one_answers_422_with_the_reason_when_validation_fails(api, user):
    conversation = ConversationFactory(created_by=user, document=b'{"turns": [')

    response = api.post(f"/api/conversations/{conversation.pk}/enrich")

    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False
    assert body["status"] == "failed"
    assert body["enrichmentStatus"] == "validation_failed"
    assert body["errorCategory"] == "validation"
    assert body["error"].startswith("Validation failed: INVALID_JSON_SYNTAX")


def test_enrich_one_skips_completed_unless_forced(api, user):
    conversation = ConversationFactory(created_by=user)
    api.post(f"/api/conversations/{conversation.pk}/enrich")
    conversation.refresh_from_db()
    first_enriched_at = conversation.enriched_at

    skipped = api.post(f"/api/conversations/{conversation.pk}/enrich")
    forced = api.post(f"/api/conversations/{conversation.pk}/enrich?force=true")

    assert skipped.status_code == 200
    assert skipped.json()["status"] == "skipped"
    assert skipped.json()["reason"] == "already_enriched"
    assert forced.status_code == 200
    assert forced.json()["status"] == "enriched"
    conversation.refresh_from_db()
    assert conversation.enriched_at > first_enriched_at


def test_enrichment_status_endpoint(api, user):
    conversation = ConversationFactory(created_by=user, document=b"not json")
    api.post(f"/api/conversations/{conversation.pk}/enrich")

    response = api.get(f"/api/conversations/{conversation.conversation_id}/enrich")

    assert response.status_code == 200
    body = response.json()
    assert sorted(body) == [
        "approvedAt",
        "approvedBy",
        "canEnrich",
        "conversationId",
        "enrichedAt",
        "enrichmentError",
        "enrichmentStatus",
        "errorCategory",
        "lastFailure",
        "needsRetry",
        "reviewHistory",
        "reviewStatus",
        "reviewerNotes",
        "revision",
    ]
    assert body["conversationId"] == str(conversation.conversation_id)
    assert body["enrichmentStatus"] == "validation_failed"
    assert body["canEnrich"] is True
    assert body["needsRetry"] is True
    assert body["errorCategory"] == "validation"
    assert body["enrichmentError"].startswith("Validation failed: INVALID_JSON_SYNTAX")
    assert body["enrichedAt"] is None
    assert body["lastFailure"]["error"] == body["enrichmentError"]
    assert body["lastFailure"]["category"] == "validation"


@pytest.mark.parametrize(
    "suffix", ["enrich", "validation-report", "download/raw", "download/enriched"]
)
def test_another_users_conversation_is_404_everywhere(api, suffix):
    other = ConversationFactory(created_by=UserFactory())

    get = api.get(f"/api/conversations/{other.conversation_id}/{suffix}")
    unknown = api.get(f"/api/conversations/{uuid.uuid4()}/{suffix}")

    assert get.status_code == 404
    assert unknown.status_code == 404
    assert get.json()["success"] is False


def test_posting_enrich_on_another_users_conversation_is_404_and_changes_nothing(api):
    other = ConversationFactory(created_by=UserFactory())

    response = api.post(f"/api/conversations/{other.pk}/enrich")

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.enrichment_status == EnrichmentStatus.NOT_STARTED


def test_download_raw_returns_the_stored_file(api, user):
    conversation = ConversationFactory(created_by=user)

    response = api.get(f"/api/conversations/{conversation.pk}/download/raw")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    assert (
        b"".join(response.streaming_content) == default_storage.open(conversation.file_path).read()
    )


@pytest.mark.parametrize(
    "raw",
    ["Sorry, I cannot write that conversation.", '{"conversation_metadata": {"cut'],
    ids=["prose", "truncated-json"],
)
def test_the_raw_download_of_text_that_is_not_json_is_plain_text(api, raw):
    job = api.post("/api/batch-jobs", {"name": "replies"}, format="json").json()
    added = api.post(f"/api/batch-jobs/{job['id']}/items", {"items": [{"raw": raw}]}, format="json")
    conversation_id = added.json()["items"][0]["conversationId"]

    response = api.get(f"/api/conversations/{conversation_id}/download/raw")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"].endswith('.raw.txt"')
    assert b"".join(response.streaming_content) == raw.encode()


def test_download_enriched_is_409_until_completed_then_the_file(api, user):
    conversation = ConversationFactory(created_by=user)

    before = api.get(f"/api/conversations/{conversation.pk}/download/enriched")
    api.post(f"/api/conversations/{conversation.pk}/enrich")
    after = api.get(f"/api/conversations/{conversation.pk}/download/enriched")

    assert before.status_code == 409
    assert before.json()["enrichmentStatus"] == "not_started"
    assert after.status_code == 200
    document = json.loads(b"".join(after.streaming_content))
    assert document["dataset_metadata"]["dataset_name"] == (
        f"fp_conversation_{conversation.conversation_id}"
    )
    stem = slugify(conversation.conversation_name)
    assert after["Content-Disposition"] == f'attachment; filename="{stem}.enriched.json"'


def test_downloads_are_named_after_the_conversation(api, user):
    named = ConversationFactory(created_by=user, conversation_name="Windfall: a 529 plan?")
    unnamed = ConversationFactory(created_by=user, conversation_name="")

    raw = api.get(f"/api/conversations/{named.pk}/download/raw")
    fallback = api.get(f"/api/conversations/{unnamed.pk}/download/raw")

    assert raw["Content-Disposition"] == 'attachment; filename="windfall-a-529-plan.raw.json"'
    assert fallback["Content-Disposition"] == (
        f'attachment; filename="{unnamed.conversation_id}.raw.json"'
    )


def test_validation_report_endpoint_returns_blockers_and_warnings(api, user):
    from tests.factories import conversation_document

    document = conversation_document()
    document["turns"][0]["content"] = "short"
    document["turns"][1]["role"] = "coach"
    conversation = ConversationFactory(created_by=user, document=document)
    api.post(f"/api/conversations/{conversation.pk}/enrich")

    response = api.get(f"/api/conversations/{conversation.pk}/validation-report")

    assert response.status_code == 200
    body = response.json()
    report = body["validationReport"]
    assert [b["code"] for b in report["blockers"]] == ["INVALID_ROLE"]
    assert [b["field"] for b in report["blockers"]] == ["turns[1].role"]
    assert "SHORT_CONTENT" in [w["code"] for w in report["warnings"]]
    assert body["enrichmentStatus"] == "validation_failed"
    assert body["normalizationReport"] is None
    assert body["conversationId"] == str(conversation.conversation_id)


def test_schema_is_served_and_declares_the_bulk_status_codes(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    bulk = schema["paths"]["/api/conversations/bulk-enrich"]["post"]["responses"]
    assert sorted(bulk) == ["200", "400", "401", "403", "404", "405", "413", "429", "500"]
    single = schema["paths"]["/api/conversations/{conversation_id}/enrich"]["post"]["responses"]
    assert sorted(single) == ["200", "400", "401", "403", "404", "405", "422", "429"]


def test_api_docs_page_uses_local_assets(api):
    response = api.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()
