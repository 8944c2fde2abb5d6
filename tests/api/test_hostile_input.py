"""Hostile input answers 4xx in the API's error shape, never a 500: query parameters parsed
strictly (ASCII digits only, bounded; booleans only true/false; empty refused), bodies
parsed with a nesting limit and a size limit. Each 500 once seen has its test here."""

import json
import uuid

import pytest
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.test import RequestFactory

from config.views import bad_request
from tests.factories import BatchItemFactory, BatchJobFactory, ConversationFactory, a_run

pytestmark = pytest.mark.django_db

BULK = "/api/conversations/bulk-enrich"
RUNS = "/api/enrichment-runs"


@pytest.fixture
def run_items(user) -> str:
    run = a_run([ConversationFactory(created_by=user).pk], user=user)
    return f"{RUNS}/{run.pk}/items"


@pytest.fixture
def batch_items(user) -> str:
    job = BatchJobFactory(created_by=user)
    BatchItemFactory(batch_job=job)
    return f"/api/conversations/batch/{job.pk}/items"


def refused(response, name: str, message: str) -> None:
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "success": False,
        "error": "Invalid request",
        "code": "invalid",
        "details": {name: [message]},
    }


WHOLE = "Must be a whole number between 0 and 4611686018427387904."


@pytest.mark.parametrize(
    "raw",
    [
        "%C2%B3",  # "³" passes str.isdigit()
        "99999999999999999999",  # past a bigint
        "4611686018427387905",  # one past the documented maximum
        "",  # present but empty
        "-1",
        "+1",
        "1.0",
        "%EF%BC%91",  # a full-width "1"
        "null",
    ],
    ids=[
        "superscript",
        "huge",
        "past-maximum",
        "empty",
        "negative",
        "plus",
        "float",
        "fullwidth",
        "null",
    ],
)
@pytest.mark.parametrize("endpoint", ["run_items", "batch_items"])
def test_a_bad_offset_is_refused_naming_it(api, request, endpoint, raw):
    url = request.getfixturevalue(endpoint)

    response = api.get(f"{url}?offset={raw}")

    refused(response, "offset", WHOLE)


@pytest.mark.parametrize("endpoint", ["run_items", "batch_items"])
def test_the_largest_offset_answers_an_empty_page(api, request, endpoint):
    url = request.getfixturevalue(endpoint)

    response = api.get(f"{url}?offset=4611686018427387904")

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == []


@pytest.mark.parametrize("raw", ["", "0", "1001", "%C2%B3", "ten"])
def test_a_bad_limit_is_refused_naming_it(api, batch_items, raw):
    response = api.get(f"{batch_items}?limit={raw}")

    refused(response, "limit", "Must be a whole number between 1 and 1000.")


@pytest.mark.parametrize(
    ("endpoint", "name"), [("run_items", "outcome"), ("batch_items", "status")]
)
@pytest.mark.parametrize("raw", ["", "null", "COMPLETED", "%00"])
def test_a_bad_choice_is_refused_naming_it(api, request, endpoint, name, raw):
    url = request.getfixturevalue(endpoint)

    response = api.get(f"{url}?{name}={raw}")

    assert response.status_code == 400
    assert list(response.json()["details"]) == [name]
    assert response.json()["details"][name][0].startswith("Must be one of: ")


@pytest.mark.parametrize("raw", ["", "null", "1", "0", "yes", "True", "TRUE", " true"])
def test_force_takes_only_true_or_false(api, user, raw):
    conversation = ConversationFactory(created_by=user)

    response = api.post(f"/api/conversations/{conversation.pk}/enrich?force={raw}")

    refused(response, "force", "Must be true or false.")
    conversation.refresh_from_db()
    assert conversation.enrichment_status == "not_started"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


HOSTILE_BODIES = {
    "2000-deep": nested(2000),
    "2000-deep-in-a-field": b'{"conversationIds": ' + nested(2000) + b"}",
    "1000-deep-in-a-field": b'{"conversationIds": ' + nested(1000) + b"}",
    "5000-digit-number": b'{"conversationIds": [1' + b"0" * 5000 + b"]}",
    "lone-surrogate": b'{"conversationIds": ["\\ud800"]}',
    "NaN": b'{"conversationIds": [NaN]}',
    "not-utf8": b'{"conversationIds": ["\xff"]}',
}


@pytest.mark.parametrize("raw", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
@pytest.mark.parametrize("url", [BULK, RUNS])
def test_hostile_json_bodies_are_refused(api, url, raw):
    response = api.post(url, raw, content_type="application/json")

    assert response.status_code == 400
    body = response.json()
    assert (body["success"], body["error"]) == (False, "Invalid request")
    assert list(body["details"]) in (["body"], ["conversationIds"])


@pytest.mark.parametrize("url", [BULK, RUNS])
def test_a_body_over_the_limit_answers_413_in_the_api_shape(api, settings, url):
    settings.API_MAX_BODY_BYTES = 1000
    ids = [str(uuid.uuid4()) for _ in range(40)]

    response = api.post(url, {"conversationIds": ids}, format="json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "success": False,
        "error": "The request body is larger than 1000 bytes.",
        "code": "too_large",
    }


def test_a_body_over_djangos_form_limit_but_within_ours_is_read(api, user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    conversations = [ConversationFactory(created_by=user) for _ in range(30)]
    body = {"conversationIds": [str(c.pk) for c in conversations]}

    response = api.post(RUNS, body, format="json")

    assert response.status_code == 202
    assert response.json()["total"] == 30


@pytest.mark.parametrize(
    ("exception", "status", "error", "code"),
    [
        (RequestDataTooBig(), 413, "The request body is too large.", "too_large"),
        (SuspiciousOperation(), 400, "Bad request.", "invalid"),
    ],
)
def test_djangos_own_refusals_under_api_answer_in_the_api_shape(exception, status, error, code):
    response = bad_request(RequestFactory().post(BULK), exception)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"success": False, "error": error, "code": code}


def test_djangos_own_refusals_of_pages_stay_html():
    response = bad_request(RequestFactory().post("/conversations/"), RequestDataTooBig())

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_a_whitespace_user_id_is_a_user_that_does_not_exist(api, user):
    conversation = ConversationFactory(created_by=user)

    response = api.post(
        BULK, {"conversationIds": [str(conversation.pk)], "userId": "\r"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["error"].startswith("userId names another user")
    conversation.refresh_from_db()
    assert conversation.enrichment_status == "not_started"


def test_a_whitespace_user_id_named_by_staff_is_not_found(staff_api):
    conversation = ConversationFactory()

    response = staff_api.post(
        BULK, {"conversationIds": [str(conversation.pk)], "userId": " "}, format="json"
    )

    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": "No such user.",
        "code": "not_found",
        "missing": [" "],
    }
