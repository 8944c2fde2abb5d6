"""The OpenAPI schema serves a real client generator: a Python client generated from it
with openapi-python-client (into a temporary folder, at test time) calls every operation
against the app and parses every documented answer into its documented type.

Each operation is called through the generated client for its success answers; every
documented error status of every operation is then parsed by that operation's own
generated parser from a real answer of the API with that status."""

import importlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from config.views import server_error
from core.tokens import create_token
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    UserFactory,
    a_run,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

PACKAGE = "enrichment_api_client"


def schema() -> dict:
    raw = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(raw))


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The client package, generated from the schema the API serves."""
    folder = tmp_path_factory.mktemp("client")
    (folder / "openapi.json").write_text(json.dumps(schema()))
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            "openapi.json",
            "--output-path",
            PACKAGE,
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        cwd=folder,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


class Operations:
    """The generated modules of one tag: ``Operations(generated, "conversations").name``."""

    def __init__(self, generated, tag: str) -> None:
        self.generated, self.tag = generated, tag

    def __getattr__(self, name: str):
        return self.generated(f"api.{self.tag}.{name}")


@pytest.fixture
def wsgi():
    """The app in this process; the database connection stays open between requests, as
    Django's own test client keeps it (the test's transaction lives on it)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield httpx.WSGITransport(app=WSGIHandler())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def owner(db):
    return UserFactory(username="owner")


@pytest.fixture
def client(generated, wsgi, owner):
    key = create_token(owner, name="generated client")[1]
    return generated("client").AuthenticatedClient(
        base_url="http://testserver",
        token=key,
        prefix="Token",
        raise_on_unexpected_status=True,
        httpx_args={"transport": wsgi},
    )


def test_every_operation_called_through_the_generated_client_parses(
    generated, client, owner, shared_valid_conversation
):
    models = generated("models")
    conversations = Operations(generated, "conversations")
    runs = Operations(generated, "enrichment_runs")
    good = shared_valid_conversation
    job = BatchJobFactory(created_by=owner)
    BatchItemFactory(batch_job=job, conversation=good)

    bulk = conversations.bulk_enrich_conversations.sync_detailed(
        client=client, body=models.BulkEnrichRequest(conversation_ids=[good.pk])
    )
    assert bulk.status_code == 200
    assert isinstance(bulk.parsed, models.BulkResult)
    assert (bulk.parsed.success, bulk.parsed.summary.successful) == (True, 1)

    status = conversations.get_enrichment_status.sync_detailed(good.pk, client=client)
    assert isinstance(status.parsed, models.ConversationStatus)
    assert status.parsed.enrichment_status == "completed"

    again = conversations.enrich_conversation.sync_detailed(good.pk, client=client, force=True)
    assert again.status_code == 200
    assert isinstance(again.parsed, models.SingleOutcome)
    assert (again.parsed.success, again.parsed.status.value) == (True, "enriched")

    report = conversations.get_validation_report.sync_detailed(good.pk, client=client)
    assert isinstance(report.parsed, models.ValidationReport)
    assert report.parsed.conversation_id == good.conversation_id

    raw = conversations.download_raw_conversation.sync_detailed(good.pk, client=client)
    assert isinstance(raw.parsed, models.DownloadRawConversationResponse200)
    assert raw.parsed.to_dict() == json.loads(raw.content)
    enriched = conversations.download_enriched_conversation.sync_detailed(good.pk, client=client)
    assert isinstance(enriched.parsed, models.DownloadEnrichedConversationResponse200)
    assert enriched.parsed.to_dict() == json.loads(enriched.content)
    assert set(enriched.parsed.to_dict()) >= {"dataset_metadata", "training_pairs"}

    items = conversations.list_batch_items.sync_detailed(job.pk, client=client, limit=10)
    assert isinstance(items.parsed, models.BatchItemsResponse)
    assert [row.conversation_id for row in items.parsed.data] == [good.pk]
    job_status = conversations.get_batch_status.sync_detailed(job.pk, client=client)
    assert isinstance(job_status.parsed, models.BatchStatusResponse)
    assert job_status.parsed.enrichment.completed == 1

    started = runs.start_enrichment_run.sync_detailed(
        client=client,
        body=models.StartEnrichmentRunByBatchJobWhatEnrichingItActsOn(
            batch_job_id=job.pk, force=True
        ),
    )
    assert started.status_code == 202
    assert isinstance(started.parsed, models.Run)
    run_id = started.parsed.id
    same = runs.start_enrichment_run.sync_detailed(
        client=client,
        body=models.StartEnrichmentRunByBatchJobWhatEnrichingItActsOn(batch_job_id=job.pk),
    )
    assert (same.status_code, same.parsed.id) == (200, run_id)
    fetched = runs.get_enrichment_run.sync_detailed(run_id, client=client)
    assert (fetched.parsed.status.value, fetched.parsed.total) == ("queued", 1)
    run_items = runs.list_enrichment_run_items.sync_detailed(run_id, client=client, offset=0)
    assert isinstance(run_items.parsed, models.RunItemsResponse)
    assert [item.conversation_id for item in run_items.parsed.data] == [good.conversation_id]
    cancelled = runs.cancel_enrichment_run.sync_detailed(run_id, client=client)
    assert cancelled.parsed.status.value == "cancelled"

    bad = ConversationFactory(created_by=owner, document={"turns": []})
    by_ids = runs.start_enrichment_run.sync_detailed(
        client=client, body=models.StartEnrichmentRunByConversationIds(conversation_ids=[bad.pk])
    )
    assert by_ids.status_code == 202
    from enrichment.runs import lanes

    lanes.process_run(by_ids.parsed.id)
    retried = runs.retry_failed_of_enrichment_run.sync_detailed(by_ids.parsed.id, client=client)
    assert retried.status_code == 202
    assert isinstance(retried.parsed, models.Run)
    assert retried.parsed.retry_of == by_ids.parsed.id

    failed = conversations.enrich_conversation.sync_detailed(bad.pk, client=client)
    assert failed.status_code == 422
    assert isinstance(failed.parsed, models.SingleOutcome)
    assert (failed.parsed.success, failed.parsed.status.value) == (False, "failed")

    by_status = runs.start_enrichment_run.sync_detailed(
        client=client,
        body=models.StartEnrichmentRunByEnrichmentStatus(
            status=[models.StartEnrichmentRunByEnrichmentStatusStatusType1Item("validation_failed")]
        ),
    )
    assert by_status.status_code == 202
    assert by_status.parsed.total == 1


