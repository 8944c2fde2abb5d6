"""Repairing a conversation on its pages: its revisions, the edit page (validation problems
on their turn), the replacement of a failed conversation's file, and the panel that follows
the new revision's enrichment."""

import html
import json

import pytest
from django.core.files.storage import default_storage

from conversations.models import ConversationRevision, EnrichmentStatus
from enrichment.models import EnrichmentRun
from enrichment.pipeline.run import enrich_conversations
from enrichment.runs import lanes
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


def _turns_on(page: str) -> int:
    return page.count('class="turn edit-turn')


def test_adding_and_removing_turns_shows_the_form_again_as_typed_and_saves_nothing(
    user_client, failed
):
    url = f"/conversations/{failed.pk}/edit/"
    typed = edit_data(failed, name="Renamed, not saved", **{"turn-2-content": "Typed, not saved"})

    added = user_client.post(url, typed | {"add_after": "0"})
    removed = user_client.post(url, typed | {"remove": "0"})
    at_end = user_client.post(url, typed | {"add_after": "3"})

    assert added.status_code == removed.status_code == at_end.status_code == 200
    page = added.content.decode()
    assert _turns_on(page) == 5
    assert 'value="Renamed, not saved"' in page
    # The added turn 2 is empty, the assistant's (turn 1 is the user's); the turn typed
    # into (turn 3) is now turn 4, with what was typed.
    turn_2 = page[page.index('id="edit-turn-2"') : page.index('id="edit-turn-3"')]
    turn_4 = page[page.index('id="edit-turn-4"') : page.index('id="edit-turn-5"')]
    assert 'name="turn-1-source" value="new"' in turn_2
    assert '<option value="assistant" selected>' in turn_2
    assert "Typed, not saved" in turn_4
    # The blocker of the stored turn 2 moved with it to turn 3.
    assert "INTENSITY_OUT_OF_RANGE" not in turn_2
    assert "INTENSITY_OUT_OF_RANGE" in page[page.index('id="edit-turn-3"') :][:4000]
    assert _turns_on(removed.content.decode()) == 3
    assert "Typed, not saved" in removed.content.decode()
    at_end_page = at_end.content.decode()
    assert _turns_on(at_end_page) == 5
    assert 'name="turn-4-source" value="new"' in at_end_page
    failed.refresh_from_db()
    assert failed.revision == 1 and failed.conversation_name != "Renamed, not saved"


def test_saving_added_and_removed_turns_renumbers_them_and_keeps_their_other_keys(
    user_client, user
):
    document = failing_document()
    for index, turn in enumerate(document["turns"]):
        turn["note"] = f"stored turn {index + 1}"
    conversation = ConversationFactory(created_by=user, document=document)
    enrich_conversations([conversation.pk])
    data = edit_data(conversation)
    # Remove stored turn 2 (the failing one), add a turn at the end: the page's form then.
    data |= {
        "turn-0-source": "0",
        "turn-1-source": "2",
        "turn-2-source": "3",
        "turn-3-source": "new",
        "turn-1-role": "user",
        "turn-1-content": document["turns"][2]["content"],
        "turn-1-intensity": "0.4",
        "turn-2-role": "assistant",
        "turn-2-content": document["turns"][3]["content"],
        "turn-3-role": "user",
        "turn-3-content": "Thanks, that helps.",
        "turn-3-primary_emotion": "relief",
        "turn-3-secondary_emotion": "",
        "turn-3-intensity": "0.3",
    }

    response = user_client.post(f"/conversations/{conversation.pk}/edit/", data)

    assert response.status_code == 302
    saved = json.loads(default_storage.open(conversation.revisions.get(number=2).path).read())
    assert [turn["turn_number"] for turn in saved["turns"]] == [1, 2, 3, 4]
    assert [turn.get("note") for turn in saved["turns"]] == [
        "stored turn 1",
        "stored turn 3",
        "stored turn 4",
        None,
    ]
    assert saved["turns"][3]["content"] == "Thanks, that helps."
    assert saved["turns"][3]["emotional_context"] == {
        "primary_emotion": "relief",
        "intensity": 0.3,
    }
    # Enriched again, the new revision is valid: no turn number out of place.
    lanes.process_run(EnrichmentRun.objects.get().pk)
    conversation.refresh_from_db()
    assert conversation.revision == 2
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED
    report = conversation.validation_report
    codes = {issue["code"] for issue in [*report["blockers"], *report["warnings"]]}
    assert "TURN_NUMBER_MISMATCH" not in codes


def test_the_last_turn_removed_a_turn_can_be_added_again(user_client, failed):
    url = f"/conversations/{failed.pk}/edit/"
    data = edit_data(failed) | {"turn-TOTAL_FORMS": "1", "turn-INITIAL_FORMS": "1"}

    emptied = user_client.post(url, data | {"remove": "0"}).content.decode()
    empty = edit_data(failed) | {"turn-TOTAL_FORMS": "0", "turn-INITIAL_FORMS": "0"}
    added = user_client.post(url, empty | {"add_after": "-1"}).content.decode()
    ignored = user_client.post(url, data | {"remove": "7"}).content.decode()

    assert _turns_on(emptied) == 0
    assert 'name="add_after" value="-1"' in emptied  # "Add a turn at the end"
    assert _turns_on(added) == 1
    assert 'name="turn-0-source" value="new"' in added
    assert '<option value="user" selected>' in added
    assert _turns_on(ignored) == 1  # no such turn: nothing removed
