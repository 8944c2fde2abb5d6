"""What every page shares: login, the base layout, htmx served from our static files."""

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
