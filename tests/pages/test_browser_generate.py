"""Generating conversations in a real browser (headless system Chromium): a person picks
personas (select all), an arc and a topic, sees a prompt, the problems and the estimate
before anything is created, generates, and lands on the job's page with its Generation
panel. Screenshots go to test-artifacts/pages/<test name>/."""

import re

import pytest
from playwright.sync_api import expect

from conversations.imports import import_scaffolding
from conversations.models import BatchJob
from devtools.demo.generator import scaffolding_paths
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scaffolding(settings, monkeypatch):
    settings.GENERATION_PRICES = {}
    settings.GENERATION_MODE = "batch"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")
    import_scaffolding(scaffolding_paths())


def test_a_person_previews_and_generates_a_job(page, log_in, screenshot, scaffolding):
    console_errors = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    UserFactory(username="dana")
    log_in(page, "dana")

    page.get_by_role("link", name="Generate", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Generate conversations")
    page.get_by_label("Name").fill("Tax season")
    personas = page.locator("#pick-personas")
    personas.get_by_label("Select all").check()
    # "Select all" ticks every persona (the page's script).
    for box in personas.locator('input[name="personas"]').all():
        expect(box).to_be_checked()
    page.locator("#pick-arcs").get_by_label("Embarrassment", exact=False).check()
    page.locator("#pick-topics").locator('input[name="topics"]').first.check()

    # An arc without a template: the preview names the problem before anything is made.
    preview = page.locator("#preview")
    expect(preview).to_contain_text("embarrassment_to_pride")
    expect(preview).to_contain_text("nothing can be generated until")
    screenshot(page, "1-problem")

    page.locator("#pick-arcs").get_by_label("Embarrassment", exact=False).uncheck()
    page.locator('#pick-arcs input[value="dread_to_relief"]').check()
    expect(preview).to_contain_text("3 conversations will be generated")
    expect(page.locator("#preview-prompt")).not_to_contain_text("{{")
    expect(page.locator("#estimate")).to_contain_text("$")
    screenshot(page, "2-preview")
    assert not BatchJob.objects.exists()

    page.get_by_role("button", name="Generate").click()
    page.wait_for_url(re.compile(r"/batch-jobs/[0-9a-f-]{36}/$"))
    job = BatchJob.objects.get()
    assert job.total_items == 3 and job.name == "Tax season"
    panel = page.locator("#generation")
    expect(panel).to_contain_text("Batch (half price")
    expect(panel).to_contain_text("3 in all: 3 waiting to be sent")
    screenshot(page, "3-job")
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
