"""The OpenAPI schema serves a real client generator: a Python client generated from it
with openapi-python-client calls every operation of the schema against a live server and
parses every answer into its documented type (files as their bytes).

Each operation is called through the generated client for its success answers (one test
calls them all, and checks that none of the schema's operations was left out); every
documented error status of every operation is then parsed by that operation's own
generated parser from a real answer of the API with that status."""

import json
import uuid

import httpx
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory

from config.views import server_error
from conversations.imports import import_scaffolding
from core.tokens import create_token
from devtools.demo.generator import scaffolding_paths
from enrichment.runs import lanes
from tests.api.generated_client import Operations, generated, schema, schema_operations
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    TrainingFileFactory,
    UserFactory,
    a_run,
    conversation_document,
    enriched_conversation,
)

pytestmark = [pytest.mark.e2e]

__all__ = ["generated"]  # the fixture, used by name

UNPARSEABLE = "Here is the conversation you asked for: {turns: [oops"


@pytest.fixture
def owner(db):
    return UserFactory(username="owner")


@pytest.fixture
def live_client(generated, live_server, owner, relaxed_throttles):
    key = create_token(owner, name="generated client")[1]
    return generated("client").AuthenticatedClient(
        base_url=live_server.url, token=key, prefix="Token", raise_on_unexpected_status=True
    )


@pytest.mark.django_db(transaction=True)
def test_every_operation_of_the_schema_called_through_the_generated_client_parses(
    generated, live_client, live_server, owner, monkeypatch
):
    called: set[str] = set()

    def tag(name: str) -> Operations:
        return Operations(generated, live_client, name, called)

    models = generated("models")
    types = generated("types")

    batch_job_operations(tag("batch_jobs"), tag("conversations"), models, types)
    conversation_operations(
        tag("conversations"), tag("review"), tag("batch_jobs"), models, types, owner
    )
    run_operations(tag("enrichment_runs"), models, owner)
    training_file_operations(tag("training_files"), models, types, owner)
    generation_operations(tag("generation_jobs"), tag("batch_jobs"), models, monkeypatch)
    token_operations(tag("tokens"), models, generated("client"), live_server.url)

    assert called == schema_operations()


def batch_job_operations(jobs, conversations, models, types) -> None:
    created = jobs.create_batch_job(
        body=models.CreateBatchJobBody(name="Generated", auto_enrich=False)
    )
    assert created.status_code == 201
    assert isinstance(created.parsed, models.BatchJob)
    job_id = created.parsed.id

    added = jobs.add_batch_items(
        job_id,
        body=models.AddBatchItemsBody.from_dict(
            {
                "items": [
                    {"conversation": conversation_document(), "name": "Good"},
                    {"raw": UNPARSEABLE, "name": "Unparseable"},
                    {"error": "The model timed out."},
                ]
            }
        ),
    )
    assert isinstance(added.parsed, models.AddItemsResponse)
    assert [item.status for item in added.parsed.items] == ["completed", "failed", "failed"]
    listed = jobs.list_batch_job_items(job_id)
    assert isinstance(listed.parsed, models.BatchJobItemsResponse)
    assert [item.position for item in listed.parsed.data] == [1, 2, 3]
    assert listed.parsed.data[2].error == "The model timed out."
    unparseable = added.parsed.items[1].conversation_id

    # The model's text as it came, which is not JSON: the generated client reads its bytes.
    raw = conversations.download_raw_conversation(unparseable)
    assert raw.status_code == 200
    assert isinstance(raw.parsed, types.File)
    assert raw.parsed.payload.read() == UNPARSEABLE.encode()

    listed = jobs.list_batch_jobs(limit=10)
    assert isinstance(listed.parsed, models.BatchJobList)
    assert [job.id for job in listed.parsed.data] == [job_id]
    assert listed.parsed.pagination.next_offset is None
    fetched = jobs.get_batch_job(job_id)
    assert (fetched.parsed.name, fetched.parsed.total_items) == ("Generated", 3)

    completed = jobs.complete_batch_job(job_id)
    assert isinstance(completed.parsed, models.FinishBatchJobResponse)
    assert completed.parsed.job.status.value == "completed"
    # A 409 about a job carries the job as it is now.
    refused = jobs.fail_batch_job(job_id)
    assert refused.status_code == 409
    assert isinstance(refused.parsed, models.JobConflict)
    assert (refused.parsed.code, refused.parsed.job.status.value) == ("job_not_open", "completed")
    closed = jobs.add_batch_items(
        job_id, body=models.AddBatchItemsBody.from_dict({"items": [{"error": "late"}]})
    )
    assert isinstance(closed.parsed, models.JobConflict)
    assert closed.parsed.job.id == job_id

    other = jobs.create_batch_job(body=models.CreateBatchJobBody(name="Other")).parsed.id
    assert jobs.cancel_batch_job(other).parsed.job.status.value == "cancelled"