@pytest.fixture
def shared_valid_conversation(owner):
    return ConversationFactory(created_by=owner)


# Every documented error answer of every operation -----------------------------------------


def real_error_answers(wsgi, owner, settings) -> dict[int, httpx.Response]:
    """One real answer of the API for each error status it documents."""
    key = create_token(owner, name="errors")[1]
    conversation = ConversationFactory(created_by=owner)
    finished = a_run([conversation.pk], user=owner)
    http = httpx.Client(
        base_url="http://testserver", transport=wsgi, headers={"Authorization": f"Token {key}"}
    )
    anonymous = httpx.Client(base_url="http://testserver", transport=wsgi)
    bulk = "/api/conversations/bulk-enrich"
    http.post(f"/api/enrichment-runs/{finished.pk}/cancel")
    answers = {
        400: http.post(bulk, json={"conversationIds": []}),
        401: anonymous.post(bulk, json={"conversationIds": [str(conversation.pk)]}),
        403: http.post(bulk, json={"conversationIds": [str(conversation.pk)], "userId": "x"}),
        404: http.get(f"/api/conversations/{uuid.uuid4()}/enrich"),
        405: http.get(bulk),
        409: http.post(f"/api/enrichment-runs/{finished.pk}/cancel"),
    }
    settings.API_MAX_BODY_BYTES = 10
    answers[413] = http.post(bulk, json={"conversationIds": [str(conversation.pk)]})
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": "1/minute"}
    http.get(f"/api/conversations/{conversation.pk}/enrich")
    answers[429] = http.get(f"/api/conversations/{conversation.pk}/enrich")
    # A 500 is a bug, never provoked on purpose: this is the answer Django's 500 handler
    # gives under /api/.
    django_answer = server_error(RequestFactory().post(bulk))
    answers[500] = httpx.Response(
        500, headers={"Content-Type": django_answer["Content-Type"]}, content=django_answer.content
    )
    for status, answer in answers.items():
        assert answer.status_code == status, (status, answer.text)
    return answers


