"""The conversations list and a conversation's page in a real browser (headless system
Chromium): density at 1280 px, page size and jump to a page, the Back button, the phone's
selection bar, and the page of one conversation with its actions. Screenshots go to
test-artifacts/pages/<test name>/."""

import re

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation, EnrichmentStatus
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    PersonaFactory,
    UserFactory,
)
from tests.pages.conftest import pick

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LONG_JOB = "Demo: financial-planning conversations generated overnight for the Q3 review #12"


def many_conversations(owner, count: int) -> list[Conversation]:
    persona = PersonaFactory(name="Alexandra Montgomery-Richardson the Third")
    job = BatchJobFactory(created_by=owner, name=LONG_JOB)
    conversations = []
    for n in range(count):
        conversation = ConversationFactory(
            created_by=owner,
            persona=persona,
            conversation_name=f"Windfall allocation with a cautious saver, session {n:02} "
            "(long follow-up about emergency funds and a 529 plan)",
            enrichment_status=(
                EnrichmentStatus.NORMALIZATION_FAILED if n % 3 == 0 else EnrichmentStatus.COMPLETED
            ),
        )
        BatchItemFactory(batch_job=job, position=n + 1, conversation=conversation)
        conversations.append(conversation)
    return conversations


def test_the_list_is_one_line_per_row_at_1280_px(page, log_in, screenshot):
    owner = UserFactory(username="dana")
    many_conversations(owner, 30)
    log_in(page, "dana")

    page.goto("/conversations/?size=50")

    rows = page.locator("#conversation-table tbody tr")
    expect(rows).to_have_count(30)
    screenshot(page, "0-list-1280")
    heights = rows.evaluate_all("rows => rows.map(r => r.getBoundingClientRect().height)")
    assert max(heights) < 40, heights
    wrap = page.locator("#conversation-table .table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), "the table scrolls sideways"
    page.locator("#conversation-table thead").scroll_into_view_if_needed()
    page.evaluate("document.querySelector('#conversation-table thead').scrollIntoView()")
    in_view = rows.evaluate_all(
        "rows => rows.filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length"
    )
    assert in_view >= 18, in_view
    name = rows.first.locator("td.name")
    assert name.evaluate("cell => cell.scrollWidth > cell.clientWidth"), "the name is not cut"
    full = Conversation.objects.order_by("-created_at").first().conversation_name
    expect(name.locator("a")).to_have_attribute("title", full)
    expect(rows.first.locator(f'a[title="{LONG_JOB}"]')).to_have_count(1)


def test_page_size_and_jump_to_a_page(page, log_in, screenshot):
    owner = UserFactory(username="dana")
    many_conversations(owner, 60)
    log_in(page, "dana")
    page.goto("/conversations/")
    rows = page.locator("#conversation-table tbody tr")
    expect(rows).to_have_count(25)
    expect(page.locator(".pagination__current")).to_contain_text("Page 1 of 3")

    page.get_by_label("Rows per page").select_option("50")

    expect(rows).to_have_count(50)
    expect(page).to_have_url(re.compile(r"size=50"))
    expect(page.locator(".pagination__current")).to_contain_text("Page 1 of 2")
    page.get_by_label("Rows per page").select_option("25")
    expect(rows).to_have_count(25)
    page.get_by_label("Go to page").fill("3")
    page.get_by_role("button", name="Go").click()
    expect(rows).to_have_count(10)
    expect(page).to_have_url(re.compile(r"page=3"))
    expect(page.locator(".pagination__current")).to_contain_text("Page 3 of 3")
    screenshot(page, "page-3")
    # A page past the end (an old link) shows the last one.
    page.goto("/conversations/?page=99")
    expect(page.locator(".pagination__current")).to_contain_text("Page 3 of 3")
    expect(page.get_by_label("Go to page")).to_have_value("3")
    page.get_by_label("Enrichment status").select_option("completed")
    expect(rows).to_have_count(25)
    expect(page.get_by_label("Rows per page")).to_have_value("25")


def test_back_and_forward_keep_the_filter_form_in_step_with_the_address(page, log_in, screenshot):
    owner = UserFactory(username="dana")
    sam = PersonaFactory(name="Sam Ortiz")
    ConversationFactory(
        created_by=owner,
        conversation_name="Sam done",
        persona=sam,
        enrichment_status=EnrichmentStatus.COMPLETED,
    )
    ConversationFactory(
        created_by=owner,
        conversation_name="Other done",
        enrichment_status=EnrichmentStatus.COMPLETED,
    )
    ConversationFactory(created_by=owner, conversation_name="Fresh one")
    log_in(page, "dana")
    page.goto("/conversations/")
    rows = page.locator("#conversation-table tbody tr")
    status = page.get_by_label("Enrichment status")
    persona = page.get_by_label("Persona")
    expect(rows).to_have_count(3)

    pick(status, "completed")
    expect(rows).to_have_count(2)
    pick(persona, label="Sam Ortiz")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"status=completed&.*persona=[0-9a-f-]{36}"))

    page.go_back()
    expect(page).to_have_url(re.compile(r"status=completed&.*persona=&"))
    expect(rows).to_have_count(2)
    expect(status).to_have_value("completed")
    expect(persona).to_have_value("")
    matching = page.locator("#enrich-matching")
    expect(matching.locator('input[name="status"]')).to_have_value("completed")
    expect(matching.locator('input[name="persona"]')).to_have_count(0)
    screenshot(page, "after-back")

    page.go_back()
    expect(page).to_have_url(re.compile(r"/conversations/$"))
    expect(rows).to_have_count(3)
    expect(status).to_have_value("")

    page.go_forward()
    expect(rows).to_have_count(2)
    expect(status).to_have_value("completed")
    expect(persona).to_have_value("")


