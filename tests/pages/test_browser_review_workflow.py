"""Issue 24's "Done when" in Chromium: a reviewer works through a queue of 300
conversations (made from the original's real scaffolding, with the original's real
truncated reply among them) with the keyboard; fixes the truncated one by correcting its
text on its Edit page; sees it validated, enriched and back in the queue; approves it;
and builds an approved-only training file whose v4 metadata counts the members a person
approved. The test thread plays the worker (``lanes.process_run``) once the page shows
the new revision waiting for it. Screenshots go to test-artifacts/pages/<test name>/."""

import json

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation, ReviewAction
from enrichment.models import EnrichmentRun
from enrichment.runs import lanes
from review.queue import QueueFilters, queue
from tests.factories import UserFactory
from tests.review.workflow import TRUNCATED_ENDING, seed_queue

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COUNT = 300


def test_a_reviewer_works_through_a_real_queue_repairs_one_and_trains_on_the_approved(
    page, log_in, screenshot, shared_data, tmp_path
):
    owner = UserFactory(username="dana")
    seeded = seed_queue(shared_data, owner, tmp_path, count=COUNT)
    truncated = seeded.truncated
    order = list(queue(owner, QueueFilters())[:5])  # oldest enrichment first
    names = [c.display_name for c in order]
    log_in(page, "dana")

    page.goto("/review/")
    title = page.locator("#review-title")
    notice = page.locator("#review-notice")
    expect(page.locator("[data-stat=pending]")).to_have_text(str(COUNT))
    expect(title).to_contain_text(names[0])
    page.evaluate("window.sameDocument = true")
    screenshot(page, "0-queue-of-300")

    page.keyboard.press("a")
    expect(notice).to_have_text(f"Approved: “{names[0]}”.")
    expect(title).to_contain_text(names[1])
    page.keyboard.press("a")
    expect(notice).to_have_text(f"Approved: “{names[1]}”.")
    expect(title).to_contain_text(names[2])

    page.keyboard.press("r")
    expect(page.locator("#reject-form input[value=tone]")).to_be_focused()
    page.keyboard.press("2")
    page.keyboard.press("7")
    expect(page.locator("#reject-form input[value=other]")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#reject-form textarea")).to_be_focused()
    page.keyboard.type("Quotes a rate no one can promise.")
    page.keyboard.press("Control+Enter")
    expect(notice).to_have_text(f"Rejected: “{names[2]}”.")
    expect(title).to_contain_text(names[3])

    page.keyboard.press("j")  # skip the fourth for now
    expect(title).to_contain_text(names[4])
    page.keyboard.press("k")  # and go back to it
    expect(title).to_contain_text(names[3])
    page.keyboard.press("a")
    expect(notice).to_have_text(f"Approved: “{names[3]}”.")
    expect(title).to_contain_text(names[4])
    expect(page.locator("[data-stat=pending]")).to_have_text(str(COUNT - 4))
    expect(page.locator("[data-stat=approved]")).to_have_text("3")
    expect(page.locator("[data-stat=rejected]")).to_have_text("1")
    assert page.evaluate("window.sameDocument") is True  # no page load along the way
    screenshot(page, "1-after-four")

    # The truncated reply failed validation: its page says why; its file is corrected
    # by editing its text (it has no turns to edit: it is not JSON).
    page.goto(f"/conversations/{truncated.pk}/")
    expect(page.locator("h1 .badge")).to_have_text("Validation failed")
    expect(page.locator("main")).to_contain_text("INVALID_JSON_SYNTAX")
    expect(page.locator("#failure-advice")).to_contain_text(
        "correct its text where the file is replaced"
    )
    screenshot(page, "2-the-truncated-one-failed")
    page.locator("#revisions").get_by_role("link", name="Replace the file…").click()
    text = page.get_by_label("Or the document itself")
    expect(text).to_have_value(seeded.truncated_text)
    screenshot(page, "3-edit-the-truncated-text")
    text.focus()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text(TRUNCATED_ENDING)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Replace with this text")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator(".messages")).to_contain_text(
        f"Revision 2 of “{truncated.display_name}” is saved"
    )
    expect(page.locator("#revision-state")).to_contain_text("Revision 2: validating and enriching")
    run = EnrichmentRun.objects.get()

    lanes.process_run(run.pk)

    # The panel's next poll finds it done and the page loads again.
    expect(page.locator("h1 .badge")).to_have_text("Completed")
    expect(page.locator("#revision-state")).to_contain_text("Pending review")
    expect(page.locator("#revisions li")).to_have_count(2)
    screenshot(page, "4-validated-and-enriched")

    # Back in the queue, newest first (after the one this reviewer still holds).
    page.goto("/review/?sort=-age")
    expect(page.locator("[data-stat=pending]")).to_have_text(str(COUNT - 4 + 1))
    expect(title).to_contain_text(names[4])  # claimed before: offered first
    page.keyboard.press("j")
    expect(title).to_contain_text(truncated.display_name)
    screenshot(page, "5-fixed-one-in-the-queue")
    page.keyboard.press("a")
    expect(notice).to_have_text(f"Approved: “{truncated.display_name}”.")
    approved = [order[0], order[1], order[3], truncated]
    assert set(
        Conversation.objects.filter(review_status="approved").values_list("pk", flat=True)
    ) == {c.pk for c in approved}
    assert ReviewAction.objects.get(conversation=order[2]).reasons == ["accuracy", "other"]

    # An approved-only training file of the whole batch job.
    page.goto(f"/training-files/new/?batch_job={seeded.batch_job.pk}")
    panel = page.locator("#training-selection")
    panel.get_by_label("Name").fill("Reviewed by a person")
    panel.get_by_label("Approved conversations only").check()
    panel.get_by_role("button", name="Create training file").click()
    expect(page.locator(".messages")).to_contain_text(
        "Training file “Reviewed by a person” created with 4 conversations. The files are "
        "built. 297 conversations left out: 297 not approved."
    )
    expect(page.locator("#members tbody tr")).to_have_count(4)
    screenshot(page, "6-approved-only-file")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Full JSON (brightrun-lora-v4)").click()
    saved = tmp_path / "reviewed.json"
    download_info.value.save_as(saved)
    v4 = json.loads(saved.read_text())
    summary = v4["training_file_metadata"]["quality_summary"]
    assert v4["training_file_metadata"]["total_conversations"] == len(approved)
    assert summary["human_reviewed_count"] == len(approved)
    assert summary["human_reviewed_percentage"] == 100
    members = {
        entry["conversation_metadata"]["conversation_id"]: entry["conversation_metadata"]
        for entry in v4["conversations"]
    }
    assert set(members) == {str(c.conversation_id) for c in approved}
    assert members[str(truncated.conversation_id)]["review_status"] == "approved"