def conversation_operations(conversations, review, batch_jobs, models, types, owner) -> None:
    good = ConversationFactory(created_by=owner)
    job = BatchJobFactory(created_by=owner)
    BatchItemFactory(batch_job=job, conversation=good)

    bulk = conversations.bulk_enrich_conversations(
        body=models.BulkEnrichRequest(conversation_ids=[good.pk])
    )
    assert bulk.status_code == 200
    assert isinstance(bulk.parsed, models.BulkResult)
    assert (bulk.parsed.success, bulk.parsed.summary.successful) == (True, 1)
    [result] = bulk.parsed.results
    assert isinstance(result, models.Outcome)
    assert (result.conversation_id, result.status.value) == (str(good.pk), "enriched")
    assert result.business_conversation_id == good.conversation_id

    status = conversations.get_enrichment_status(good.pk)
    assert isinstance(status.parsed, models.ConversationStatus)
    assert status.parsed.enrichment_status == "completed"

    again = conversations.enrich_conversation(good.pk, force=True)
    assert again.status_code == 200
    assert isinstance(again.parsed, models.SingleOutcome)
    assert (again.parsed.success, again.parsed.status.value) == (True, "enriched")

    # Enriched, it waits for review: the queue shows it, a review approves it.
    queue = review.get_review_queue(limit=5)
    assert isinstance(queue.parsed, models.Queue)
    assert [row.id for row in queue.parsed.data] == [good.pk]
    assert queue.parsed.pagination.limit == 5
    claimed = review.claim_next_for_review(body=models.NextRequest.from_dict({}))
    assert claimed.status_code == 200
    assert isinstance(claimed.parsed, models.Next)
    assert (claimed.parsed.data.id, claimed.parsed.data.claimed_by) == (
        good.pk,
        owner.get_username(),
    )
    reviewed = conversations.review_conversation(
        good.pk, body=models.ReviewRequest.from_dict({"action": "approved"})
    )
    assert reviewed.status_code == 200
    assert reviewed.parsed.review_status.value == "approved"
    many = conversations.review_conversations(
        body=models.BulkReviewRequest.from_dict(
            {"conversationIds": [str(good.pk)], "action": "approved"}
        )
    )
    assert many.status_code == 200
    assert len(many.parsed.results) == 1

    report = conversations.get_validation_report(good.pk)
    assert isinstance(report.parsed, models.ValidationReport)
    assert report.parsed.conversation_id == good.conversation_id

    raw = conversations.download_raw_conversation(good.pk)
    assert isinstance(raw.parsed, types.File)
    assert json.loads(raw.parsed.payload.read())["turns"]
    enriched = conversations.download_enriched_conversation(good.pk)
    assert isinstance(enriched.parsed, models.DownloadEnrichedConversationResponse200)
    assert set(enriched.parsed.to_dict()) >= {"dataset_metadata", "training_pairs"}
    waiting = ConversationFactory(created_by=owner)
    not_yet = conversations.download_enriched_conversation(waiting.pk)
    assert isinstance(not_yet.parsed, models.NotEnriched)
    assert not_yet.parsed.enrichment_status == "not_started"

    items = conversations.list_batch_items(job.pk, limit=10)
    assert isinstance(items.parsed, models.BatchItemsResponse)
    assert [row.conversation_id for row in items.parsed.data] == [good.pk]
    assert items.parsed.pagination.limit == 10
    listed = conversations.list_conversations(
        batch_job_id=job.pk, status=models.ListConversationsStatus.COMPLETED, limit=5
    )
    assert isinstance(listed.parsed, models.ConversationList)
    assert [row.id for row in listed.parsed.data] == [good.pk]
    assert [job_ref.id for job_ref in listed.parsed.data[0].batch_jobs] == [job.pk]
    found = conversations.list_conversations(search=good.conversation_name)
    assert [row.conversation_id for row in found.parsed.data] == [good.conversation_id]
    job_status = conversations.get_batch_status(job.pk)
    assert isinstance(job_status.parsed, models.BatchStatusResponse)
    assert job_status.parsed.enrichment.completed == 1

    revised = conversations.create_conversation_revision(
        good.pk, body=models.CreateConversationRevisionBody.from_dict(conversation_document())
    )
    assert revised.status_code == 201
    assert isinstance(revised.parsed, models.SavedRevision)
    assert (revised.parsed.revision.number, revised.parsed.revision.source.value) == (2, "edit")
    revisions = conversations.list_conversation_revisions(good.pk, limit=5)
    assert isinstance(revisions.parsed, models.RevisionList)
    assert [r.number for r in revisions.parsed.data] == [1, 2]
    first = conversations.download_conversation_revision(good.pk, 1)
    assert isinstance(first.parsed, types.File)
    assert json.loads(first.parsed.payload.read())["turns"]
    # Replace and retry refuses, by id, a conversation that did not fail.
    replaced = batch_jobs.replace_failed_conversations(
        job.pk,
        body=models.ReplacementsRequest.from_dict(
            {"documents": {str(good.pk): conversation_document()}}
        ),
    )
    assert isinstance(replaced.parsed, models.Replacements)
    [refused] = replaced.parsed.results
    assert refused.status.value == "refused"
    assert replaced.parsed.run_id is None