def test_every_documented_error_answer_parses_with_the_generated_client(
    generated, client, wsgi, owner, settings
):
    answers = real_error_answers(wsgi, owner, settings)
    models = generated("models")
    checked = []

    for methods in schema()["paths"].values():
        for operation in methods.values():
            name = operation["operationId"]
            tag = operation["tags"][0].replace("-", "_")
            module = generated(f"api.{tag}.{name}")
            for status, documented in operation["responses"].items():
                if int(status) < 400 or status == "422":
                    continue
                ref = documented["content"]["application/json"]["schema"]["$ref"]
                model = getattr(models, ref.rsplit("/", 1)[-1])

                parsed = module._build_response(client=client, response=answers[int(status)])

                assert isinstance(parsed.parsed, model), (name, status)
                assert parsed.parsed.success is False
                assert parsed.parsed.error == answers[int(status)].json()["error"]
                checked.append((name, int(status)))

    operations = {
        op["operationId"] for methods in schema()["paths"].values() for op in methods.values()
    }
    assert {name for name, _ in checked} == operations
    assert {status for _, status in checked} == {400, 401, 403, 404, 405, 409, 413, 429, 500}
    assert answers[429].headers["Retry-After"].isdigit()


def test_the_download_answers_are_json_objects_in_the_schema():
    paths = schema()["paths"]

    for kind in ("raw", "enriched"):
        ok = paths[f"/api/conversations/{{conversation_id}}/download/{kind}"]["get"]["responses"]
        content = ok["200"]["content"]
        assert list(content) == ["application/json"]
        assert content["application/json"]["schema"]["type"] == "object"


def test_every_training_file_operation_called_through_the_generated_client_parses(
    generated, client, owner
):
    from tests.factories import enriched_conversation

    models = generated("models")
    training = Operations(generated, "training_files")
    first = enriched_conversation(created_by=owner)
    second = enriched_conversation(created_by=owner)
    job = BatchJobFactory(created_by=owner)
    BatchItemFactory(batch_job=job, conversation=second)

    created = training.create_training_file.sync_detailed(
        client=client,
        body=models.CreateTrainingFileByConversationIds(
            name="Generated", conversation_ids=[first.pk]
        ),
    )
    assert created.status_code == 201
    assert isinstance(created.parsed, models.Change)
    file_id = created.parsed.training_file.id
    assert created.parsed.training_file.conversation_count == 1

    added = training.add_conversations_to_training_file.sync_detailed(
        file_id,
        client=client,
        body=models.AddConversationsToTrainingFileByBatchJobItsCompletedConversations(
            batch_job_id=job.pk
        ),
    )
    assert (added.status_code, added.parsed.added) == (200, [second.conversation_id])
    listed = training.list_training_files.sync_detailed(client=client, limit=10)
    assert isinstance(listed.parsed, models.TrainingFileList)
    assert [item.id for item in listed.parsed.data] == [file_id]
    fetched = training.get_training_file.sync_detailed(file_id, client=client)
    assert (fetched.parsed.name, fetched.parsed.conversation_count) == ("Generated", 2)

    downloaded = training.download_training_file.sync_detailed(file_id, client=client)
    assert isinstance(downloaded.parsed, models.DownloadTrainingFileResponse200)
    document = downloaded.parsed.to_dict()
    assert document["training_file_metadata"]["total_conversations"] == 2
    # The lines formats are not one JSON document: a generated client (which prefers
    # the JSON reading of a 200) reads them as bytes through its own HTTP client.
    lines = client.get_httpx_client().get(
        f"/api/training-files/{file_id}/download", params={"format": "chat-jsonl"}
    )
    assert lines.headers["Content-Type"] == "application/x-ndjson"
    assert len(lines.text.splitlines()) == 2

    removed = training.remove_conversations_from_training_file.sync_detailed(
        file_id,
        client=client,
        body=models.RemoveConversationsFromTrainingFileBody(conversation_ids=[first.pk]),
    )
    assert isinstance(removed.parsed, models.Change)
    assert removed.parsed.removed == [first.conversation_id]
    rebuilt = training.rebuild_training_file.sync_detailed(file_id, client=client)
    assert (rebuilt.status_code, rebuilt.parsed.training_file.conversation_count) == (200, 1)
    archived = training.archive_training_file.sync_detailed(file_id, client=client)
    assert archived.parsed.status.value == "archived"
    restored = training.unarchive_training_file.sync_detailed(file_id, client=client)
    assert restored.parsed.status.value == "active"
    deleted = training.delete_training_file.sync_detailed(file_id, client=client)
    assert deleted.status_code == 204
    assert training.get_training_file.sync_detailed(file_id, client=client).status_code == 404
