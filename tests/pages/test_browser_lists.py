"""The batch jobs list's search, status filter and sort in a real browser (headless
system Chromium): the table follows the form and the address follows the table."""

import pytest
from playwright.sync_api import expect

from tests.factories import BatchJobFactory, UserFactory
from tests.pages.conftest import pick

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_filter_and_sort_the_batch_jobs(page, log_in, screenshot):
    owner = UserFactory(username="dana")
    BatchJobFactory(created_by=owner, name="March windfall", status="completed")
    BatchJobFactory(created_by=owner, name="April windfall", status="processing")
    BatchJobFactory(created_by=owner, name="Budget basics", status="completed")
    log_in(page, "dana")
    rows = page.locator("#jobs tbody tr")
    expect(rows).to_have_count(3)

    page.get_by_label("Search").fill("windfall")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(rows).to_have_count(2)
    pick(page.get_by_label("Status"), "completed")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("March windfall")
    assert page.url.endswith("/batch-jobs/?q=windfall&status=completed&order=-created")

    pick(page.get_by_label("Status"), "")
    # Each change pushes a history entry once its answer is in: wait for it before the
    # next change, or the next request replaces this one and there is no entry to go to.
    expect(rows).to_have_count(2)
    pick(page.get_by_label("Sort"), "name")
    expect(rows.first).to_contain_text("April windfall")
    screenshot(page, "filtered")
    page.go_back()  # before the sort
    expect(rows).to_have_count(2)
    page.go_back()  # before "any status"
    expect(rows).to_have_count(1)
    expect(page.get_by_label("Status")).to_have_value("completed")
