"""A background run seen from the pages while it goes on: the job's items table and the
run's failures follow each poll that saw conversations processed, not only the last one.
The test thread plays the worker a chunk at a time (``lanes.process_chunk``), so the run
is caught half done."""

import uuid

import pytest
from playwright.sync_api import expect

from enrichment.models import EnrichmentRun
from enrichment.runs import lanes
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLLING = "every 1s"


def test_the_items_table_follows_a_run_as_it_goes(page, log_in, make_job, screenshot, settings):
    settings.ENRICHMENT_BULK_LIMIT = 1
    settings.ENRICHMENT_RUN_CHUNK_SIZE = 2
    owner = UserFactory(username="dana")
    job = make_job(owner, valid=4, invalid=1)
    log_in(page, "dana")
    page.goto(f"/batch-jobs/{job.pk}/")
    page.get_by_role("button", name="Enrich All").click()
    panel = page.locator("#enrichment")
    expect(panel.locator(".progress-line")).to_have_text("0 / 5 processed")
    expect(page.locator("#items .badge--not_started")).to_have_count(5)
    run = EnrichmentRun.objects.get()

    assert lanes.process_chunk(run.pk, token=uuid.uuid4()) == lanes.MORE

    # Half way: the run still polls, and the enriched rows already say so.
    expect(panel.locator(".progress-line")).to_have_text("2 / 5 processed")
    expect(panel).to_have_attribute("hx-trigger", POLLING)
    expect(page.locator("#items .badge--completed")).to_have_count(2)
    expect(page.locator("#items .badge--not_started")).to_have_count(3)
    screenshot(page, "1-half-way")

    lanes.process_run(run.pk)

    expect(panel.locator(".result__summary")).to_contain_text("Enriched: 4, Failed: 1")
    expect(panel).not_to_have_attribute("hx-trigger", POLLING)
    expect(page.locator("#items .badge--completed")).to_have_count(4)
    expect(page.locator("#items .badge--validation_failed")).to_have_count(1)
    expect(page.locator("#items .badge--enrichment_in_progress")).to_have_count(0)
    screenshot(page, "2-finished")


def test_the_run_page_failures_follow_the_run(page, log_in, make_job, settings):
    settings.ENRICHMENT_BULK_LIMIT = 1
    settings.ENRICHMENT_RUN_CHUNK_SIZE = 2
    owner = UserFactory(username="dana")
    job = make_job(owner, valid=1, invalid=3)
    log_in(page, "dana")
    page.goto(f"/batch-jobs/{job.pk}/")
    page.get_by_role("button", name="Enrich All").click()
    page.get_by_role("link", name="Run details").click()
    expect(page.locator("#failures .empty")).to_have_text("No failures so far.")
    run = EnrichmentRun.objects.get()

    lanes.process_chunk(run.pk, token=uuid.uuid4())

    expect(page.locator("#run .progress-line")).to_have_text("2 / 4 processed")
    expect(page.locator("#failures tbody tr")).to_have_count(1)

    lanes.process_run(run.pk)

    expect(page.locator("#failures tbody tr")).to_have_count(3)
    expect(page.locator("#failures").get_by_role("button", name="Retry failed")).to_be_visible()
