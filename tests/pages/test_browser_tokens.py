"""The API tokens page in a real browser (headless system Chromium): create a token with
an expiry, copy the key shown once, call the API with it, revoke it; and the login lockout
as a person meets it. Screenshots go to test-artifacts/pages/<test name>/."""

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from core.models import ApiToken
from core.tokens import hash_key
from tests.factories import ConversationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def api_status(base_url: str, path: str, key: str) -> int:
    request = urllib.request.Request(f"{base_url}{path}", headers={"Authorization": f"Token {key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            json.load(response)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_user_creates_uses_and_revokes_a_token(page, log_in, live_server, screenshot):
    owner = UserFactory(username="dana")
    conversation = ConversationFactory(created_by=owner)
    status_path = f"/api/conversations/{conversation.pk}/enrich"
    log_in(page, "dana")

    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    expect(page.get_by_text("No API tokens yet.")).to_be_visible()
    page.get_by_label("Name").fill("nightly export")
    page.get_by_label("Expires").select_option(label="In 30 days")
    page.get_by_role("button", name="Create token").click()

    key_box = page.get_by_test_id("new-token-key")
    expect(key_box).to_be_visible()
    key = key_box.inner_text().strip()
    # "Copy" puts the key on the clipboard.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy = page.locator("#new-token button[data-copy]")
    expect(copy).to_have_text("Copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == key
    screenshot(page, "1-key-shown-once")
    token = ApiToken.objects.get(user=owner)
    assert (token.name, token.key_hash) == ("nightly export", hash_key(key))
    assert token.expires_at is not None
    row = page.locator(f"#token-{token.pk}")
    expect(row).to_contain_text("nightly export")
    expect(row).to_contain_text(f"{token.prefix}…")
    expect(row.locator("td[data-label='Last used']")).to_have_text("Never")
    assert api_status(live_server.url, status_path, key) == 200

    page.reload()
    expect(page.get_by_test_id("new-token-key")).to_have_count(0)
    expect(page.locator(f"#token-{token.pk} td[data-label='Last used'] time")).to_be_visible()
    screenshot(page, "2-used-key-hidden")

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke nightly export").click()
    expect(page.locator(f"#token-{token.pk}")).to_have_count(0)
    expect(page.get_by_text("No API tokens yet.")).to_be_visible()
    screenshot(page, "3-revoked")
    assert not ApiToken.objects.exists()
    assert api_status(live_server.url, status_path, key) == 401


def test_repeated_wrong_passwords_lock_the_login(page, settings, screenshot):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(username="dana")

    for attempt in range(3):
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill("dana")
        page.get_by_label("Password").fill(f"wrong-{attempt}")
        page.get_by_role("button", name="Log in").click()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill("password")
    with page.expect_response("**/accounts/login/") as answer:
        page.get_by_role("button", name="Log in").click()

    assert answer.value.status == 429
    expect(page.get_by_role("heading", name="Too many failed logins")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Try again in 15 minutes")
    expect(page.get_by_role("link", name="Log out")).to_have_count(0)
    screenshot(page, "locked-out")
