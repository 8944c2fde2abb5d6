"""The pages in a real browser (headless system Chromium): what a data person does in a
day's work. Screenshots of the key states go to test-artifacts/pages/<test name>/."""

import re

import pytest
from playwright.sync_api import Route, expect

from conversations.models import Conversation, EnrichmentStatus
from tests.factories import TRUNCATED_REPLY, ConversationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def status_of(name: str) -> str:
    return Conversation.objects.get(conversation_name=name).enrichment_status


def test_enrich_all_on_a_completed_batch_job(page, log_in, make_job, screenshot):
    owner = UserFactory(username="dana")
    job = make_job(owner, valid=2, invalid=1, name="March windfall batch")
    held: list[Route] = []
    page.route(
        re.compile(r".*/enrich/$"),
        lambda route: held.append(route) if not held else route.continue_(),
    )
    log_in(page, "dana")
    expect(page.locator("#jobs tbody tr")).to_have_count(1)
    screenshot(page, "0-batch-jobs")

    page.get_by_role("link", name="March windfall batch").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("March windfall batch")
    expect(page.locator("#items .badge--not_started")).to_have_count(3)
    screenshot(page, "1-job-before")

    enrich_all = page.get_by_role("button", name="Enrich All")
    enrich_all.click()
    spinner = page.locator("#enrich-spinner")
    expect(spinner).to_be_visible()
    expect(spinner).to_have_text("Enriching conversations…")
    expect(enrich_all).to_be_disabled()
    expect(page.get_by_role("button", name="Retry failed")).to_have_count(0)
    screenshot(page, "2-enriching")
    held[0].continue_()

    summary = page.locator("#enrichment .result__summary")
    expect(summary).to_contain_text("Enriched: 2, Failed: 1, Skipped: 0")
    expect(page.locator("#items .badge--completed")).to_have_count(2)
    expect(page.locator("#items .badge--validation_failed")).to_have_count(1)
    failures = page.locator("#enrichment .failures li")
    expect(failures).to_have_count(1)
    expect(failures).to_contain_text("Truncated chat 1")
    expect(failures).to_contain_text("Validation failed: INVALID_JSON_SYNTAX")
    expect(spinner).to_be_hidden()
    screenshot(page, "3-enriched")

    page.reload()
    expect(page.locator("#enrichment .result__summary")).to_have_count(0)
    expect(page.locator("#enrichment .stat--ok dd")).to_have_text("2")
    expect(page.locator("#enrichment .stat--bad dd")).to_have_text("1")
    expect(page.locator("#enrichment .failures li")).to_contain_text("INVALID_JSON_SYNTAX")
    expect(page.locator("#items .badge--completed")).to_have_count(2)
    expect(page.locator("#items .badge--validation_failed")).to_have_count(1)
    screenshot(page, "4-reloaded")

    # Only a validation failure is left: "Enrich All" could do nothing, and "Retry failed"
    # is offered but not as the next step (it would fail again; the page says so).
    expect(page.get_by_role("button", name="Enrich All")).to_have_count(0)
    expect(page.locator("#enrichment .state-line")).to_contain_text(
        "1 of 3 failed enrichment; the rest are enriched."
    )
    expect(page.locator("#enrichment")).to_contain_text("so Retry failed would fail it again")
    expect(page.get_by_role("link", name="Create training file")).to_have_class(
        "button button--primary"
    )
    retry = page.get_by_role("button", name="Retry failed")
    expect(retry).to_have_class("button")
    retry.click()
    expect(page.locator("#enrichment .result__summary")).to_contain_text(
        "Retry finished. Enriched: 0, Failed: 1, Skipped: 0"
    )
    screenshot(page, "5-retry-failed")
    page.set_viewport_size(PHONE)
    screenshot(page, "6-phone")

    assert status_of("Valid chat 1") == EnrichmentStatus.COMPLETED
    assert status_of("Valid chat 2") == EnrichmentStatus.COMPLETED
    assert status_of("Truncated chat 1") == EnrichmentStatus.VALIDATION_FAILED
    assert job.items.count() == 3


