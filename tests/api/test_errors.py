"""Every error under /api/ has one shape, ``{"success": false, "error": ..., ...}``, whatever
raised it (DRF, Django's URL resolver, the body parser or the domain), and the schema says so."""

import json
import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from conversations.models import BatchJob
from enrichment.models import EnrichmentRun
from tests.factories import BatchJobFactory, ConversationFactory, UserFactory, a_run
from training.models import TrainingFile

pytestmark = pytest.mark.django_db

BULK = "/api/conversations/bulk-enrich"
RUNS = "/api/enrichment-runs"


def error_body(response) -> dict:
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False
    assert isinstance(body["error"], str) and body["error"]
    return body


def test_400_for_a_bad_body_names_the_field(api):
    response = api.post(BULK, {"conversationIds": ["not-a-uuid"]}, format="json")

    assert response.status_code == 400
    body = error_body(response)
    assert body["error"] == "Invalid request"
    assert list(body["details"]) == ["conversationIds"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (BULK, {"conversationIds": [str(uuid.uuid4())], "sequentail": False}),
        (RUNS, {"status": "not_started", "forse": True}),
        ("/api/batch-jobs", {"name": "Run 7", "auto_enrich": False}),
    ],
    ids=["bulk-enrich", "runs", "batch-jobs"],
)
def test_400_for_a_misspelt_key_instead_of_ignoring_it(api, path, body):
    response = api.post(path, body, format="json")

    assert response.status_code == 400
    misspelt = next(key for key in body if key not in {"conversationIds", "status", "name"})
    assert error_body(response)["details"] == {misspelt: ["Unknown field."]}
    assert not EnrichmentRun.objects.exists()
    assert not BatchJob.objects.exists()


def test_400_for_a_body_that_is_not_json(api):
    response = api.post(BULK, "{not json", content_type="application/json")

    assert response.status_code == 400
    body = error_body(response)
    assert body["error"] == "Invalid request"
    assert body["details"]["body"][0].startswith("The body must be a JSON object")


@pytest.mark.parametrize(
    "path",
    [
        BULK,
        RUNS,
        "/api/batch-jobs",
        "/api/training-files",
        "/api/training-files/{file}/add-conversations",
        "/api/training-files/{file}/remove-conversations",
    ],
)
def test_400_for_a_body_that_is_a_list_not_an_object(api, user, path):
    training_file = TrainingFile.objects.create(name="Set", created_by=user)

    response = api.post(path.format(file=training_file.pk), [], format="json")

    assert response.status_code == 400
    assert error_body(response)["details"] == {"body": ["The body must be a JSON object."]}
    assert not EnrichmentRun.objects.exists()
    assert not BatchJob.objects.exists()
    assert list(TrainingFile.objects.all()) == [training_file]


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 2000 + b"]" * 2000,  # nested deeper than any request needs
        b'{"conversationIds": [1' + b"0" * 5000 + b"]}",  # a 5,000-digit number
        b'{"conversationIds": ["\\ud800"]}',  # a lone surrogate
    ],
    ids=["deep", "huge-number", "surrogate"],
)
def test_400_for_hostile_json(api, raw):
    response = api.post(BULK, raw, content_type="application/json")

    assert response.status_code == 400
    assert error_body(response)["error"] == "Invalid request"


def test_401_without_credentials_keeps_the_authenticate_header():
    response = APIClient().post(BULK, {"conversationIds": [str(uuid.uuid4())]}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert error_body(response) == {
        "success": False,
        "error": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


def test_401_for_a_bad_token():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")

    response = client.get(f"/api/enrichment-runs/{uuid.uuid4()}")

    assert response.status_code == 401
    assert error_body(response)["error"] == "Invalid token."


def test_403_for_a_session_post_without_csrf():
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())

    response = client.post(BULK, json.dumps({"conversationIds": []}), "application/json")

    assert response.status_code == 403
    assert "CSRF" in error_body(response)["error"]


def test_403_when_a_user_acts_for_someone_else(api):
    conversation = ConversationFactory()

    response = api.post(
        BULK, {"conversationIds": [str(conversation.pk)], "userId": "someone"}, format="json"
    )

    assert response.status_code == 403
    assert error_body(response)["error"].startswith("userId names another user")


def test_404_for_unknown_ids_lists_them(api):
    missing = str(uuid.uuid4())

    response = api.post(BULK, {"conversationIds": [missing]}, format="json")

    assert response.status_code == 404
    assert error_body(response)["missing"] == [missing]


@pytest.mark.parametrize(
    "path",
    [
        "/api/conversations/not-a-uuid/enrich",
        "/api/enrichment-runs/12345",
        "/api/no-such-endpoint",
    ],
)
def test_404_for_malformed_ids_and_unknown_paths(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert error_body(response) == {"success": False, "error": "Not found.", "code": "not_found"}


def test_404_for_a_batch_job_the_caller_cannot_see(api):
    job = BatchJobFactory()

    response = api.post(RUNS, {"batchJobId": str(job.pk)}, format="json")

    assert response.status_code == 404
    body = error_body(response)
    assert (body["error"], body["missing"]) == ("Batch job not found.", [str(job.pk)])


def test_405_for_a_method_the_endpoint_does_not_take(api):
    response = api.get(BULK)

    assert response.status_code == 405
    assert error_body(response)["error"] == 'Method "GET" not allowed.'


def test_409_for_cancelling_a_finished_run(api, user):
    run = a_run([ConversationFactory(created_by=user).pk], user=user)
    api.post(f"{RUNS}/{run.pk}/cancel")

    response = api.post(f"{RUNS}/{run.pk}/cancel")

    assert response.status_code == 409
    body = error_body(response)
    assert body["error"] == "The run is already cancelled."
    assert body["run"]["status"] == "cancelled"


def test_409_for_an_empty_selection(api):
    response = api.post(RUNS, {"status": "completed"}, format="json")

    assert response.status_code == 409
    assert error_body(response)["error"] == "There are no conversations to enrich."


def test_413_for_a_body_over_the_limit(api, settings):
    settings.API_MAX_BODY_BYTES = 1000
    ids = [str(uuid.uuid4()) for _ in range(40)]

    response = api.post(RUNS, {"conversationIds": ids}, format="json")

    assert response.status_code == 413
    assert error_body(response)["error"] == "The request body is larger than 1000 bytes."


def test_415_for_a_body_that_is_not_json(api):
    response = api.post(BULK, "conversationIds=1", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert error_body(response)["error"] == "Invalid request"


def test_the_schema_documents_the_error_shape_for_every_error_status(api):
    schema = json.loads(
        api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content
    )
    components = schema["components"]["schemas"]

    undocumented = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                ref = response.get("content", {}).get("application/json", {}).get("schema", {})
                shape = components.get(ref.get("$ref", "").rsplit("/", 1)[-1], {})
                if not {"success", "error", "code"} <= set(shape.get("properties", {})):
                    undocumented.append(f"{method.upper()} {path} {status}")
            assert "405" in operation["responses"] or method == "get" or path == "/api/schema/"

    assert undocumented == []
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"error", "code"}
