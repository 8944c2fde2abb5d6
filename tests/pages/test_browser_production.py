"""Every page, the admin and the API docs in a real browser against bin/serve in
production mode (gunicorn, DJANGO_DEBUG=false, static files hashed and served by
whitenoise): styled, scripts running, no stylesheet or script missing, and Enrich All."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from conversations.models import EnrichmentStatus
from enrichment.models import EnrichmentRun
from enrichment.pipeline.run import enrich_conversations
from enrichment.runs import lanes
from tests.factories import UserFactory
from tests.pages.conftest import open_page
from tests.servers import give_password, production_env, start_web

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
]

HASHED = re.compile(r"/static/.+\.[0-9a-f]{12}\.(css|js)$")


@pytest.fixture(scope="module")
def server(test_database, static_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("production-pages")
    env = production_env(media_root=folder / "media", static_root=static_root, DJANGO_HTTPS="false")
    web = start_web(env, folder / "serve.log")
    web.media_root = folder / "media"
    yield web
    web.stop()


class PolicyWatch:
    """What the Content-Security-Policy blocked on any page of a context: the browser's
    console reports and the pages' own ``securitypolicyviolation`` events; and every
    HTML page answered without the policy."""

    def __init__(self, context) -> None:
        self.violations: list[str] = []
        self.unprotected: list[str] = []
        context.add_init_script(
            """document.addEventListener("securitypolicyviolation", e =>
                 console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));"""
        )
        context.on("console", self._console)
        context.on("response", self._response)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "CSP violation" in message.text:
            where = message.page.url if message.page else message.location.get("url", "")
            self.violations.append(f"{where}: {message.text}")

    def _response(self, response) -> None:
        kind = response.headers.get("content-type", "")
        policy = response.headers.get("content-security-policy", "")
        html = response.request.resource_type == "document" and kind.startswith("text/html")
        if html and "default-src 'self'" not in policy:
            self.unprotected.append(response.url)


@pytest.fixture
def prod(browser, server, media_root):
    """A page on the production server; this test's files go where the server reads."""
    settings.MEDIA_ROOT = server.media_root
    page, assets = open_page(browser, server.url)
    policy = PolicyWatch(page.context)
    yield page
    page.context.close()
    assert assets.failures == {}, "stylesheets or scripts did not load"
    assert policy.violations == [], "the Content-Security-Policy blocked something"
    assert policy.unprotected == [], "pages answered without the Content-Security-Policy"


def assert_styled_with_hashed_assets(page) -> None:
    # app.css: no body margin, 15px text (a browser's own defaults: 8px, 16px).
    body = page.evaluate(
        "() => [getComputedStyle(document.body).marginTop,"
        " getComputedStyle(document.body).fontSize]"
    )
    assert body == ["0px", "15px"]
    assets = page.evaluate(
        "() => Array.from(document.querySelectorAll('link[rel=stylesheet], script[src]'),"
        " e => e.href || e.src)"
    )
    assert len(assets) == 3
    assert all(HASHED.search(url) for url in assets), assets
    assert page.evaluate("() => typeof window.htmx") == "object"


def test_every_page_is_styled_and_scripted_in_production_mode(prod, log_in, make_job, screenshot):
    owner = UserFactory(username="dana", is_staff=True, is_superuser=True)
    give_password(owner)
    job = make_job(owner, valid=2, invalid=1, name="March windfall batch")

    prod.goto("/accounts/login/")
    assert_styled_with_hashed_assets(prod)
    log_in(prod, "dana")
    assert_styled_with_hashed_assets(prod)
    screenshot(prod, "0-batch-jobs")

    prod.get_by_role("link", name="March windfall batch").click()
    expect(prod.get_by_role("heading", level=1)).to_contain_text("March windfall batch")
    assert_styled_with_hashed_assets(prod)
    enrich_all = prod.get_by_role("button", name="Enrich All")
    enrich_all.click()
    expect(prod.locator("#enrichment .result__summary")).to_contain_text(
        "Enriched: 2, Failed: 1, Skipped: 0"
    )
    expect(prod.locator("#items .badge--completed")).to_have_count(2)
    expect(prod.locator("#items .badge--validation_failed")).to_have_count(1)
    assert prod.url.endswith(f"/batch-jobs/{job.pk}/")  # swapped in place by htmx
    screenshot(prod, "1-enriched")

    prod.get_by_role("link", name="Conversations", exact=True).click()
    assert_styled_with_hashed_assets(prod)
    broken = prod.locator("tr", has_text="Truncated chat 1")
    broken.get_by_role("link", name="Report").click()
    expect(prod.locator("#report-panel")).to_contain_text("INVALID_JSON_SYNTAX")
    prod.get_by_label("Enrichment status").select_option("validation_failed")
    expect(prod.locator("#conversation-table tbody tr")).to_have_count(1)
    prod.get_by_role("button", name="Enrich all matching this filter").click()
    prod.wait_for_url(re.compile(r"/runs/[0-9a-f-]+/$"))
    assert_styled_with_hashed_assets(prod)
    lanes.process_run(EnrichmentRun.objects.get().pk)
    expect(prod.locator("#run .result__summary")).to_contain_text(
        "Enriched: 0, Failed: 1, Skipped: 0"
    )
    screenshot(prod, "2-run")
    prod.get_by_role("link", name="Runs", exact=True).click()
    expect(prod.locator("#runs tbody tr")).to_have_count(1)
    assert_styled_with_hashed_assets(prod)

    prod.get_by_role("link", name="Admin").click()
    expect(prod.locator("#header")).to_be_visible()
    header = prod.evaluate("() => getComputedStyle(document.querySelector('#header')).display")
    assert header == "flex"  # the admin's stylesheet, not the browser's block default
    prod.goto("/admin/conversations/conversation/")
    expect(prod.locator("#result_list tbody tr")).to_have_count(3)
    screenshot(prod, "3-admin")

    prod.goto("/api/docs/")
    expect(prod.locator(".swagger-ui .opblock").first).to_be_visible()
    assert prod.locator(".swagger-ui .opblock").count() >= 10
    expect(prod.locator(".swagger-ui .opblock-summary-description").first).not_to_be_empty()
    expect(prod.get_by_role("link", name="Back to the site")).to_be_visible()
    screenshot(prod, "4-api-docs")

    statuses = sorted(job.items.values_list("conversation__enrichment_status", flat=True))
    assert statuses == [
        EnrichmentStatus.COMPLETED,
        EnrichmentStatus.COMPLETED,
        EnrichmentStatus.VALIDATION_FAILED,
    ]


