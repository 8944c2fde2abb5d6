"""A person raises the budget of a generation job paused for it, in a real browser
(headless system Chromium): the Resume form offers the budget, prefilled; the new one is
typed and sent, and the panel and the header's state show the job running again. No worker runs.
Screenshots go to test-artifacts/pages/<test name>/."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from conversations.imports import import_scaffolding
from devtools.demo.generator import scaffolding_paths
from generation import batches
from generation.jobs import GenerationRequest, create_generation_job
from generation.models import GenerationSettings
from generation.providers import get_provider
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def job(settings, fake_anthropic):
    settings.GENERATION_PRICES = {}
    import_scaffolding(scaffolding_paths())
    job = create_generation_job(
        UserFactory(username="dana"),
        GenerationRequest(
            name="Tax season",
            persona_keys=["gig_juggler"],
            arc_keys=["dread_to_relief"],
            topic_keys=["freelancer_quarterly_taxes", "emergency_fund_rebuild"],
            mode="batch",
            max_tokens=8000,
        ),
    )
    GenerationSettings.objects.filter(batch_job=job).update(budget_usd=Decimal("0.0001"))
    assert batches.submit(job.pk, get_provider()) == []
    return job


def test_a_person_raises_the_budget_of_a_job_paused_for_it(page, log_in, screenshot, job):
    log_in(page, "dana")
    page.goto(f"/batch-jobs/{job.pk}/")
    panel = page.locator("#generation")
    expect(panel).to_contain_text("Submission paused: Budget reached: 0 USD spent of 0.0001")
    state = page.locator("h1 #generation-state")
    expect(state).to_have_text(
        "Paused: Budget reached: 0 USD spent of 0.0001, and the next "
        "requests would pass it. Resume with a higher budget to go on."
    )
    budget = panel.get_by_label("New budget (USD)")
    expect(budget).to_have_value("0.0001")
    screenshot(page, "1-paused-for-budget")

    budget.fill("2.5")
    panel.get_by_role("button", name="Resume with this budget").click()

    notice = page.locator("#generation-notice")
    expect(notice).to_contain_text("Budget: 2.5 USD. Resumed (it was paused: Budget reached")
    expect(page.locator("#generation-cost")).to_contain_text("of $2.50 budget")
    expect(panel.get_by_role("button", name="Pause")).to_be_visible()
    expect(panel.get_by_label("New budget (USD)")).to_have_count(0)
    # The header's "Paused" badge went with the pause (replaced out of band).
    expect(state).to_be_empty()
    expect(page.locator("h1 .badge")).to_have_count(1)
    screenshot(page, "2-resumed")
    settings = GenerationSettings.objects.get(batch_job=job)
    assert (settings.budget_usd, settings.paused_reason) == (Decimal("2.5"), "")
