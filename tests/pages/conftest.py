"""Fixtures of the page tests: users, a logged-in client, batch jobs with conversations,
and a headless Chromium for the browser tests."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus
from tests.factories import (
    TRUNCATED_REPLY,
    BatchItemFactory,
    BatchJobFactory,
    UserFactory,
    conversation_document,
)

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "pages"
PASSWORD = "password"


@pytest.fixture
def user(db):
    return UserFactory(username="dana")


@pytest.fixture
def other_user(db):
    return UserFactory(username="mallory")


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


def _make_job(
    owner,
    *,
    valid: int = 2,
    invalid: int = 0,
    status: str = BatchJobStatus.COMPLETED,
    name: str = "March windfall batch",
) -> BatchJob:
    """A finished job whose items produced ``valid`` good and ``invalid`` unparseable
    conversations (in that order), all not enriched yet."""
    total = valid + invalid
    job = BatchJobFactory(
        created_by=owner,
        name=name,
        status=status,
        total_items=total,
        completed_items=total,
        successful_items=total,
    )
    for n in range(valid):
        BatchItemFactory(
            batch_job=job,
            position=n + 1,
            conversation__conversation_name=f"Valid chat {n + 1}",
            conversation__document=conversation_document(),
        )
    for n in range(invalid):
        BatchItemFactory(
            batch_job=job,
            position=valid + n + 1,
            conversation__conversation_name=f"Truncated chat {n + 1}",
            conversation__document=TRUNCATED_REPLY,
        )
    return job


@pytest.fixture
def make_job(db):
    return _make_job


@pytest.fixture
def failed_item_factory():
    def make(job: BatchJob, position: int, error: str = "The model timed out."):
        return BatchItemFactory(
            batch_job=job,
            position=position,
            status=BatchItemStatus.FAILED,
            conversation=None,
            error_message=error,
        )

    return make


# Browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; Django refuses sync ORM
    # calls while one runs, but the tests (and the fixtures) need them. Module scope: the
    # override ends with the browser tests.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()


class AssetWatch:
    """Stylesheets and scripts a page asked for that did not arrive: ``failures`` maps
    each URL to its status (4xx/5xx) or its network error (Chromium aborts a stylesheet
    that answers with an HTML error page)."""

    KINDS = {"stylesheet", "script"}

    def __init__(self, context) -> None:
        self.failures: dict[str, str] = {}
        context.on("response", self._response)
        context.on("requestfailed", self._failed)

    def _response(self, response) -> None:
        if response.request.resource_type in self.KINDS and response.status >= 400:
            self.failures[response.url] = str(response.status)

    def _failed(self, request) -> None:
        if request.resource_type in self.KINDS:
            self.failures.setdefault(request.url, request.failure or "failed")


def open_page(browser, base_url: str):
    """A fresh browser context on ``base_url``: (page, its asset watch)."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    return context.new_page(), AssetWatch(context)


@pytest.fixture
def page(browser, live_server):
    page, assets = open_page(browser, live_server.url)
    yield page
    page.context.close()
    assert assets.failures == {}, "stylesheets or scripts did not load"


@pytest.fixture
def screenshot(request):
    """Save a full-page screenshot as a test artefact: ``screenshot(page, "name")``."""
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def log_in():
    """Log in through the login form: ``log_in(page, "dana")``."""

    def submit(page, username: str, password: str = PASSWORD) -> None:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/batch-jobs/")

    return submit