def test_a_stylesheet_or_script_that_answers_404_fails_the_page_check(browser, server):
    page, assets = open_page(browser, server.url)
    try:
        page.goto("/accounts/login/")
        page.evaluate(
            """() => {
              const link = document.createElement("link");
              link.rel = "stylesheet";
              link.href = "/static/css/missing.css";
              document.head.append(link);
              const script = document.createElement("script");
              script.src = "/static/js/missing.js";
              document.head.append(script);
            }"""
        )
        page.wait_for_load_state("networkidle")
    finally:
        page.context.close()

    assert assets.failures == {
        f"{server.url}/static/css/missing.css": "net::ERR_ABORTED",
        f"{server.url}/static/js/missing.js": "404",
    }


def test_a_missing_page_has_the_site_layout_and_a_way_back(prod, log_in):
    give_password(UserFactory(username="dana"))
    log_in(prod, "dana")

    response = prod.goto("/no-such-page/")

    assert response.status == 404
    expect(prod.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(prod.locator("main")).to_contain_text("There is no page at /no-such-page/")
    assert_styled_with_hashed_assets(prod)
    expect(prod.get_by_role("navigation", name="Main")).to_be_visible()
    prod.locator("main").get_by_role("link", name="the batch jobs").click()
    expect(prod.get_by_role("heading", level=1)).to_have_text("Batch jobs")


def test_a_missing_batch_job_says_so_on_the_site_layout(prod, log_in):
    give_password(UserFactory(username="dana"))
    log_in(prod, "dana")

    response = prod.goto("/batch-jobs/00000000-0000-4000-8000-000000000000/")

    assert response.status == 404
    expect(prod.locator("main")).to_contain_text("(No such batch job.)")
    assert_styled_with_hashed_assets(prod)


def assert_scripts_hashed(page, script: str) -> None:
    """Styled, every asset hashed, and the page's own ``script`` among them."""
    body = page.evaluate("() => getComputedStyle(document.body).fontSize")
    assert body == "15px"
    assets = page.evaluate(
        "() => Array.from(document.querySelectorAll('link[rel=stylesheet], script[src]'),"
        " e => e.href || e.src)"
    )
    assert all(HASHED.search(url) for url in assets), assets
    assert any(f"/{script.removesuffix('.js')}." in url for url in assets), assets


def test_review_generate_and_repair_pages_run_their_scripts_in_production_mode(
    prod, log_in, make_job, screenshot
):
    owner = UserFactory(username="dana")
    give_password(owner)
    job = make_job(owner, valid=2, invalid=1, name="Review me")
    enrich_conversations(list(job.items.values_list("conversation_id", flat=True)))
    log_in(prod, "dana")

    prod.goto("/review/")
    assert_scripts_hashed(prod, "review.js")
    expect(prod.locator("[data-stat=pending]")).to_have_text("2")
    prod.keyboard.press("a")  # review.js, under the Content-Security-Policy
    expect(prod.locator("#review-notice")).to_contain_text("Approved: “Valid chat")
    screenshot(prod, "review")

    prod.goto("/batch-jobs/generate/")
    assert_scripts_hashed(prod, "generate.js")

    failed = job.items.get(conversation__enrichment_status="validation_failed").conversation
    prod.goto(f"/conversations/{failed.pk}/")
    expect(prod.locator("#failure-advice")).to_contain_text("correct its text")
    prod.locator("#failure-advice").get_by_role("link", name="Replace the file").click()
    expect(prod.locator("#replace")).to_be_visible()
    assert_scripts_hashed(prod, "app.js")
    screenshot(prod, "repair")
