"""Repairing a conversation on its pages: its revisions, the edit page (validation problems
on their turn), the replacement of a failed conversation's file, and the panel that follows
the new revision's enrichment."""

import html
import json

import pytest
from django.core.files.storage import default_storage

from conversations.models import ConversationRevision, EnrichmentStatus, ReviewStatus
from enrichment.pipeline.run import enrich_conversations
from tests.factories import (
    TRUNCATED_REPLY,
    ConversationFactory,
    UserFactory,
    conversation_document,
)
from tests.jobs import queued, run_jobs

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
        if 'id="repair-advice"' not in body:
            return ""
        start = body.index('id="repair-advice"')
        return html.unescape(body[body.index(">", start) + 1 : body.index("</p>", start)])

    assert advice(failed).startswith("Edit turn 2 as the validation report says")
    assert advice(truncated).startswith(
        "Its stored reply is not complete JSON (usually cut off at the end), so it has no "
        "turns to edit: correct its text on the Edit page"
    )
    assert advice(healthy) == ""


def test_saving_an_edit_stores_a_new_revision_and_enriches_it_again(user_client, failed, user):
    data = edit_data(
        failed,
        name="Emergency fund, fixed",
        session_context="Jordan wants a safety net before a move.",
        **{
            "turn-1-intensity": "0.5",
            "turn-1-content": "A calmer answer about saving, step by step.",
        },
    )

    response = user_client.post(f"/conversations/{failed.pk}/edit/", data)

    assert response.status_code == 302
    assert response["Location"] == f"/conversations/{failed.pk}/"
    failed.refresh_from_db()
    assert failed.revision == 2
    assert failed.conversation_name == "Emergency fund, fixed"
    stored = json.loads(default_storage.open(failed.file_path).read())
    assert stored["turns"][1]["emotional_context"]["intensity"] == 0.5
    assert stored["turns"][1]["content"] == "A calmer answer about saving, step by step."
    assert (
        stored["conversation_metadata"]["session_context"]
        == "Jordan wants a safety net before a move."
    )
    # What the form does not show is kept.
    assert stored["input_parameters"] == {"persona_key": "careful_builder", "extra": "kept"}
    revision = ConversationRevision.objects.get(conversation=failed, number=2)
    assert (revision.source, revision.created_by) == ("edit", user)
    # The revision 1 file is untouched.
    assert (
        json.loads(default_storage.open(failed.revisions.get(number=1).path).read())
        == failing_document()
    )
    page = user_client.get(f"/conversations/{failed.pk}/").content.decode()
    assert "validating and enriching" in page
    assert 'hx-trigger="every 1s"' in page

    run_jobs()

    failed.refresh_from_db()
    assert failed.enrichment_status == EnrichmentStatus.COMPLETED
    assert failed.review_status == ReviewStatus.PENDING
    panel = user_client.get(f"/conversations/{failed.pk}/revisions/", **HX)
    assert panel["HX-Refresh"] == "true"
    assert "Pending review" in panel.content.decode()


def test_a_bad_edit_is_shown_on_its_turn_and_nothing_is_stored(user_client, failed):
    data = edit_data(failed, **{"turn-2-intensity": "very", "turn-3-role": "narrator"})

    response = user_client.post(f"/conversations/{failed.pk}/edit/", data)

    assert response.status_code == 400
    body = response.content.decode()
    turn_3 = body[body.index('id="edit-turn-3"') : body.index('id="edit-turn-4"')]
    turn_4 = body[body.index('id="edit-turn-4"') :]
    assert "Enter a number." in turn_3
    assert "Select a valid choice" in turn_4
    failed.refresh_from_db()
    assert failed.revision == 1
    assert not ConversationRevision.objects.filter(number=2).exists()
    assert not queued("enrich_run_lane").exists()


def test_a_truncated_conversations_file_is_replaced_by_pasted_text(user_client, user):
    conversation = ConversationFactory(created_by=user, document=TRUNCATED_REPLY)
    enrich_conversations([conversation.pk])
    edit = user_client.get(f"/conversations/{conversation.pk}/edit/").content.decode()
    assert html.escape(TRUNCATED_REPLY.decode()) in edit  # the text to correct
    fixed = json.dumps(conversation_document(turns=4), indent=4)

    broken = user_client.post(
        f"/conversations/{conversation.pk}/replace/", {"text": '{"turns": ['}, follow=True
    )
    assert "not valid JSON" in broken.content.decode()
    assert "Nothing was saved" in broken.content.decode()
    assert not ConversationRevision.objects.filter(number=2).exists()

    response = user_client.post(f"/conversations/{conversation.pk}/replace/", {"text": fixed})

    assert response.status_code == 302
    conversation.refresh_from_db()
    revision = conversation.revisions.get(number=2)
    assert revision.source == "replace"
    assert default_storage.open(revision.path).read() == fixed.encode()
    run_jobs()
    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED


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
