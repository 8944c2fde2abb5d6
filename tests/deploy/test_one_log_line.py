"""One log line per request: a refused API call (a 404) is logged once, by the access
log, not again by Django's request logger and the API."""

import logging

import pytest

pytestmark = pytest.mark.django_db


def records_of(caplog) -> list[str]:
    return [f"{r.name} {r.levelname} {r.getMessage()}" for r in caplog.records]


def test_an_api_404_is_logged_once(client, user, caplog):
    from core.tokens import create_token

    _, key = create_token(user, name="logs")
    caplog.set_level(logging.DEBUG)
    headers = {"HTTP_AUTHORIZATION": f"Token {key}"}

    response = client.get("/api/batch-jobs/00000000-0000-4000-8000-000000000000", **headers)

    assert response.status_code == 404
    lines = [line for line in records_of(caplog) if "batch-jobs" in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith("access INFO")
