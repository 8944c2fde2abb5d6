"""The Review page in a real browser (headless system Chromium), with the keyboard alone:
approve, reject with reasons and a comment, skip, go back, request a revision, the list
of shortcuts; each next conversation arrives without a page load. Screenshots go to
test-artifacts/pages/<test name>/."""

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation, ReviewAction
from tests.factories import UserFactory, enriched_conversation

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_works_through_the_queue_with_the_keyboard(page, log_in, screenshot):
    owner = UserFactory(username="dana")
    first, second, third = (
        enriched_conversation(created_by=owner, conversation_name=f"Savings chat {n}")
        for n in (1, 2, 3)
    )
    log_in(page, "dana")
    page.goto("/review/")
    title = page.locator("#review-title")
    expect(title).to_contain_text("Savings chat 1")
    expect(page.locator("[data-stat=pending]")).to_have_text("3")
    page.evaluate("window.sameDocument = true")
    screenshot(page, "0-first")

    page.keyboard.press("?")
    expect(page.locator("#review-help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#review-help")).to_be_hidden()

    page.keyboard.press("a")
    expect(page.locator("#review-notice")).to_have_text("Approved: “Savings chat 1”.")
    expect(title).to_contain_text("Savings chat 2")
    expect(page.locator("[data-stat=approved]")).to_have_text("1")

    page.keyboard.press("r")
    expect(page.locator("#reject-form input[value=tone]")).to_be_focused()
    page.keyboard.press("1")
    page.keyboard.press("6")
    expect(page.locator("#reject-form input[value=safety]")).to_be_focused()
    page.keyboard.press("Tab")  # past the last reason to the comment
    page.keyboard.press("Tab")
    expect(page.locator("#reject-form textarea")).to_be_focused()
    page.keyboard.type("Pushes a product in turn 4.")
    screenshot(page, "1-reject-form")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#review-notice")).to_have_text("Rejected: “Savings chat 2”.")
    expect(title).to_contain_text("Savings chat 3")

    page.keyboard.press("j")
    expect(page.locator("#review-empty")).to_be_visible()
    page.keyboard.press("k")
    expect(title).to_contain_text("Savings chat 3")

    page.keyboard.press("e")
    page.keyboard.press("2")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#review-notice")).to_have_text("Sent back for revision: “Savings chat 3”.")
    expect(page.locator("#review-empty")).to_be_visible()
    screenshot(page, "2-done")

    assert page.evaluate("window.sameDocument") is True  # no page load along the way
    statuses = dict(Conversation.objects.values_list("pk", "review_status"))
    assert statuses == {
        first.pk: "approved",
        second.pk: "rejected",
        third.pk: "needs_revision",
    }
    rejection = ReviewAction.objects.get(conversation=second)
    assert rejection.reasons == ["tone", "safety"]
    assert rejection.comment == "Pushes a product in turn 4."
    assert ReviewAction.objects.get(conversation=third).reasons == ["accuracy"]
