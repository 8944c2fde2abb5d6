"""Conversations coming in, in a real browser (headless system Chromium): a person uploads
files (the picker, then a drop) and watches the job get enriched; a job page follows
items a generator adds through the API. The test thread plays the worker with
``lanes.process_run``. Screenshots go to test-artifacts/pages/<test name>/."""

import json
import re

import pytest
from playwright.sync_api import expect

from conversations.models import BatchJob, Conversation, EnrichmentStatus
from enrichment.models import EnrichmentRun
from enrichment.runs import lanes
from intake.items import NewItem, add_items, create_batch_job, finish_job
from tests.factories import TRUNCATED_REPLY, UserFactory, conversation_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def payload(name: str, content: bytes | dict) -> dict:
    if isinstance(content, dict):
        content = json.dumps(content, indent=2).encode()
    return {"name": name, "mimeType": "application/json", "buffer": content}


def drop_files(page, selector: str, files: dict[str, str]) -> None:
    """Drop files on an element the way a person drags them from their desktop."""
    page.evaluate(
        """([selector, files]) => {
            const zone = document.querySelector(selector);
            const transfer = new DataTransfer();
            for (const [name, text] of Object.entries(files)) {
                transfer.items.add(new File([text], name, {type: "application/json"}));
            }
            for (const type of ["dragenter", "dragover", "drop"]) {
                const options = {bubbles: true, cancelable: true, dataTransfer: transfer};
                zone.dispatchEvent(new DragEvent(type, options));
            }
        }""",
        [selector, files],
    )


def test_a_person_uploads_files_previews_them_and_watches_the_job_get_enriched(
    page, log_in, screenshot
):
    UserFactory(username="dana")
    first = conversation_document(session_context="First upload.")
    log_in(page, "dana")
    page.get_by_role("link", name="New batch job").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New batch job")
    screenshot(page, "0-empty")

    page.get_by_label("Drop conversation files here or choose them:").set_input_files(
        [
            payload("savings-chat.json", first),
            payload("cut-off.json", TRUNCATED_REPLY),
        ]
    )
    preview = page.locator("#preview")
    expect(preview.locator("tbody tr")).to_have_count(2)
    expect(preview).to_contain_text("2 conversations will be imported, 1 of them not valid JSON")
    drop_files(
        page,
        "[data-dropzone]",
        {
            "budget-chat.json": json.dumps(conversation_document(session_context="Dropped.")),
            "same-again.json": json.dumps(first),
        },
    )
    expect(preview.locator("tbody tr")).to_have_count(4)
    expect(preview).to_contain_text("3 conversations will be imported")
    expect(preview).to_contain_text("1 duplicate will be skipped")
    expect(preview.locator(".preview-row--duplicate")).to_contain_text(
        "same-again.json: same content as savings-chat.json in the same import"
    )
    page.get_by_label("Name").fill("Files from Dana")
    screenshot(page, "1-preview")

    page.get_by_role("button", name="Import").click()

    page.wait_for_url(re.compile(r"/batch-jobs/[0-9a-f-]+/$"))
    job = BatchJob.objects.get()
    expect(page).to_have_url(re.compile(rf"/batch-jobs/{job.pk}/$"))
    expect(page.locator(".messages")).to_contain_text(
        "Imported 3 conversations into “Files from Dana”."
    )
    expect(page.locator(".messages")).to_contain_text("1 duplicate file skipped.")
    expect(page.locator("#items tbody tr")).to_have_count(3)
    panel = page.locator("#enrichment")
    expect(panel).to_contain_text("Waiting for a worker.")
    screenshot(page, "2-imported")

    lanes.process_run(EnrichmentRun.objects.get().pk)

    expect(panel.locator(".result__summary")).to_contain_text("Enriched: 2, Failed: 1, Skipped: 0")
    expect(page.locator("#items .badge--completed")).to_have_count(2)
    expect(page.locator("#item-2 .error-text")).to_contain_text("Enrichment: Validation failed")
    expect(panel.get_by_role("button", name="Retry failed")).to_be_visible()
    expect(panel.get_by_role("button", name="Enrich All")).to_have_count(0)
    screenshot(page, "3-enriched")
    assert job.items.count() == 3
    assert Conversation.objects.filter(enrichment_status=EnrichmentStatus.COMPLETED).count() == 2


def test_a_refused_file_is_named_and_nothing_is_imported(page, log_in, screenshot):
    UserFactory(username="dana")
    log_in(page, "dana")
    page.goto("/batch-jobs/new/")

    page.get_by_label("Drop conversation files here or choose them:").set_input_files(
        [payload("good.json", conversation_document()), payload("empty.json", b"")]
    )
    expect(page.locator("#preview")).to_contain_text("1 of 2 files cannot be imported")
    expect(page.locator("#preview")).to_contain_text("empty.json: is empty")
    page.get_by_role("button", name="Import").click()

    expect(page.locator("#preview .result--error")).to_contain_text("empty.json: is empty")
    screenshot(page, "refused")
    assert BatchJob.objects.count() == 0
    assert Conversation.objects.count() == 0


