"""The Generation panel's buttons in a real browser (headless system Chromium): a person
pauses a generation job from the keyboard, resumes it, cancels it; and retries a job's
failed generations. Each press waits for its visible result before the next. No worker
runs: the job stays where the buttons put it. Screenshots go to
test-artifacts/pages/<test name>/."""

import pytest
from playwright.sync_api import expect

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus, BatchJobStatus
from devtools.demo.generator import scaffolding_paths
from generation.jobs import GenerationRequest, create_generation_job
from intake.lifecycle import finish_batch_job
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def job(settings):
    settings.GENERATION_PRICES = {}
    import_scaffolding(scaffolding_paths())
    return create_generation_job(
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


def test_a_person_pauses_resumes_and_cancels_a_generation_job(page, log_in, screenshot, job):
    log_in(page, "dana")
    page.goto(f"/batch-jobs/{job.pk}/")
    panel = page.locator("#generation")
    pause = panel.get_by_role("button", name="Pause")
    expect(pause).to_be_visible()
    expect(panel.get_by_role("button", name="Resume")).to_have_count(0)

    # From the keyboard: the notice that answers takes the focus.
    pause.focus()
    page.keyboard.press("Enter")
    notice = page.locator("#generation-notice")
    expect(notice).to_contain_text("Paused: nothing more is sent")
    expect(notice).to_be_focused()
    expect(panel).to_contain_text("Submission paused: Paused by dana.")
    expect(panel.get_by_role("button", name="Pause")).to_have_count(0)
    screenshot(page, "1-paused")

    panel.get_by_role("button", name="Resume").click()
    expect(notice).to_contain_text("Resumed (it was paused: Paused by dana.)")
    expect(panel.get_by_role("button", name="Pause")).to_be_visible()

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    panel.get_by_role("button", name="Cancel generation").click()
    # Nothing was at the provider: the job ends at once, and the page reloads with it.
    expect(page.locator(".messages")).to_contain_text(
        "Job cancelled: 2 items not generated yet cancelled."
    )
    expect(page.locator("h1 .badge")).to_have_text("Cancelled")
    expect(page.locator("#items .badge--item-cancelled")).to_have_count(2)
    expect(page.locator("#generation button")).to_have_count(0)
    assert asked and "Cancel this generation job?" in asked[0]
    screenshot(page, "2-cancelled")
    job.refresh_from_db()
    assert job.status == BatchJobStatus.CANCELLED


def test_a_person_retries_the_failed_generations_of_an_ended_job(page, log_in, screenshot, job):
    job.items.filter(position=1).update(status=BatchItemStatus.FAILED, error_message="Refused")
    job.items.filter(position=2).update(status=BatchItemStatus.COMPLETED)
    finish_batch_job(job)
    log_in(page, "dana")
    page.goto(f"/batch-jobs/{job.pk}/")
    panel = page.locator("#generation")
    expect(panel.get_by_role("button", name="Pause")).to_have_count(0)

    panel.get_by_role("button", name="Retry failed generations (1)").click()

    expect(page.locator(".messages")).to_contain_text(
        "1 item whose generation failed will be generated again."
    )
    expect(page.locator("h1 .badge")).to_have_text("Processing")
    expect(page.locator("#item-1 .badge")).to_have_text("Queued")
    expect(panel.get_by_role("button", name="Pause")).to_be_visible()
    screenshot(page, "1-retried")