def test_on_a_phone_the_selection_bar_stays_in_view_with_the_count(page, log_in, screenshot):
    owner = UserFactory(username="dana")
    many_conversations(owner, 12)
    page.set_viewport_size(PHONE)
    log_in(page, "dana")
    page.goto("/conversations/")
    boxes = page.locator('#conversation-table input[type="checkbox"][name="ids"]')
    bar = page.locator("#bulk-enrich")
    expect(bar.locator("[data-selected-count]")).to_have_text("0 selected")

    boxes.nth(0).check()
    boxes.nth(1).check()
    boxes.nth(11).scroll_into_view_if_needed()
    boxes.nth(11).check()

    expect(bar.locator("[data-selected-count]")).to_have_text("3 selected")
    box = bar.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    expect(bar.get_by_role("button", name="Enrich selected")).to_be_in_viewport()
    screenshot(page, "phone-selected")
    page.get_by_label("Select all on this page").scroll_into_view_if_needed()
    page.get_by_label("Select all on this page").check()
    expect(bar.locator("[data-selected-count]")).to_have_text("12 selected")


def test_a_conversation_page_from_the_list_to_enriched_pairs_and_deactivation(
    page, log_in, screenshot
):
    owner = UserFactory(username="dana")
    conversation = ConversationFactory(created_by=owner, conversation_name="Emergency fund chat")
    log_in(page, "dana")
    page.goto("/conversations/")

    page.get_by_role("link", name="Emergency fund chat").click()

    expect(page).to_have_url(re.compile(rf"/conversations/{conversation.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Emergency fund chat")
    expect(page.locator(".transcript .turn")).to_have_count(4)
    expect(page.locator(".transcript .emotion").first).to_contain_text("worry, hope")
    expect(page.locator("#pairs")).to_contain_text("Not enriched yet")
    screenshot(page, "0-not-enriched")

    with page.expect_navigation():
        page.get_by_role("button", name="Enrich", exact=True).click()

    expect(page.locator(".messages")).to_contain_text("“Emergency fund chat” is enriched.")
    expect(page.locator("#pairs article")).to_have_count(4)
    history = page.locator("#pair-4 details.history")
    expect(history.locator("ol")).to_be_hidden()
    history.locator("summary").click()
    expect(history.locator(".turn")).to_have_count(3)
    expect(page.get_by_role("link", name="enriched file")).to_be_visible()
    screenshot(page, "1-enriched")

    page.locator("summary", has_text="Re-enrich…").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Re-enrich (force)").click()
    expect(page.locator(".messages")).to_contain_text("“Emergency fund chat” is enriched.")
    expect(page.locator("details.confirm[open]")).to_have_count(0)
    page.locator("summary", has_text="Deactivate…").click()
    page.get_by_role("button", name="Deactivate", exact=True).click()

    expect(page).to_have_url(re.compile(r"/conversations/$"))
    expect(page.locator(".messages")).to_contain_text("“Emergency fund chat” is deactivated")
    expect(page.locator("#conversation-table tbody tr")).to_have_count(0)
    screenshot(page, "2-deactivated")
    conversation.refresh_from_db()
    assert conversation.is_active is False
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED


def test_on_a_phone_enrich_selected_brings_its_result_into_view(page, log_in, screenshot):
    owner = UserFactory(username="dana")
    many_conversations(owner, 12)
    Conversation.objects.update(enrichment_status=EnrichmentStatus.NOT_STARTED)
    page.set_viewport_size(PHONE)
    log_in(page, "dana")
    page.goto("/conversations/")
    boxes = page.locator('#conversation-table input[type="checkbox"][name="ids"]')
    boxes.nth(11).scroll_into_view_if_needed()
    boxes.nth(11).check()
    bar = page.locator("#bulk-enrich")

    bar.get_by_role("button", name="Enrich selected").click()

    summary = page.locator("#enrich-result .result__summary")
    expect(summary).to_contain_text("Enriched: 1, Failed: 0, Skipped: 0")
    expect(summary).to_be_in_viewport()
    # Below the sticky bar, not under it.
    bar_box, summary_box = bar.bounding_box(), summary.bounding_box()
    assert summary_box["y"] >= bar_box["y"] + bar_box["height"] - 1
    screenshot(page, "phone-result")


@pytest.mark.parametrize("width", [1024, 1152, 1280])
def test_between_1024_and_1280_px_names_have_room_and_headers_fit(page, log_in, screenshot, width):
    owner = UserFactory(username="dana")
    many_conversations(owner, 5)
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "dana")

    page.goto("/conversations/")

    rows = page.locator("#conversation-table tbody tr")
    expect(rows).to_have_count(5)
    screenshot(page, f"list-{width}")
    name = rows.first.locator("td.name")
    # Room for the start of a name, not "S…".
    assert name.evaluate("cell => cell.clientWidth") >= 140
    # Every header's text fits its column (none runs into the next).
    overflowing = page.locator("#conversation-table thead th").evaluate_all(
        "cells => cells.filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.textContent)"
    )
    assert overflowing == []
    wrap = page.locator("#conversation-table .table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), "the table scrolls sideways"
