"""Repairing a conversation on its pages: its revisions, the edit page (validation problems
on their turn), the replacement of a failed conversation's file, and the panel that follows
the new revision's enrichment."""

import html
import json

import pytest
from django.core.files.storage import default_storage

from conversations.models import ConversationRevision, EnrichmentStatus
from enrichment.pipeline.run import enrich_conversations
from tests.factories import (
    TRUNCATED_REPLY,
    ConversationFactory,
    UserFactory,
    conversation_document,
)

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def failing_document() -> dict:
    """Valid but for turn 2's intensity (a blocker on that turn)."""
    document = conversation_document(turns=4)
    document["turns"][1]["emotional_context"]["intensity"] = 1.5
    document["input_parameters"] = {"persona_key": "careful_builder", "extra": "kept"}
    return document


def edit_data(conversation, **changes) -> dict:
    """The edit form as the page fills it for the conversation's current document."""
    document = json.loads(default_storage.open(conversation.file_path).read())
    data = {
        "name": conversation.conversation_name,
        "turn-TOTAL_FORMS": str(len(document["turns"])),
        "turn-INITIAL_FORMS": str(len(document["turns"])),
        **{
            key: document["conversation_metadata"].get(key, "")
            for key in (
                "client_persona",
                "session_context",
                "conversation_phase",
                "expected_outcome",
            )
        },
    }
    for index, turn in enumerate(document["turns"]):
        context = turn["emotional_context"]
        data |= {
            f"turn-{index}-role": turn["role"],
            f"turn-{index}-content": turn["content"],
            f"turn-{index}-primary_emotion": context.get("primary_emotion", ""),
            f"turn-{index}-secondary_emotion": context.get("secondary_emotion", ""),
            f"turn-{index}-intensity": str(context.get("intensity", "")),
        }
    return data | changes


@pytest.fixture
def failed(user):
    conversation = ConversationFactory(created_by=user, document=failing_document())
    enrich_conversations([conversation.pk])
    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.VALIDATION_FAILED
    return conversation


def test_the_page_lists_revisions_with_downloads_and_problems_on_their_turn(user_client, failed):
    body = user_client.get(f"/conversations/{failed.pk}/").content.decode()

    assert 'id="revisions"' in body
    assert f"/api/conversations/{failed.conversation_id}/revisions/1/raw" in body
    assert f"/conversations/{failed.pk}/edit/" in body
    assert "Replace the file" in body
    assert "INTENSITY_OUT_OF_RANGE" in body
    edit = user_client.get(f"/conversations/{failed.pk}/edit/").content.decode()
    # The blocker is shown on turn 2, and only there.
    turn_2 = edit[edit.index('id="edit-turn-2"') : edit.index('id="edit-turn-3"')]
    turn_1 = edit[edit.index('id="edit-turn-1"') : edit.index('id="edit-turn-2"')]
    assert "INTENSITY_OUT_OF_RANGE" in turn_2
    assert "INTENSITY_OUT_OF_RANGE" not in turn_1
    assert 'value="1.5"' in turn_2


def test_a_failed_conversations_page_says_what_to_do_about_its_failure(user_client, user, failed):
    truncated = ConversationFactory(created_by=user, document=TRUNCATED_REPLY)
    enrich_conversations([truncated.pk])
    healthy = ConversationFactory(created_by=user)
    enrich_conversations([healthy.pk])

    def advice(conversation) -> str:
        body = user_client.get(f"/conversations/{conversation.pk}/").content.decode()
        if 'id="failure-advice"' not in body:
            return ""
        start = body.index('id="failure-advice"')
        return html.unescape(body[start : body.index("</section>", start)])

    assert "Blockers in turn 2." in advice(failed)
    assert "Edit the conversation" in advice(failed)
    assert "correct its text where the file is replaced" in advice(truncated)
    assert f"/conversations/{truncated.pk}/edit/#replace" in advice(truncated)
    assert advice(healthy) == ""


def test_a_long_truncated_reply_is_offered_whole_to_correct(user_client, user):
    """A reply cut off after 20,000 characters: the form holds all of it, so correcting
    its end stores the whole document (a cut-down text would lose the turns between)."""
    document = conversation_document(turns=12)
    for turn in document["turns"]:
        turn["content"] = "A long, careful answer about the emergency fund. " * 40
    whole = json.dumps(document)
    cut = len(whole) - 120  # inside the last turn's emotional context
    assert cut > 20_000
    conversation = ConversationFactory(created_by=user, document=whole[:cut].encode())
    enrich_conversations([conversation.pk])

    edit = user_client.get(f"/conversations/{conversation.pk}/edit/").content.decode()
    assert f">{html.escape(whole[:cut])}</textarea>" in edit
    user_client.post(f"/conversations/{conversation.pk}/replace/", {"text": whole})

    conversation.refresh_from_db()
    assert default_storage.open(conversation.revisions.get(number=2).path).read() == (
        whole.encode()
    )


def test_a_reply_too_large_for_the_form_is_not_offered_in_part(user_client, user):
    huge = b'{"turns": [{"content": "' + b"x" * (1024 * 1024) + b"..."
    conversation = ConversationFactory(created_by=user, document=huge)
    enrich_conversations([conversation.pk])

    edit = user_client.get(f"/conversations/{conversation.pk}/edit/").content.decode()

    assert 'id="replace-text-too-large"' in edit
    assert "too large to correct here" in edit
    assert 'name="text"' not in edit
    assert 'name="file"' in edit  # the upload is still offered


def test_an_upload_replaces_the_file_and_a_healthy_conversation_cannot_be_replaced(
    user_client, failed, user
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = json.dumps(conversation_document(turns=2)).encode()
    upload = SimpleUploadedFile("fixed.json", content, content_type="application/json")
    healthy = ConversationFactory(created_by=user)

    replaced = user_client.post(f"/conversations/{failed.pk}/replace/", {"file": upload})
    refused = user_client.post(
        f"/conversations/{healthy.pk}/replace/", {"text": content.decode()}, follow=True
    )

    assert replaced.status_code == 302
    assert default_storage.open(failed.revisions.get(number=2).path).read() == content
    assert "Only a conversation that failed" in refused.content.decode()
    assert not healthy.revisions.filter(number=2).exists()


def test_others_cannot_edit_or_replace(client, failed):
    client.force_login(UserFactory())

    assert client.get(f"/conversations/{failed.pk}/edit/").status_code == 404
    assert client.post(f"/conversations/{failed.pk}/edit/", edit_data(failed)).status_code == 404
    assert client.post(f"/conversations/{failed.pk}/replace/", {"text": "{}"}).status_code == 404
    assert not ConversationRevision.objects.filter(number=2).exists()
