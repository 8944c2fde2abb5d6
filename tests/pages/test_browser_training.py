"""Training files in a real browser (headless system Chromium): tick conversations on the
conversations page, make a training file of them, download it. Screenshots go to
test-artifacts/pages/<test name>/."""

import json

import pytest
from playwright.sync_api import expect

from tests.factories import ConversationFactory, UserFactory, enriched_conversation
from training.models import TrainingFile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_a_training_file_from_the_conversations_list_and_download_it(
    page, log_in, screenshot, tmp_path
):
    owner = UserFactory(username="dana")
    calm = [enriched_conversation(created_by=owner, conversation_name=f"Calm {n}") for n in (1, 2)]
    ConversationFactory(created_by=owner, conversation_name="Not enriched")
    log_in(page, "dana")

    page.goto("/conversations/")
    for conversation in calm:
        page.get_by_label(f"Select {conversation.conversation_name}").check()
    page.get_by_label("Select Not enriched").check()
    screenshot(page, "0-ticked")
    page.get_by_role("button", name="Create training file…").click()

    panel = page.locator("#training-selection")
    expect(panel).to_be_visible()
    expect(panel.locator("#selection-summary")).to_have_text(
        "3 selected conversations: 2 completed conversations will go in; 1 is not completed "
        "with an enriched file and will be left out."
    )
    screenshot(page, "1-panel")
    panel.get_by_label("Name").fill("Calm ones")
    panel.get_by_label("Description").fill("Two calm conversations")
    panel.get_by_role("button", name="Create training file").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Calm ones")
    expect(page.locator(".messages")).to_contain_text(
        "Training file “Calm ones” created with 2 conversations. The files are built. "
        "1 conversation left out: 1 not completed."
    )
    expect(page.locator("#members tbody tr")).to_have_count(2)
    screenshot(page, "2-training-file")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Full JSON (brightrun-lora-v4)").click()
    download = download_info.value
    assert download.suggested_filename == "calm-ones.json"
    saved = tmp_path / "calm-ones.json"
    download.save_as(saved)
    document = json.loads(saved.read_text())
    assert document["training_file_metadata"]["file_name"] == "Calm ones"
    # In the order of the list's rows (newest first).
    assert [c["conversation_metadata"]["conversation_id"] for c in document["conversations"]] == [
        str(c.conversation_id) for c in reversed(calm)
    ]
    with page.expect_download() as chat_info:
        page.get_by_role("link", name="Chat messages (JSONL)").click()
    chat = tmp_path / "chat.jsonl"
    chat_info.value.save_as(chat)
    assert chat_info.value.suggested_filename == "calm-ones.chat.jsonl"
    lines = [json.loads(line) for line in chat.read_text().splitlines()]
    assert [line["messages"][-1]["role"] for line in lines] == ["assistant", "assistant"]

    training_file = TrainingFile.objects.get()
    assert (training_file.name, training_file.status, training_file.conversation_count) == (
        "Calm ones",
        "active",
        2,
    )


def test_remove_selected_asks_first_and_add_more_offers_a_job_with_completed_ones(
    page, log_in, screenshot
):
    from conversations.models import BatchJob
    from tests.factories import BatchItemFactory, BatchJobFactory
    from training import services
    from training.eligibility import select_ids

    owner = UserFactory(username="dana")
    calm = [enriched_conversation(created_by=owner, conversation_name=f"Calm {n}") for n in (1, 2)]
    training_file = services.create_training_file(
        name="Calm set", user=owner, selection=select_ids([c.pk for c in calm], user=owner)
    ).training_file
    with_completed = BatchJobFactory(created_by=owner, name="Has completed ones")
    BatchItemFactory(batch_job=with_completed, position=1, conversation=calm[0])
    BatchJobFactory(created_by=owner, name="Newer, none completed")
    assert BatchJob.objects.get(pk=with_completed.pk).conversations_enriched == 1
    log_in(page, "dana")
    page.goto(f"/training-files/{training_file.pk}/")

    select = page.get_by_label("A batch job's completed conversations")
    expect(select).to_have_value(str(with_completed.pk))
    expect(select.locator("option:checked")).to_have_text("Has completed ones (1 completed)")

    page.get_by_label("Select Calm 1").check()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Remove selected").click()
    assert asked and asked[0].startswith("Remove the selected conversations")
    expect(page.locator("#members tbody tr")).to_have_count(2)
    assert training_file.memberships.count() == 2

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove selected").click()
    expect(page.locator(".messages")).to_be_visible()
    screenshot(page, "removed")
    assert training_file.memberships.count() == 1