def test_a_double_click_on_enrich_all_sends_one_request(page, log_in, make_job):
    owner = UserFactory(username="dana")
    job = make_job(owner, valid=1)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    log_in(page, "dana")
    page.goto(f"/batch-jobs/{job.pk}/")

    page.get_by_role("button", name="Enrich All").dblclick()

    expect(page.locator("#enrichment .result__summary")).to_contain_text(
        "Enriched: 1, Failed: 0, Skipped: 0"
    )
    assert [url for url in posts if url.endswith("/enrich/")] == [
        f"{page.url.split('/batch-jobs/')[0]}/batch-jobs/{job.pk}/enrich/"
    ]


def test_enrich_all_works_without_javascript(browser, live_server, log_in, make_job, screenshot):
    owner = UserFactory(username="dana")
    job = make_job(owner, valid=1, invalid=1)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, "dana")
        page.goto(f"/batch-jobs/{job.pk}/")

        page.get_by_role("button", name="Enrich All").click()

        page.wait_for_url(f"**/batch-jobs/{job.pk}/")
        expect(page.locator(".messages")).to_contain_text("Enriched: 1, Failed: 1, Skipped: 0.")
        expect(page.locator("#items .badge--completed")).to_have_count(1)
        screenshot(page, "no-js-after-enrich-all")
    finally:
        context.close()
    assert status_of("Valid chat 1") == EnrichmentStatus.COMPLETED


def test_filter_select_enrich_and_open_a_report_on_the_conversations_list(page, log_in, screenshot):
    owner = UserFactory(username="dana")
    ConversationFactory(created_by=owner, conversation_name="Good chat A")
    ConversationFactory(created_by=owner, conversation_name="Good chat B")
    ConversationFactory(created_by=owner, conversation_name="Broken chat", document=TRUNCATED_REPLY)
    ConversationFactory(
        created_by=owner,
        conversation_name="Finished chat",
        enrichment_status=EnrichmentStatus.COMPLETED,
    )
    page.goto("/conversations/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/conversations/$"))
    screenshot(page, "0-login")
    log_in(page, "dana")
    page.get_by_role("link", name="Conversations").click()
    rows = page.locator("#conversation-table tbody tr")
    expect(rows).to_have_count(4)

    page.get_by_label("Enrichment status").select_option("completed")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Finished chat")
    expect(page).to_have_url(re.compile(r"status=completed"))
    screenshot(page, "1-filtered-completed")
    page.get_by_label("Enrichment status").select_option("not_started")
    expect(rows).to_have_count(3)

    page.get_by_label("Select all on this page").check()
    expect(page.locator('#conversation-table input[name="ids"]:checked')).to_have_count(3)
    page.get_by_label("Select all on this page").uncheck()
    page.get_by_label("Select Good chat A").check()
    page.get_by_label("Select Broken chat").check()
    screenshot(page, "2-selected")
    page.get_by_role("button", name="Enrich selected").click()

    result = page.locator("#enrich-result")
    expect(result).to_contain_text("Enriched: 1, Failed: 1, Skipped: 0")
    expect(result.locator(".failures li")).to_contain_text("Broken chat")
    expect(result.locator(".failures li")).to_contain_text("INVALID_JSON_SYNTAX")
    # The table reloads with its filter (not started): only the unselected one is left.
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Good chat B")
    screenshot(page, "3-enriched")

    page.get_by_label("Enrichment status").select_option("")
    expect(rows).to_have_count(4)
    expect(
        page.locator("tr", has_text="Good chat A").locator(".badge:not([data-review-status])")
    ).to_have_text("Completed")
    broken = page.locator("tr", has_text="Broken chat")
    expect(broken.locator(".badge:not([data-review-status])")).to_have_text("Validation failed")
    expect(broken.get_by_role("button", name="Retry")).to_be_visible()

    broken.get_by_role("link", name="Report").click()
    panel = page.locator("#report-panel")
    expect(panel.get_by_role("heading", name="Validation report: Broken chat")).to_be_visible()
    expect(panel).to_contain_text("INVALID_JSON_SYNTAX")
    expect(panel).to_contain_text("Error (Validation):")
    screenshot(page, "4-report")
    panel.get_by_role("button", name="Close").click()
    expect(panel.locator("#report")).to_have_count(0)
    page.set_viewport_size(PHONE)
    screenshot(page, "5-phone")

    assert status_of("Good chat A") == EnrichmentStatus.COMPLETED
    assert status_of("Good chat B") == EnrichmentStatus.NOT_STARTED
    assert status_of("Broken chat") == EnrichmentStatus.VALIDATION_FAILED
