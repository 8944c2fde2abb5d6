"""The admin's change lists in a real browser (headless system Chromium) at 1280 × 900:
every column is on screen, nothing cut to "Compl…". Screenshots go to
test-artifacts/pages/<test name>/."""

import pytest
from playwright.sync_api import expect

from conversations.models import BatchJobStatus, EnrichmentStatus
from enrichment.models import RunSource, RunStatus
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    EnrichmentRunFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_JOB = "Demo: financial-planning conversations generated overnight for the Q3 review #12"
LISTS = {
    "conversations": "/admin/conversations/conversation/",
    "runs": "/admin/enrichment/enrichmentrun/",
    "batch-jobs": "/admin/conversations/batchjob/",
}


def realistic_rows(staff) -> None:
    owner = UserFactory(username="dana.montgomery-richardson")
    for n in range(5):
        job = BatchJobFactory(
            created_by=owner,
            name=f"{LONG_JOB} part {n}",
            status=BatchJobStatus.COMPLETED,
            total_items=1200,
            completed_items=1200,
            successful_items=1187,
            failed_items=13,
        )
        conversation = ConversationFactory(
            created_by=owner,
            conversation_name=f"Windfall allocation with a cautious saver, session {n} "
            "(follow-up about emergency funds and a 529 plan)",
            enrichment_status=EnrichmentStatus.NORMALIZATION_FAILED,
        )
        BatchItemFactory(batch_job=job, position=1, conversation=conversation)
        EnrichmentRunFactory(
            created_by=staff,
            source=RunSource.AUTO,
            description=f"Batch job “{job.name}”",
            status=RunStatus.COMPLETED,
            total=1187,
            enriched=1100,
            failed=80,
            skipped=7,
        )


@pytest.mark.parametrize("name", list(LISTS))
def test_an_admin_change_list_fits_1280_by_900(page, live_server, log_in, screenshot, name):
    staff = UserFactory(username="root", is_staff=True, is_superuser=True)
    realistic_rows(staff)
    log_in(page, "root")

    page.goto(LISTS[name])

    table = page.locator("#result_list")
    expect(table.locator("tbody tr")).to_have_count(5)
    screenshot(page, name)
    results = page.locator("#changelist .results")
    overflow = results.evaluate("r => r.scrollWidth - r.clientWidth")
    assert overflow <= 0, f"{name}: the table is {overflow}px wider than its box"
    right = table.evaluate("t => t.getBoundingClientRect().right")
    assert right <= 1280
    headers = table.locator("thead th")
    cut = headers.evaluate_all(
        "ths => ths.filter(th => th.scrollWidth > th.clientWidth + 1).map(th => th.innerText)"
    )
    assert cut == []
