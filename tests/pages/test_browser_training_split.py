"""A training file with a validation split in a real browser (headless system Chromium):
made from ticked conversations with a minimum tier and a split, then each split
downloaded. Screenshots go to test-artifacts/pages/<test name>/."""

import json
import uuid

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory, enriched_conversation
from training.exports import split_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_make_a_split_file_and_download_its_validation_split(page, log_in, screenshot, tmp_path):
    owner = UserFactory(username="dana")
    conversations = [
        enriched_conversation(
            created_by=owner,
            conversation_name=f"Calm {n}",
            conversation_id=uuid.UUID(int=n * 7919 + 1),
            quality_score=4.0,
        )
        for n in (2, 3, 4, 7)
    ]
    weak = enriched_conversation(created_by=owner, conversation_name="Weak", quality_score=2.0)
    validation = [c for c in conversations if split_of(c.conversation_id, 0.5) == "validation"]
    assert 0 < len(validation) < len(conversations)  # the ids were chosen so
    log_in(page, "dana")

    page.goto("/conversations/")
    for conversation in [*conversations, weak]:
        page.get_by_label(f"Select {conversation.conversation_name}").check()
    page.get_by_role("button", name="Create training file…").click()
    panel = page.locator("#training-selection")
    expect(panel).to_be_visible()
    panel.get_by_label("Name").fill("Split set")
    panel.get_by_label("Minimum quality tier").select_option("production")
    panel.get_by_label("Validation split").fill("0.5")
    screenshot(page, "0-form")
    panel.get_by_role("button", name="Create training file").click()

    expect(page.locator(".messages")).to_contain_text(
        "1 conversation left out: 1 below the minimum quality tier."
    )
    expect(page.locator("#requirements")).to_have_text(
        "Takes completed conversations of the production tier or better; 50% of them go in "
        "the validation split."
    )
    expect(page.locator("#split-validation")).to_contain_text(f"{len(validation)} conversation")
    screenshot(page, "1-training-file")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Full JSON (brightrun-lora-v4), validation").click()
    download = download_info.value
    assert download.suggested_filename == "split-set-validation.json"
    saved = tmp_path / "validation.json"
    download.save_as(saved)
    document = json.loads(saved.read_text())
    ids = [c["conversation_metadata"]["conversation_id"] for c in document["conversations"]]
    assert sorted(ids) == sorted(str(c.conversation_id) for c in validation)
    assert document["training_file_metadata"]["split"]["name"] == "validation"