def run_operations(runs, models, owner) -> None:
    good = ConversationFactory(created_by=owner)
    job = BatchJobFactory(created_by=owner)
    BatchItemFactory(batch_job=job, conversation=good)

    started = runs.start_enrichment_run(
        body=models.StartEnrichmentRunByBatchJobWhatEnrichingItActsOn(
            batch_job_id=job.pk, force=True
        ),
    )
    assert started.status_code == 202
    assert isinstance(started.parsed, models.Run)
    run_id = started.parsed.id
    same = runs.start_enrichment_run(
        body=models.StartEnrichmentRunByBatchJobWhatEnrichingItActsOn(batch_job_id=job.pk),
    )
    assert (same.status_code, same.parsed.id) == (200, run_id)
    fetched = runs.get_enrichment_run(run_id)
    assert (fetched.parsed.status.value, fetched.parsed.total) == ("queued", 1)
    run_items = runs.list_enrichment_run_items(run_id, offset=0)
    assert isinstance(run_items.parsed, models.RunItemsResponse)
    assert [item.conversation_id for item in run_items.parsed.data] == [good.conversation_id]
    assert run_items.parsed.pagination.next_offset is None
    cancelled = runs.cancel_enrichment_run(run_id)
    assert cancelled.parsed.status.value == "cancelled"
    # A 409 about a run carries the run as it is now.
    again = runs.cancel_enrichment_run(run_id)
    assert again.status_code == 409
    assert isinstance(again.parsed, models.RunConflict)
    assert (again.parsed.run.id, again.parsed.run.status.value) == (run_id, "cancelled")
    listed = runs.list_enrichment_runs(status=models.ListEnrichmentRunsStatus.CANCELLED)
    assert isinstance(listed.parsed, models.RunList)
    assert [run.id for run in listed.parsed.data] == [run_id]
    assert listed.parsed.pagination.limit == 50

    bad = ConversationFactory(created_by=owner, document={"turns": []})
    by_ids = runs.start_enrichment_run(
        body=models.StartEnrichmentRunByConversationIds(conversation_ids=[bad.pk])
    )
    assert by_ids.status_code == 202
    lanes.process_run(by_ids.parsed.id)
    retried = runs.retry_failed_of_enrichment_run(by_ids.parsed.id)
    assert retried.status_code == 202
    assert isinstance(retried.parsed, models.Run)
    assert retried.parsed.retry_of == by_ids.parsed.id

    by_status = runs.start_enrichment_run(
        body=models.StartEnrichmentRunByEnrichmentStatus(
            status=[models.StartEnrichmentRunByEnrichmentStatusStatusType1Item("validation_failed")]
        ),
    )
    assert by_status.status_code == 202
    assert by_status.parsed.total == 1


