"""Background runs in a real browser (headless system Chromium): "Enrich All" on a job
over the bulk limit, the polling progress bar, its summary, the run page, "Retry failed"
and "Enrich all matching this filter". The test thread plays the worker with
``lanes.process_run``. Screenshots go to test-artifacts/pages/<test name>/."""

import re

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation, EnrichmentStatus
from enrichment.models import EnrichmentRun, RunStatus
from enrichment.runs import lanes
from tests.factories import TRUNCATED_REPLY, ConversationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLLING = "every 1s"


def test_enrich_all_over_the_limit_polls_a_background_run_to_its_summary(
    page, log_in, make_job, screenshot, settings
):
    settings.ENRICHMENT_BULK_LIMIT = 3
    owner = UserFactory(username="dana")
    job = make_job(owner, valid=4, invalid=1, name="Big March batch")
    log_in(page, "dana")
    page.goto(f"/batch-jobs/{job.pk}/")

    page.get_by_role("button", name="Enrich All").click()

    panel = page.locator("#enrichment")
    expect(panel.locator(".progress-line")).to_have_text("0 / 5 processed")
    expect(panel).to_have_attribute("hx-trigger", POLLING)
    expect(panel.get_by_role("button", name="Cancel run")).to_be_visible()
    expect(panel.get_by_role("button", name="Enrich All")).to_have_count(0)
    expect(page.locator("#items .badge--not_started")).to_have_count(5)
    screenshot(page, "1-run-started")
    run = EnrichmentRun.objects.get()
    assert (run.total, run.batch_job_id) == (5, job.pk)

    lanes.process_run(run.pk)

    expect(panel.locator(".result__summary")).to_contain_text(
        "Enrichment finished. Enriched: 4, Failed: 1, Skipped: 0"
    )
    expect(panel).not_to_have_attribute("hx-trigger", POLLING)
    expect(panel.get_by_role("button", name="Cancel run")).to_have_count(0)
    expect(panel.locator(".stat--ok dd")).to_have_text("4")
    expect(panel.locator(".failures li")).to_contain_text("INVALID_JSON_SYNTAX")
    # The last poll tells the items table to reload its badges.
    expect(page.locator("#items .badge--completed")).to_have_count(4)
    expect(page.locator("#items .badge--validation_failed")).to_have_count(1)
    screenshot(page, "2-run-finished")

    page.reload()
    expect(panel.locator(".result__summary")).to_contain_text("Enriched: 4, Failed: 1, Skipped: 0")
    panel.get_by_role("link", name="Run details").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Batch job “Big March batch”")
    failures = page.locator("#failures tbody tr")
    expect(failures).to_have_count(1)
    expect(failures).to_contain_text("Truncated chat 1")
    expect(failures).to_contain_text("Validation failed: INVALID_JSON_SYNTAX")
    screenshot(page, "3-run-page")

    page.get_by_role("button", name="Retry failed").click()
    page.wait_for_url(re.compile(rf"/runs/(?!{run.pk})[0-9a-f-]+/$"))
    expect(page.locator(".messages")).to_contain_text("Retrying 1 failed conversation")
    expect(page.locator("#run")).to_have_attribute("hx-trigger", POLLING)
    retry = EnrichmentRun.objects.get(retry_of=run)
    lanes.process_run(retry.pk)
    expect(page.locator("#run .result__summary")).to_contain_text(
        "Enriched: 0, Failed: 1, Skipped: 0"
    )
    expect(page.locator("#run .badge")).to_have_text("Completed")
    expect(page.locator("#failures tbody tr")).to_contain_text("Truncated chat 1")
    screenshot(page, "4-retry-finished")


def test_cancel_a_background_run_from_the_job_page(page, log_in, make_job, screenshot, settings):
    settings.ENRICHMENT_BULK_LIMIT = 1
    owner = UserFactory(username="dana")
    job = make_job(owner, valid=3)
    log_in(page, "dana")
    page.goto(f"/batch-jobs/{job.pk}/")
    page.get_by_role("button", name="Enrich All").click()
    expect(page.locator("#enrichment .progress-line")).to_have_text("0 / 3 processed")
    # It asks first; saying no leaves the run going.
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Cancel run").click()
    expect(page.get_by_role("button", name="Cancel run")).to_be_visible()
    assert asked and asked[0].startswith("Cancel this run?")
    assert EnrichmentRun.objects.get().status == RunStatus.QUEUED

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel run").click()

    summary = page.locator("#enrichment .result__summary")
    expect(summary).to_contain_text("Enrichment cancelled.")
    expect(summary).to_contain_text("Enriched: 0, Failed: 0, Skipped: 0; 3 not processed")
    expect(page.get_by_role("button", name="Enrich All")).to_be_visible()
    screenshot(page, "cancelled")
    assert EnrichmentRun.objects.get().status == RunStatus.CANCELLED


def test_enrich_all_matching_a_filter_opens_the_polling_run_page(page, log_in, screenshot):
    owner = UserFactory(username="dana")
    ConversationFactory(created_by=owner, conversation_name="Loan worries")
    ConversationFactory(created_by=owner, conversation_name="Loan payoff", document=TRUNCATED_REPLY)
    ConversationFactory(created_by=owner, conversation_name="Retirement")
    log_in(page, "dana")
    page.goto("/conversations/")
    page.get_by_label("Search").fill("loan")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page.locator("#conversation-table tbody tr")).to_have_count(2)
    expect(page.locator("#enrich-matching")).to_contain_text("2 conversations match")
    screenshot(page, "0-filtered")

    page.get_by_role("button", name="Enrich all matching this filter").click()

    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]+/$"))
    expect(page.locator(".messages")).to_contain_text("Started a background run over 2")
    expect(page.locator("#run .progress-line")).to_have_text("0 / 2 processed")
    screenshot(page, "1-run-page")
    run = EnrichmentRun.objects.get()
    lanes.process_run(run.pk)
    expect(page.locator("#run .result__summary")).to_contain_text(
        "Enriched: 1, Failed: 1, Skipped: 0"
    )
    expect(page.locator("#failures tbody tr")).to_contain_text("Loan payoff")
    screenshot(page, "2-run-finished")
    page.get_by_role("link", name="Runs", exact=True).click()
    expect(page.locator("#runs tbody tr")).to_have_count(1)
    expect(page.locator("#runs tbody tr")).to_contain_text("Enrich all matching: Search: “loan”")
    screenshot(page, "3-runs-list")
    statuses = dict(Conversation.objects.values_list("conversation_name", "enrichment_status"))
    assert statuses == {
        "Loan worries": EnrichmentStatus.COMPLETED,
        "Loan payoff": EnrichmentStatus.VALIDATION_FAILED,
        "Retirement": EnrichmentStatus.NOT_STARTED,
    }