def test_a_refused_file_can_be_left_out_and_the_rest_imported(page, log_in, screenshot):
    UserFactory(username="dana")
    log_in(page, "dana")
    page.goto("/batch-jobs/new/")
    picker = page.get_by_label("Drop conversation files here or choose them:")
    picker.set_input_files(
        [
            payload("good.json", conversation_document()),
            payload("empty.json", b""),
            payload("other.json", conversation_document(session_context="Other.")),
        ]
    )
    preview = page.locator("#preview")
    expect(preview).to_contain_text("1 of 3 files cannot be imported")

    # Import refused: the picker keeps its files, so it and the preview agree.
    page.get_by_role("button", name="Import").click()
    expect(preview.locator(".result--error")).to_contain_text("empty.json: is empty")
    assert picker.evaluate("input => input.files.length") == 3
    expect(preview.locator("tbody tr")).to_have_count(3)
    assert BatchJob.objects.count() == 0

    preview.get_by_role("button", name="Leave out empty.json").first.click()

    expect(preview).to_contain_text("2 conversations will be imported")
    expect(preview.locator("tbody tr")).to_have_count(2)
    expect(preview).not_to_contain_text("empty.json")
    assert picker.evaluate("input => [...input.files].map(f => f.name)") == [
        "good.json",
        "other.json",
    ]
    screenshot(page, "left-out")
    page.get_by_role("button", name="Import").click()

    page.wait_for_url(re.compile(r"/batch-jobs/[0-9a-f-]+/$"))
    job = BatchJob.objects.get()
    expect(page).to_have_url(re.compile(rf"/batch-jobs/{job.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("Imported 2 conversations")
    assert job.items.count() == 2


def test_the_job_page_follows_items_as_a_generator_adds_them(page, log_in, screenshot):
    owner = UserFactory(username="dana")
    job = create_batch_job(owner=owner, name="Live generator")
    log_in(page, "dana")
    page.goto(f"/batch-jobs/{job.pk}/")
    progress = page.locator("#progress")
    expect(progress).to_contain_text("0 items received so far; waiting for the first.")
    expect(page.locator("#items")).to_contain_text("This job has no items.")

    add_items(job, [NewItem(conversation=conversation_document()), NewItem(error="timeout")])

    expect(progress).to_contain_text("2 items received so far.")
    expect(page.locator("#items tbody tr")).to_have_count(2)
    add_items(job, [NewItem(raw="{not json")])
    expect(progress).to_contain_text("3 items received so far.")
    expect(page.locator("#items tbody tr")).to_have_count(3)
    expect(progress.locator(".stats")).to_contain_text("Generation failed")
    screenshot(page, "0-receiving")

    finish_job(job, status="completed")

    expect(page.locator("h1 .badge")).to_have_text("Completed")
    expect(progress).to_contain_text("3 / 3 processed")
    screenshot(page, "1-completed")


def test_files_over_the_upload_limit_are_refused_before_they_are_sent(
    page, log_in, settings, screenshot
):
    settings.UPLOAD_MAX_BYTES = 1_000_000
    UserFactory(username="dana")
    log_in(page, "dana")
    page.goto("/batch-jobs/new/")
    sent = []
    page.on(
        "request", lambda request: sent.append(request.url) if "preview" in request.url else None
    )

    page.get_by_label("Drop conversation files here or choose them:").set_input_files(
        [
            payload("big.json", b" " * 700_000 + b"{}"),
            payload("bigger.json", b"{}" + b" " * 400_000),
        ]
    )

    alert = page.locator("#preview [role=alert]")
    expect(alert).to_have_text(
        "These files add up to 1.0\u00a0MB; one upload takes at most 976.6\u00a0KB "
        "(1,000,000 bytes): import them in parts."
    )
    screenshot(page, "too-big")
    assert not [url for url in sent if "/batch-jobs/new/" in url]
    assert not BatchJob.objects.exists()


def test_a_refusal_from_a_server_in_front_is_shown_where_the_answer_would_go(page, log_in):
    UserFactory(username="dana")
    log_in(page, "dana")
    page.goto("/batch-jobs/new/")
    # A proxy in front that refuses the body with its own page (nginx's 413 is HTML).
    page.route(
        "**/batch-jobs/new/preview/",
        lambda route: route.fulfill(
            status=413, content_type="text/html", body="<html>413 Request Entity Too Large</html>"
        ),
    )

    page.get_by_label("Drop conversation files here or choose them:").set_input_files(
        [payload("savings-chat.json", conversation_document())]
    )

    expect(page.locator("#preview [role=alert]")).to_contain_text(
        "The server refused the request as too large (413): nothing was changed."
    )
    assert not Conversation.objects.exists()
