"""Fixtures of the page tests: a headless Chromium for the browser tests (users and batch
jobs with conversations are the suite's, in tests/conftest.py)."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import PASSWORD  # noqa: F401 (the browser tests log in with it)

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


def pick(select, *values, **options) -> None:
    """``select_option`` as a person does it, after a real click on the page: Chromium
    skips, on Back, a history entry that a page pushed without a user gesture, and
    ``select_option`` changes the value without one (so whether Back skipped the entry
    depended on how long ago the last real click was)."""
    select.page.locator("h1").first.click()
    select.select_option(*values, **options)
