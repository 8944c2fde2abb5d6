"""The pages' error pages: the site's layout and a way back (the production 404 is also
checked against bin/serve in test_browser_production.py)."""

import pytest
from django.test import RequestFactory

from config.views import server_error

pytestmark = pytest.mark.django_db


def test_the_server_error_page_has_the_site_layout_and_a_way_back():
    response = server_error(RequestFactory().get("/batch-jobs/"))

    body = response.content.decode()
    assert response.status_code == 500
    assert '<header class="site-header">' in body
    assert "/static/css/app" in body
    assert "<h1>Something went wrong</h1>" in body
    assert '<a href="/">Back to the start page</a>' in body


def test_the_api_keeps_its_json_errors():
    response = server_error(RequestFactory().get("/api/batch-jobs"))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"


def test_a_missing_page_names_the_address(client):
    response = client.get("/nothing-here/")

    body = response.content.decode()
    assert response.status_code == 404
    assert '<header class="site-header">' in body
    assert "There is no page at <code>/nothing-here/</code>" in body
    assert '<a href="/">the batch jobs</a>' in body
