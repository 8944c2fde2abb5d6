"""Every response carries a request id, and every line logged while the request is handled
carries the same id (as text, or as JSON with DJANGO_LOG_FORMAT=json)."""

import json
import logging
import re

import pytest

from config.logs import JsonFormatter, RequestIdFilter, request_id

pytestmark = pytest.mark.django_db


class Lines(logging.Handler):
    """What the stdout handler of the settings would write, kept in a list."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.addFilter(RequestIdFilter())
        self.setFormatter(formatter)
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


@pytest.fixture
def json_lines():
    handler = Lines(JsonFormatter())
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


def test_every_response_gets_a_fresh_request_id(client):
    first = client.get("/accounts/login/")
    second = client.get("/accounts/login/")

    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_request_id_sent_by_the_proxy_is_kept(client):
    response = client.get("/accounts/login/", headers={"X-Request-ID": "lb-7f3a.42"})

    assert response["X-Request-ID"] == "lb-7f3a.42"


def test_a_request_id_unfit_for_a_log_line_is_replaced(client):
    response = client.get("/accounts/login/", headers={"X-Request-ID": 'x" injected="1'})

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_every_line_of_a_request_carries_its_id_as_json(client, json_lines):
    response = client.get("/no-such-page/")
    logging.getLogger("enrichment").warning("after the request")

    entries = [json.loads(line) for line in json_lines.lines]
    assert response.status_code == 404
    during, after = entries[:-1], entries[-1]
    # One line per request (Django's "Not Found: ..." would repeat the access line).
    assert [(e["logger"], e["level"]) for e in during] == [("access", "INFO")]
    assert {e["requestId"] for e in during} == {response["X-Request-ID"]}
    assert re.fullmatch(r'127\.0\.0\.1 "GET /no-such-page/" 404 \d+\.\dms', during[0]["message"])
    assert (after["message"], after["requestId"]) == ("after the request", "-")
    assert request_id.get() is None


def test_a_json_line_carries_the_traceback_of_an_exception(json_lines):
    token = request_id.set("req-1")
    try:
        try:
            raise ValueError("bad profile")
        except ValueError:
            logging.getLogger("enrichment.pipeline").exception("Enrichment stage failed")
    finally:
        request_id.reset(token)

    [entry] = [json.loads(line) for line in json_lines.lines]
    assert entry["requestId"] == "req-1"
    assert entry["message"] == "Enrichment stage failed"
    assert entry["level"] == "ERROR"
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert entry["exception"].endswith("ValueError: bad profile")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["time"])
