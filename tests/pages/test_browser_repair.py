"""Repairing a failed conversation in Chromium: open it, edit the turn its validation
report blames, save; the page says the new revision is being validated and enriched, then
shows it enriched and back in the review queue. The test thread plays the worker
(``lanes.process_run``), once the page shows the revision waiting for it."""

import re

import pytest
from playwright.sync_api import expect

from conversations.models import EnrichmentStatus
from enrichment.models import EnrichmentRun
from enrichment.pipeline.run import enrich_conversations
from enrichment.runs import lanes
from tests.factories import ConversationFactory, UserFactory, conversation_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_failed_conversation_is_edited_validated_enriched_and_back_in_review(
    page, log_in, screenshot
):
    owner = UserFactory(username="dana")
    document = conversation_document(turns=4)
    document["turns"][1]["emotional_context"]["intensity"] = 1.5
    conversation = ConversationFactory(
        created_by=owner, document=document, conversation_name="Safety net"
    )
    enrich_conversations([conversation.pk])
    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.VALIDATION_FAILED
    log_in(page, "dana")

    page.goto(f"/conversations/{conversation.pk}/")
    expect(page.locator("h1 .badge")).to_have_text("Validation failed")
    page.locator("#revisions").get_by_role("link", name="Edit…").click()
    turn = page.get_by_role("listitem", name="Turn 2")
    expect(turn.locator(".turn-problems")).to_contain_text("INTENSITY_OUT_OF_RANGE")
    screenshot(page, "1-edit-with-problem-on-turn-2")
    turn.get_by_label("Intensity (0–1)").fill("0.5")
    turn.get_by_label("Text").fill("Let's build the fund a month at a time, calmly.")
    page.get_by_role("button", name="Save as a new revision").click()

    expect(page.locator(".messages")).to_contain_text("Revision 2 of “Safety net” is saved")
    expect(page.locator("#revision-state")).to_contain_text("Revision 2: validating and enriching")
    screenshot(page, "2-validating")
    run = EnrichmentRun.objects.get()

    lanes.process_run(run.pk)

    # The panel's next poll finds it done and the page loads again.
    expect(page.locator("h1 .badge")).to_have_text("Completed")
    expect(page.locator("#revision-state")).to_contain_text("Pending review")
    expect(page.locator("#pairs")).to_contain_text("Let's build the fund a month at a time")
    expect(page.locator("#revisions li")).to_have_count(2)
    expect(page.locator("#revisions")).to_contain_text("Revision 2 (current)")
    screenshot(page, "3-enriched-pending-review")


def _fill_turn(turn, text: str, emotion: str) -> None:
    turn.get_by_label("Text").fill(text)
    turn.get_by_label("Primary emotion").fill(emotion)
    turn.get_by_label("Intensity (0–1)").fill("0.5")


def test_a_turn_is_removed_and_turns_added_then_saved_and_enriched(page, log_in, screenshot):
    owner = UserFactory(username="eli")
    conversation = ConversationFactory(
        created_by=owner, document=conversation_document(turns=4), conversation_name="Turns"
    )
    enrich_conversations([conversation.pk])
    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED
    assert conversation.turn_count == 4
    log_in(page, "eli")
    page.goto(f"/conversations/{conversation.pk}/edit/")
    turns = page.locator(".edit-turn")
    expect(turns).to_have_count(4)
    page.get_by_label("Conversation name").fill("Turns, edited")

    page.get_by_role("listitem", name="Turn 4").get_by_role("button", name="Remove").click()
    expect(turns).to_have_count(3)
    page.get_by_role("button", name="Add a turn at the end").click()
    expect(turns).to_have_count(4)
    _fill_turn(
        page.get_by_role("listitem", name="Turn 4"), "Put aside a little each payday.", "calm"
    )
    page.get_by_role("button", name="Add a turn at the end").click()
    expect(turns).to_have_count(5)
    expect(page).to_have_url(re.compile(r"/edit/#edit-turn-5$"))  # scrolled to the new turn
    # What was typed is still there (nothing was saved yet), and the name too.
    expect(page.get_by_role("listitem", name="Turn 4").get_by_label("Text")).to_have_value(
        "Put aside a little each payday."
    )
    expect(page.get_by_label("Conversation name")).to_have_value("Turns, edited")
    expect(page.get_by_role("listitem", name="Turn 5").get_by_label("Role")).to_have_value("user")
    _fill_turn(page.get_by_role("listitem", name="Turn 5"), "That I can do. Thank you.", "relief")
    screenshot(page, "1-turns-removed-and-added")
    page.get_by_role("button", name="Save as a new revision").click()

    expect(page.locator(".messages")).to_contain_text("Revision 2 of “Turns, edited” is saved")
    expect(page.locator("#revision-state")).to_contain_text("Revision 2: validating and enriching")
    lanes.process_run(EnrichmentRun.objects.get().pk)

    expect(page.locator("h1 .badge")).to_have_text("Completed")
    expect(page.locator("#revisions")).to_contain_text("Revision 2 (current)")
    expect(page.locator("dt:text-is('Turns') + dd")).to_have_text("5")
    expect(page.locator("#pairs")).to_contain_text("Put aside a little each payday.")
    screenshot(page, "2-enriched-with-five-turns")
    conversation.refresh_from_db()
    assert conversation.turn_count == 5 and conversation.revision == 2
    codes = {issue["code"] for issue in conversation.validation_report["warnings"]}
    assert "TURN_NUMBER_MISMATCH" not in codes
