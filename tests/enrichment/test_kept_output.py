"""Nothing lost on failure: only a successful enrichment replaces a stored output; a failed
re-enrichment of a completed conversation is recorded beside it."""

import json

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.html import escape

from conversations.models import EnrichmentStatus
from enrichment.models import RunSource
from enrichment.pipeline.run import enrich_conversations
from enrichment.runs import lanes
from tests.factories import ConversationFactory, a_run, conversation_document

pytestmark = pytest.mark.django_db


def completed_then_broken():
    """A completed conversation whose input was then replaced by a broken one."""
    conversation = ConversationFactory()
    enrich_conversations([conversation.pk])
    conversation.refresh_from_db()
    stored = default_storage.open(conversation.enriched_file_path).read()
    broken = conversation_document()
    broken["turns"][1]["role"] = "coach"
    default_storage.delete(conversation.file_path)
    default_storage.save(conversation.file_path, ContentFile(json.dumps(broken)))
    return conversation, stored


def test_a_failed_forced_re_enrichment_keeps_the_completed_output():
    conversation, stored = completed_then_broken()
    before = (conversation.enriched_at, conversation.validation_report)

    [outcome] = enrich_conversations([conversation.pk], force=True)

    conversation.refresh_from_db()
    assert (outcome.status, outcome.enrichment_status) == ("failed", "completed")
    assert outcome.error_category == "validation"
    assert outcome.error.startswith("Validation failed: INVALID_ROLE at turns[1].role")
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED
    assert default_storage.open(conversation.enriched_file_path).read() == stored
    assert (conversation.enriched_at, conversation.validation_report) == before
    assert conversation.enrichment_error is None
    assert conversation.last_failure_error == outcome.error
    assert conversation.last_failure_category == "validation"
    assert conversation.last_failed_at > conversation.enriched_at
    assert conversation.kept_after_failure
    assert conversation.enrichment_claim_token is None


def test_the_api_answers_the_failure_and_still_serves_the_kept_file(admin_client):
    conversation, stored = completed_then_broken()

    enriched = admin_client.post(f"/api/conversations/{conversation.pk}/enrich?force=true")
    status = admin_client.get(f"/api/conversations/{conversation.pk}/enrich")
    report = admin_client.get(f"/api/conversations/{conversation.pk}/validation-report")
    download = admin_client.get(f"/api/conversations/{conversation.pk}/download/enriched")

    conversation.refresh_from_db()
    assert enriched.status_code == 422
    assert enriched.json()["enrichmentStatus"] == "completed"
    assert enriched.json()["success"] is False
    body = status.json()
    assert body["enrichmentStatus"] == "completed"
    assert body["enrichmentError"] is None
    assert body["lastFailure"] == {
        "error": conversation.last_failure_error,
        "category": "validation",
        "at": conversation.last_failed_at.isoformat().replace("+00:00", "Z"),
    }
    assert report.json()["lastFailure"] == body["lastFailure"]
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == stored


def test_a_later_success_replaces_the_output_and_clears_the_failure(admin_client):
    conversation, _ = completed_then_broken()
    enrich_conversations([conversation.pk], force=True)
    default_storage.delete(conversation.file_path)
    default_storage.save(conversation.file_path, ContentFile(json.dumps(conversation_document(6))))

    [outcome] = enrich_conversations([conversation.pk], force=True)

    conversation.refresh_from_db()
    stored = json.loads(default_storage.open(conversation.enriched_file_path).read())
    assert outcome.status == "enriched"
    assert len(stored["training_pairs"]) == 6
    assert conversation.last_failure_error is None
    assert conversation.last_failed_at is None
    status = admin_client.get(f"/api/conversations/{conversation.pk}/enrich").json()
    assert status["lastFailure"] is None


def test_a_conversation_that_never_completed_fails_as_before_and_names_its_last_failure():
    conversation = ConversationFactory(document=b"{")

    [outcome] = enrich_conversations([conversation.pk])

    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.VALIDATION_FAILED
    assert conversation.enrichment_error == outcome.error == conversation.last_failure_error
    assert conversation.last_failure_category == conversation.enrichment_error_category
    assert not conversation.kept_after_failure


def test_a_forced_run_counts_the_failed_attempt_and_the_pages_show_the_kept_file(admin_client):
    conversation, stored = completed_then_broken()
    fresh = ConversationFactory()
    run = a_run([conversation.pk, fresh.pk], force=True, source=RunSource.CLI)

    assert lanes.process_run(run.pk) == "done"

    run.refresh_from_db()
    conversation.refresh_from_db()
    item = run.items.get(conversation=conversation)
    assert (run.enriched, run.failed, run.skipped) == (1, 1, 0)
    assert (item.outcome, item.enrichment_status) == ("failed", "completed")
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED
    assert default_storage.open(conversation.enriched_file_path).read() == stored
    run_page = admin_client.get(f"/runs/{run.pk}/").content.decode()
    assert "(the earlier enriched file is kept)" in run_page
    report_page = admin_client.get(
        f"/conversations/{conversation.pk}/validation-report/"
    ).content.decode()
    assert "The last re-enrichment failed" in report_page
    assert escape(conversation.last_failure_error) in report_page