def training_file_operations(training, models, types, owner) -> None:
    first = enriched_conversation(created_by=owner)
    second = enriched_conversation(created_by=owner)
    job = BatchJobFactory(created_by=owner)
    BatchItemFactory(batch_job=job, conversation=second)

    created = training.create_training_file(
        body=models.CreateTrainingFileByConversationIds(
            name="Generated", conversation_ids=[first.pk]
        ),
    )
    assert created.status_code == 201
    assert isinstance(created.parsed, models.Change)
    file_id = created.parsed.training_file.id
    assert created.parsed.training_file.conversation_count == 1

    added = training.add_conversations_to_training_file(
        file_id,
        body=models.AddConversationsToTrainingFileByBatchJobItsCompletedConversations(
            batch_job_id=job.pk
        ),
    )
    assert (added.status_code, added.parsed.added) == (200, [second.conversation_id])
    listed = training.list_training_files(limit=10)
    assert isinstance(listed.parsed, models.TrainingFileList)
    assert [item.id for item in listed.parsed.data] == [file_id]
    assert listed.parsed.pagination.next_offset is None
    fetched = training.get_training_file(file_id)
    assert (fetched.parsed.name, fetched.parsed.conversation_count) == ("Generated", 2)

    formats = models.DownloadTrainingFileFormat
    whole = training.download_training_file(file_id)
    assert isinstance(whole.parsed, types.File)
    document = json.loads(whole.parsed.payload.read())
    assert document["training_file_metadata"]["total_conversations"] == 2
    # One JSON object a line: a training pair a line (after a header line), or a
    # conversation a line.
    for lines_format, at_least in ((formats.JSONL, 3), (formats.CHAT_JSONL, 2)):
        lines = training.download_training_file(file_id, format_=lines_format)
        assert lines.headers["Content-Type"] == "application/x-ndjson"
        assert isinstance(lines.parsed, types.File)
        rows = [json.loads(line) for line in lines.parsed.payload.read().splitlines()]
        assert len(rows) >= at_least
        assert all(isinstance(row, dict) for row in rows)
    unbuilt = TrainingFileFactory(created_by=owner)
    refused = training.download_training_file(unbuilt.pk)
    assert isinstance(refused.parsed, models.NotBuilt)
    assert refused.parsed.code == "not_built"

    removed = training.remove_conversations_from_training_file(
        file_id,
        body=models.RemoveConversationsFromTrainingFileBody(conversation_ids=[first.pk]),
    )
    assert isinstance(removed.parsed, models.Change)
    assert removed.parsed.removed == [first.conversation_id]
    rebuilt = training.rebuild_training_file(file_id)
    assert (rebuilt.status_code, rebuilt.parsed.training_file.conversation_count) == (200, 1)
    archived = training.archive_training_file(file_id)
    assert archived.parsed.status.value == "archived"
    restored = training.unarchive_training_file(file_id)
    assert restored.parsed.status.value == "active"
    deleted = training.delete_training_file(file_id)
    assert deleted.status_code == 204
    assert training.get_training_file(file_id).status_code == 404


def token_operations(tokens, models, clients, url: str) -> None:
    created = tokens.create_api_token(body=models.CreateTokenRequest(name="Made by a client"))
    assert created.status_code == 201
    assert isinstance(created.parsed, models.NewToken)
    assert created.parsed.key.startswith(created.parsed.prefix)
    listed = tokens.list_api_tokens(limit=10)
    assert isinstance(listed.parsed, models.TokenList)
    assert [token.name for token in listed.parsed.data] == ["Made by a client", "generated client"]
    # The new key works: revoke the client's own with it.
    own = listed.parsed.data[1].id
    tokens.client = clients.AuthenticatedClient(
        base_url=url, token=created.parsed.key, prefix="Token", raise_on_unexpected_status=True
    )
    revoked = tokens.revoke_api_token(own)
    assert revoked.status_code == 204
    assert [token.name for token in tokens.list_api_tokens().parsed.data] == ["Made by a client"]


GENERATION = {
    "name": "Tax season",
    "personaKeys": ["gig_juggler"],
    "emotionalArcKeys": ["dread_to_relief"],
    "trainingTopicKeys": ["freelancer_quarterly_taxes"],
}


