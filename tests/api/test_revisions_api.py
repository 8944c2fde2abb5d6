"""Revisions through the API: listed, downloaded byte for byte, and a new one stored at a
path of its own and enriched again in the background."""

import json

import pytest
from django.core.files.storage import default_storage

from conversations.models import (
    Conversation,
    ConversationRevision,
    EnrichmentStatus,
    ReviewStatus,
)
from enrichment.pipeline.run import enrich_conversations
from tests.factories import TRUNCATED_REPLY, ConversationFactory, UserFactory, conversation_document
from tests.jobs import queued, run_jobs

pytestmark = pytest.mark.django_db


def _url(conversation, tail: str = "") -> str:
    return f"/api/conversations/{conversation.conversation_id}/revisions{tail}"


def test_the_first_revision_is_the_file_as_it_came_in(api, user):
    conversation = ConversationFactory(created_by=user, document=TRUNCATED_REPLY)

    listed = api.get(_url(conversation))
    raw = api.get(_url(conversation, "/1/raw"))

    assert listed.status_code == 200, listed.json()
    [first] = listed.json()["data"]
    assert first["number"] == 1
    assert first["source"] == "intake"
    assert first["createdBy"] == user.get_username()
    assert first["size"] == len(TRUNCATED_REPLY)
    assert first["current"] is True
    assert listed.json()["pagination"]["nextOffset"] is None
    assert raw.status_code == 200
    assert raw["Content-Type"].startswith("text/plain")
    assert b"".join(raw.streaming_content) == TRUNCATED_REPLY
    # Asked for twice, it is made once.
    api.get(_url(conversation))
    assert ConversationRevision.objects.filter(conversation=conversation).count() == 1


def test_a_new_revision_is_stored_apart_and_enriched_again_in_the_background(api, user):
    conversation = ConversationFactory(created_by=user, document=TRUNCATED_REPLY)
    enrich_conversations([conversation.pk])
    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.VALIDATION_FAILED
    document = conversation_document(turns=4)

    response = api.post(_url(conversation), document, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["revision"]["number"] == 2
    assert body["revision"]["source"] == "edit"
    assert body["revision"]["current"] is True
    assert queued("enrich_run_lane", run_id=body["runId"]).count() == 1
    conversation.refresh_from_db()
    assert conversation.revision == 2
    assert conversation.file_path.endswith("/revisions/2.json")
    assert conversation.turn_count == 4
    # Nothing overwritten: both revisions download as they were stored.
    first = api.get(_url(conversation, "/1/raw"))
    second = api.get(_url(conversation, "/2/raw"))
    assert b"".join(first.streaming_content) == TRUNCATED_REPLY
    assert json.loads(b"".join(second.streaming_content)) == document
    assert second["Content-Type"] == "application/json"

    run_jobs()

    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED
    assert conversation.review_status == ReviewStatus.PENDING
    assert conversation.enriched_file_path.startswith(
        f"{conversation.owner_segment}/{conversation.conversation_id}/enriched/2-"
    )
    listed = api.get(_url(conversation)).json()["data"]
    assert [(r["number"], r["source"], r["current"]) for r in listed] == [
        (1, "intake", False),
        (2, "edit", True),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1, 2], "must be a JSON object"),
        ("just text", "must be a JSON object"),
        ({}, "The document is empty"),
    ],
)
def test_a_body_that_is_not_a_document_is_refused_and_nothing_is_stored(
    api, user, media_root, body, message
):
    conversation = ConversationFactory(created_by=user)
    before = sorted(p.relative_to(media_root) for p in media_root.rglob("*"))

    response = api.post(_url(conversation), body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_document"
    assert message in response.json()["details"]["document"][0]
    assert sorted(p.relative_to(media_root) for p in media_root.rglob("*")) == before
    conversation.refresh_from_db()
    assert conversation.revision == 1
    assert not queued("enrich_run_lane").exists()


def test_a_broken_json_body_is_a_400_in_the_api_shape(api, user):
    conversation = ConversationFactory(created_by=user)

    response = api.generic(
        "POST", _url(conversation), b'{"turns": [', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert not ConversationRevision.objects.filter(number__gt=1).exists()


def test_replace_is_only_for_a_conversation_that_failed(api, user):
    healthy = ConversationFactory(created_by=user)
    failed = ConversationFactory(created_by=user, document=TRUNCATED_REPLY)
    enrich_conversations([failed.pk])

    refused = api.post(_url(healthy, "?source=replace"), conversation_document(), format="json")
    replaced = api.post(_url(failed, "?source=replace"), conversation_document(), format="json")
    unknown = api.post(_url(failed, "?source=upload"), conversation_document(), format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "not_failed"
    assert replaced.status_code == 201
    assert replaced.json()["revision"]["source"] == "replace"
    assert unknown.status_code == 400
    assert "source" in unknown.json()["details"]


def test_others_conversations_and_unknown_revisions_are_not_found(api, user):
    theirs = ConversationFactory(created_by=UserFactory())
    mine = ConversationFactory(created_by=user)

    assert api.get(_url(theirs)).status_code == 404
    assert api.post(_url(theirs), conversation_document(), format="json").status_code == 404
    assert api.get(_url(theirs, "/1/raw")).status_code == 404
    missing = api.get(_url(mine, "/7/raw"))
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert default_storage.exists(theirs.file_path)
    assert not ConversationRevision.objects.filter(conversation=theirs, number__gt=1).exists()


def test_a_new_revision_takes_the_conversation_from_an_older_enrichment(api, user):
    """A claim over revision 1 still held when revision 2 is saved loses: the run of the
    new revision claims it at once, and the older outcome can no longer be recorded."""
    from enrichment.pipeline.run import claim

    conversation = ConversationFactory(created_by=user)
    old_token, _ = claim([conversation.pk])

    response = api.post(_url(conversation), conversation_document(turns=6), format="json")
    run_jobs()

    assert response.status_code == 201
    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED
    assert conversation.enrichment_claim_token is None
    assert conversation.enriched_file_path.startswith(
        f"{conversation.owner_segment}/{conversation.conversation_id}/enriched/2-"
    )
    assert old_token.hex not in conversation.enriched_file_path


def test_an_edit_of_a_completed_conversation_that_does_not_validate_is_its_failure(api, user):
    """The output of revision 1 is not kept as the conversation's once revision 2 fails:
    its status and report are revision 2's, each problem naming its turn."""
    conversation = ConversationFactory(created_by=user)
    enrich_conversations([conversation.pk])
    conversation.refresh_from_db()
    first_output = conversation.enriched_file_path
    broken = conversation_document(turns=4)
    broken["turns"][2]["emotional_context"]["intensity"] = 7

    api.post(_url(conversation), broken, format="json")
    run_jobs()

    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.VALIDATION_FAILED
    [blocker] = conversation.validation_report["blockers"]
    assert blocker["code"] == "INTENSITY_OUT_OF_RANGE"
    assert blocker["field"] == "turns[2].emotional_context.intensity"
    # Its earlier output is left where it was (no longer eligible for training).
    assert conversation.enriched_file_path == first_output
    assert default_storage.exists(first_output)
    assert not Conversation.objects.filter(pk=conversation.pk).eligible_for_training().exists()
