"""What every page shares: login, the base layout, htmx served from our static files."""

import json
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_login_page_renders_our_form(client):
    response = client.get("/accounts/login/?next=/conversations/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Log in</h1>" in body
    assert 'name="username"' in body
    assert 'name="password"' in body
    assert '<input type="hidden" name="next" value="/conversations/">' in body
    assert "Log out" not in body


def test_logging_in_goes_to_the_batch_jobs(client, user):
    response = client.post("/accounts/login/", {"username": "dana", "password": "password"})

    assert response.status_code == 302
    assert response["Location"] == "/batch-jobs/"
    assert client.get("/batch-jobs/").status_code == 200


def test_logging_in_with_a_wrong_password_shows_an_error(client, user):
    response = client.post("/accounts/login/", {"username": "dana", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct username and password." in response.content.decode()


def test_pages_load_htmx_from_our_static_files_and_send_csrf_in_hx_headers(user_client):
    response = user_client.get("/batch-jobs/")

    body = response.content.decode()
    token = response.context["csrf_token"]
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in body
    assert '<script src="/static/js/app.js" defer></script>' in body
    assert '<link rel="stylesheet" href="/static/css/app.css">' in body
    assert "https://" not in body
    assert f'<body hx-headers=\'{{"X-CSRFToken": "{token}"}}\'>' in body
    assert finders.find("django_htmx/htmx-2.min.js") is not None
    assert finders.find("css/app.css") is not None
    assert finders.find("js/app.js") is not None


def test_navigation_has_log_out_as_a_post_form_and_admin_only_for_staff(client, user):
    staff = UserFactory(username="admin", is_staff=True)

    client.force_login(user)
    dana_page = client.get("/conversations/").content.decode()
    client.force_login(staff)
    staff_page = client.get("/conversations/").content.decode()

    assert '<form method="post" action="/accounts/logout/" class="inline-form">' in dana_page
    assert '<a href="/admin/">Admin</a>' not in dana_page
    assert '<a href="/admin/">Admin</a>' in staff_page
    assert '<a href="/conversations/" aria-current="page">Conversations</a>' in dana_page


def test_logging_out_is_a_post(user_client):
    response = user_client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert user_client.get("/batch-jobs/").status_code == 302


def test_favicon_ico_leads_to_our_icon(client, user_client):
    response = client.get("/favicon.ico")
    page = user_client.get("/batch-jobs/").content.decode()

    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"
    assert "max-age=86400" in response["Cache-Control"]
    icon = finders.find("favicon.svg")
    assert icon is not None
    assert Path(icon).read_text(encoding="utf-8").startswith("<svg ")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page


@pytest.mark.django_db(transaction=True)
def test_the_favicon_answers_on_a_live_server(live_server):
    import urllib.request

    with urllib.request.urlopen(f"{live_server.url}/favicon.ico", timeout=10) as response:
        body = response.read()

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    assert body.startswith(b"<svg ")


def test_every_page_links_to_the_api_docs(user_client):
    page = user_client.get("/conversations/").content.decode()
    docs = user_client.get("/api/docs/")

    assert '<a href="/api/docs/" title="The REST API and its OpenAPI schema">API docs</a>' in page
    assert docs.status_code == 200
    assert "swagger" in docs.content.decode().lower()


def test_the_api_docs_have_a_way_back_and_every_operation_a_summary(user_client):
    docs = user_client.get("/api/docs/").content.decode()
    schema = json.loads(user_client.get("/api/schema/?format=json").content)

    assert '<a href="/">Back to the site</a>' in docs
    assert docs.count('<div id="swagger-ui">') == 1
    operations = [op for methods in schema["paths"].values() for op in methods.values()]
    assert operations
    assert [op["operationId"] for op in operations if not op.get("summary")] == []
    download = schema["paths"]["/api/conversations/{conversation_id}/download/raw"]["get"]
    assert download["summary"] == "Download raw conversation"
