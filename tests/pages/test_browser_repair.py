"""Repairing a failed conversation in Chromium: open it, edit the turn its validation
report blames, save; the page says the new revision is being validated and enriched, then
shows it enriched and back in the review queue. The test thread plays the worker
(``lanes.process_run``), once the page shows the revision waiting for it."""

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