def generation_operations(generation, jobs, models, monkeypatch) -> None:
    import_scaffolding(scaffolding_paths())
    preview = generation.preview_generation_job(
        body=models.PreviewGenerationJobBody.from_dict(GENERATION)
    )
    assert preview.status_code == 200
    assert preview.parsed.items == 1
    assert preview.parsed.problems == []
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-generated-client")
    created = generation.create_generation_job(
        body=models.CreateGenerationJobBody.from_dict(GENERATION)
    )
    assert created.status_code == 201
    assert created.parsed.generation.mode in ("batch", "realtime")
    job_id = created.parsed.id
    paused = jobs.pause_generation_job(job_id)
    assert isinstance(paused.parsed, models.JobControlResponse)
    assert paused.parsed.job.generation.paused_reason.startswith("Paused by")
    resumed = jobs.resume_generation_job(job_id)
    assert (resumed.parsed.changed, resumed.parsed.job.generation.paused_reason) == (True, None)
    retried = jobs.retry_failed_generations(job_id)
    assert isinstance(retried.parsed, models.JobConflict)
    assert retried.parsed.code == "nothing_to_retry"


# Every documented error answer of every operation -----------------------------------------


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


def real_error_answers(wsgi, owner, settings, monkeypatch) -> dict[int | str, httpx.Response]:
    """One real answer of the API for each error status it documents, and for each error
    shape of a 409 (by its schema component's name)."""
    key = create_token(owner, name="errors")[1]
    conversation = ConversationFactory(created_by=owner)
    finished = a_run([conversation.pk], user=owner)
    ended = BatchJobFactory(created_by=owner, status="cancelled")
    unbuilt = TrainingFileFactory(created_by=owner)
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
        409: http.post(f"/api/enrichment-runs/{conversation.pk}/retry-failed"),
        "RunConflict": http.post(f"/api/enrichment-runs/{finished.pk}/cancel"),
        "JobConflict": http.post(f"/api/batch-jobs/{ended.pk}/complete"),
        "NotEnriched": http.get(f"/api/conversations/{conversation.pk}/download/enriched"),
        "NotBuilt": http.get(f"/api/training-files/{unbuilt.pk}/download"),
        "SelectionConflict": http.post(
            "/api/training-files", json={"name": "x", "conversationIds": [str(conversation.pk)]}
        ),
    }
    answers["FailedBuild"] = answers["SelectionConflict"]
    # No provider key on the server: generation is unavailable.
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    answers[503] = http.post("/api/generation-jobs", json=GENERATION)
    answers[409] = answers["RunConflict"] if answers[409].status_code == 404 else answers[409]
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
        assert answer.status_code == (status if isinstance(status, int) else 409), (
            status,
            answer.text,
        )
    return answers


@pytest.mark.django_db
def test_every_documented_error_answer_parses_with_the_generated_client(
    generated, wsgi, owner, settings, monkeypatch
):
    answers = real_error_answers(wsgi, owner, settings, monkeypatch)
    models = generated("models")
    client = generated("client").Client(base_url="http://testserver")
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
                component = ref.rsplit("/", 1)[-1]
                model = getattr(models, component)
                answer = answers[component] if status == "409" and component in answers else None
                answer = answer or answers[int(status)]

                parsed = module._build_response(client=client, response=answer)

                assert isinstance(parsed.parsed, model), (name, status)
                assert parsed.parsed.success is False
                assert parsed.parsed.error == answer.json()["error"]
                checked.append((name, int(status)))

    assert {name for name, _ in checked} == schema_operations()
    assert {status for _, status in checked} == {400, 401, 403, 404, 405, 409, 413, 429, 500, 503}
    assert answers[429].headers["Retry-After"].isdigit()


def test_the_downloads_are_described_as_files_a_generated_client_reads_as_bytes():
    paths = schema()["paths"]
    binary = {"type": "string", "format": "binary"}

    raw = paths["/api/conversations/{conversation_id}/download/raw"]["get"]["responses"]
    training = paths["/api/training-files/{training_file_id}/download"]["get"]["responses"]
    enriched = paths["/api/conversations/{conversation_id}/download/enriched"]["get"]

    assert list(raw["200"]["content"]) == [
        "application/octet-stream",
        "application/json",
        "text/plain",
    ]
    assert raw["200"]["content"]["application/octet-stream"]["schema"] == binary
    assert list(training["200"]["content"]) == [
        "application/octet-stream",
        "application/json",
        "application/x-ndjson",
    ]
    # Enriched files are ours: always one JSON object.
    assert list(enriched["responses"]["200"]["content"]) == ["application/json"]
