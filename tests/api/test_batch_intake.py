"""Feeding batch jobs through the API: create a job, add items (conversation documents,
raw model text, generation errors), finish it; ownership, duplicates and the error shape."""

import json
import uuid

import pytest
from django.core.files.storage import default_storage

from conversations.models import (
    BatchItem,
    BatchItemStatus,
    BatchJob,
    BatchJobStatus,
    Conversation,
    ProcessingStatus,
)
from enrichment.models import EnrichmentRun
from tests.factories import (
    TRUNCATED_REPLY,
    BatchJobFactory,
    EmotionalArcFactory,
    PersonaFactory,
    TrainingTopicFactory,
    UserFactory,
    conversation_document,
)

pytestmark = pytest.mark.django_db


def new_job(api, name: str = "Generator run 7", **extra) -> dict:
    response = api.post("/api/batch-jobs", {"name": name, **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def add(api, job_id: str, items: list[dict], **extra):
    return api.post(f"/api/batch-jobs/{job_id}/items", {"items": items, **extra}, format="json")


def stored_files(media_root) -> list:
    return sorted(p for p in media_root.rglob("*") if p.is_file())


def test_creating_a_job_answers_201_with_the_queued_job(api, user):
    response = api.post("/api/batch-jobs", {"name": "Generator run 7"}, format="json")

    assert response.status_code == 201
    body = response.json()
    job = BatchJob.objects.get()
    assert response["Location"] == f"/api/batch-jobs/{job.pk}"
    assert body == {
        "id": str(job.pk),
        "name": "Generator run 7",
        "status": "queued",
        "autoEnrich": True,
        "tier": "template",
        "priority": "normal",
        "totalItems": 0,
        "completedItems": 0,
        "successfulItems": 0,
        "failedItems": 0,
        "duplicateItems": 0,
        "createdAt": job.created_at.isoformat().replace("+00:00", "Z"),
        "startedAt": None,
        "completedAt": None,
        "url": f"/api/batch-jobs/{job.pk}",
        "pageUrl": f"/batch-jobs/{job.pk}/",
        "generation": None,
    }
    assert (job.created_by, job.status, job.auto_enrich) == (user, "queued", True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": 7}, "name"),
        ({"name": "ok", "autoEnrich": "yes"}, "autoEnrich"),
        ({"name": "ok", "tier": "gold"}, "tier"),
    ],
    ids=["missing", "blank", "nul", "long", "number", "not-boolean", "unknown-tier"],
)
def test_creating_a_job_refuses_a_bad_body(api, body, field):
    response = api.post("/api/batch-jobs", body, format="json")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert list(response.json()["details"]) == [field]
    assert BatchJob.objects.count() == 0


def test_items_of_every_kind_are_stored_at_the_next_positions(api, media_root):
    job = new_job(api, autoEnrich=False)
    document = conversation_document()
    raw_valid = json.dumps(conversation_document(session_context="Raw but valid."))

    response = add(
        api,
        job["id"],
        [
            {"conversation": document, "topic": "Emergency fund", "name": "Dana's chat"},
            {"raw": raw_valid},
            {"raw": TRUNCATED_REPLY.decode(), "topic": "Card debt"},
            {"error": "The model timed out.", "topic": "Retirement"},
        ],
    )

    assert response.status_code == 200
    body = response.json()
    assert body["summary"] == {"added": 4, "completed": 2, "failed": 2, "skipped": 0}
    assert [(r["index"], r["position"], r["status"]) for r in body["items"]] == [
        (0, 1, "completed"),
        (1, 2, "completed"),
        (2, 3, "failed"),
        (3, 4, "failed"),
    ]
    assert body["items"][2]["error"].startswith("The model's reply is not valid JSON (")
    assert body["items"][3] == {
        "index": 3,
        "status": "failed",
        "position": 4,
        "itemId": str(BatchItem.objects.get(position=4).pk),
        "conversationId": None,
        "businessConversationId": None,
        "error": "The model timed out.",
        "reason": None,
        "duplicateOf": None,
        "repeats": None,
        "warnings": [],
    }
    stored = BatchJob.objects.get(pk=job["id"])
    assert body["job"]["status"] == "processing"
    assert (stored.status, stored.total_items, stored.completed_items) == ("processing", 4, 4)
    assert (stored.successful_items, stored.failed_items) == (2, 2)
    assert stored.started_at is not None
    items = list(stored.items.order_by("position"))
    assert [i.status for i in items] == ["completed", "completed", "failed", "failed"]
    assert [i.topic for i in items] == ["Emergency fund", "", "Card debt", "Retirement"]
    first, second, truncated = (items[n].conversation for n in range(3))
    assert items[3].conversation is None
    assert first.conversation_name == "Dana's chat"
    assert second.conversation_name == "Generator run 7 #2"
    assert truncated.conversation_name == "Card debt"
    assert body["items"][0]["conversationId"] == str(first.pk)
    assert body["items"][0]["businessConversationId"] == str(first.conversation_id)
    assert json.loads(default_storage.open(first.file_path).read()) == document
    assert default_storage.open(second.raw_response_path).read() == raw_valid.encode()
    assert truncated.processing_status == ProcessingStatus.PARSE_FAILED
    assert truncated.file_path == ""
    assert default_storage.open(truncated.raw_response_path).read() == TRUNCATED_REPLY
    assert items[2].error_message == body["items"][2]["error"]
    assert len(stored_files(media_root)) == 5


def test_a_second_call_continues_after_the_last_position(api):
    job = new_job(api)
    add(api, job["id"], [{"error": "one"}, {"error": "two"}])

    response = add(api, job["id"], [{"error": "three"}])

    assert [r["position"] for r in response.json()["items"]] == [3]
    assert list(
        BatchItem.objects.order_by("position").values_list("position", "error_message")
    ) == [
        (1, "one"),
        (2, "two"),
        (3, "three"),
    ]
    assert BatchJob.objects.get().total_items == 3


def test_parameters_link_the_scaffolding_and_fill_in_the_input_parameters(api):
    persona = PersonaFactory(persona_key="cautious_saver", name="Sam Ortiz", archetype="Saver")
    arc = EmotionalArcFactory(arc_key="worry_to_calm")
    topic = TrainingTopicFactory(topic_key="emergency_fund", name="Building an Emergency Fund")
    job = new_job(api)
    parameters = {
        "personaKey": "cautious_saver",
        "emotionalArcKey": "worry_to_calm",
        "trainingTopicKey": "emergency_fund",
    }

    response = add(
        api,
        job["id"],
        [
            {"conversation": conversation_document(), "parameters": parameters},
            {"conversation": conversation_document(turns=2), "parameters": {"personaKey": "nope"}},
        ],
    )

    body = response.json()
    assert body["items"][1]["warnings"] == ["item-2: unknown persona 'nope', not linked"]
    conversation = Conversation.objects.get(pk=body["items"][0]["conversationId"])
    assert (conversation.persona, conversation.emotional_arc) == (persona, arc)
    assert conversation.training_topic == topic
    parsed = json.loads(default_storage.open(conversation.file_path).read())
    assert parsed["input_parameters"] == {
        "persona_id": str(persona.pk),
        "persona_key": "cautious_saver",
        "persona_name": "Sam Ortiz",
        "emotional_arc_id": str(arc.pk),
        "emotional_arc_key": "worry_to_calm",
        "emotional_arc_name": arc.name,
        "training_topic_id": str(topic.pk),
        "training_topic_key": "emergency_fund",
        "training_topic_name": "Building an Emergency Fund",
    }
    assert parsed["conversation_metadata"]["client_persona"] == "Sam Ortiz - Saver"
    item = BatchItem.objects.get(position=1)
    assert item.topic == "Building an Emergency Fund"
    assert item.parameters == {
        "templateId": None,
        "persona_id": str(persona.pk),
        "emotional_arc_id": str(arc.pk),
        "training_topic_id": str(topic.pk),
    }
    assert conversation.conversation_name == "Building an Emergency Fund"


ONE_KIND = "Give exactly one of conversation, raw, error."
NOT_A_PARAMETER = (
    "Not a parameter; use personaKey, emotionalArcKey, trainingTopicKey, templateName."
)


EMPTY_RAW = "Empty: for a generation that produced nothing, send its error instead."


class Contains(str):
    """Equal to any text that contains it."""

    def __eq__(self, other) -> bool:
        return isinstance(other, str) and str(self) in other

    __hash__ = str.__hash__


@pytest.mark.parametrize(
    ("items", "details"),
    [
        ([], {"items": {"non_field_errors": ["This list may not be empty."]}}),
        (
            [{"error": "x"}] * 101,
            {"items": {"non_field_errors": ["Ensure this field has no more than 100 elements."]}},
        ),
        (
            [{"error": "fine"}, {"raw": "x", "error": "y"}],
            {"items": {"1": {"non_field_errors": [ONE_KIND]}}},
        ),
        ([{"topic": "t"}], {"items": {"0": {"non_field_errors": [ONE_KIND]}}}),
        (
            [{"conversation": [1, 2]}],
            {
                "items": {
                    "0": {"conversation": ['Expected a dictionary of items but got type "list".']}
                }
            },
        ),
        (
            [{"error": "x", "parameters": {"persona_key": "saver"}}],
            {"items": {"0": {"parameters": {"persona_key": [NOT_A_PARAMETER]}}}},
        ),
        (
            [{"error": "fine"}, {"raw": ""}],
            {"items": {"1": {"raw": [EMPTY_RAW]}}},
        ),
        ([{"raw": " \n\t"}], {"items": {"0": {"raw": [EMPTY_RAW]}}}),
        (
            # Text that is JSON only to a lenient parser: no import takes it.
            [{"error": "fine"}, {"raw": "[" * 100_000 + "]" * 100_000}],
            {"items": [Contains("item-2: cannot be imported")]},
        ),
    ],
    ids=[
        "empty",
        "over-100",
        "two-kinds",
        "no-kind",
        "not-an-object",
        "unknown-parameter",
        "empty-raw",
        "blank-raw",
        "hostile-raw",
    ],
)
def test_adding_items_refuses_a_bad_body_and_stores_nothing(api, media_root, items, details):
    job = new_job(api)

    response = add(api, job["id"], items)

    assert response.status_code == 400
    body = response.json()
    # Content no import takes is the import's refusal (with its code); the rest, the body's.
    expected = {"success": False, "error": "Invalid request", "code": "invalid", "details": details}
    if isinstance(details["items"], list):
        expected["code"] = "unreadable"
    assert body == expected
    assert BatchItem.objects.count() == 0
    assert stored_files(media_root) == []


def test_duplicates_are_skipped_and_reported_unless_allowed(api, media_root):
    job = new_job(api)
    document = conversation_document()
    first = add(api, job["id"], [{"conversation": document}, {"raw": json.dumps(document)}])

    again = add(api, job["id"], [{"raw": json.dumps(document, indent=3)}, {"error": "x"}])
    allowed = add(api, job["id"], [{"conversation": document}], allowDuplicates=True)

    original = first.json()["items"][0]
    assert first.json()["items"][1]["status"] == "skipped"
    assert first.json()["items"][1]["reason"] == "duplicate"
    assert first.json()["items"][1]["repeats"] == 0
    assert first.json()["items"][1]["position"] is None
    assert again.json()["summary"] == {"added": 1, "completed": 0, "failed": 1, "skipped": 1}
    assert again.json()["items"][0]["duplicateOf"] == {
        "conversationId": original["conversationId"],
        "businessConversationId": original["businessConversationId"],
        "name": "Generator run 7 #1",
        "batchJobId": job["id"],
    }
    assert allowed.json()["items"][0]["status"] == "completed"
    stored = BatchJob.objects.get()
    assert (stored.total_items, stored.duplicate_items) == (3, 2)
    assert list(stored.items.order_by("position").values_list("position", flat=True)) == [1, 2, 3]
    assert Conversation.objects.count() == 2
    # The skipped ones leave no file behind: 2 conversations with a raw and a parsed file.
    assert len(stored_files(media_root)) == 4


def test_a_finished_job_takes_no_more_items(api, media_root):
    job = new_job(api, autoEnrich=False)
    api.post(f"/api/batch-jobs/{job['id']}/complete")

    response = add(api, job["id"], [{"conversation": conversation_document()}])

    assert response.status_code == 409
    body = response.json()
    assert body["success"] is False
    assert body["error"] == "The batch job is completed."
    assert body["job"]["status"] == "completed"
    assert Conversation.objects.count() == 0
    assert stored_files(media_root) == []


def test_completing_a_job_starts_its_auto_enrichment_titled_with_its_name(api):
    job = new_job(api)
    add(api, job["id"], [{"conversation": conversation_document()}, {"error": "timeout"}])

    response = api.post(f"/api/batch-jobs/{job['id']}/complete")
    again = api.post(f"/api/batch-jobs/{job['id']}/complete")

    assert response.status_code == 200
    body = response.json()
    run = EnrichmentRun.objects.get()
    assert body["success"] is True
    assert body["job"]["status"] == "completed"
    assert (body["job"]["successfulItems"], body["job"]["failedItems"]) == (1, 1)
    assert body["enrichmentRun"]["id"] == str(run.pk)
    assert body["enrichmentRun"]["scope"] == {"kind": "batchJob", "id": job["id"]}
    assert run.description == "Batch job “Generator run 7”"
    assert run.total == 1
    assert again.status_code == 200
    assert again.json()["enrichmentRun"] is None
    assert EnrichmentRun.objects.count() == 1
    stored = BatchJob.objects.get()
    assert stored.status == BatchJobStatus.COMPLETED
    assert stored.completed_at is not None


def test_a_job_whose_every_item_failed_completes_as_failed(api):
    job = new_job(api)
    add(api, job["id"], [{"error": "timeout"}, {"raw": "not json"}])

    response = api.post(f"/api/batch-jobs/{job['id']}/complete")
    retried = api.post(f"/api/batch-jobs/{job['id']}/complete")

    assert response.json()["job"]["status"] == "failed"
    # The one conversation (the unparseable reply) is not a successful item: no run.
    assert response.json()["enrichmentRun"] is None
    assert retried.status_code == 200
    assert BatchJob.objects.get().status == BatchJobStatus.FAILED
    assert EnrichmentRun.objects.count() == 0


@pytest.mark.parametrize(("action", "status"), [("fail", "failed"), ("cancel", "cancelled")])
def test_failing_or_cancelling_a_job_ends_it_so(api, action, status):
    job = new_job(api, autoEnrich=False)
    add(api, job["id"], [{"conversation": conversation_document()}])

    response = api.post(f"/api/batch-jobs/{job['id']}/{action}")
    again = api.post(f"/api/batch-jobs/{job['id']}/{action}")

    assert response.status_code == 200
    assert response.json()["job"]["status"] == status
    assert again.status_code == 200
    assert again.json()["job"]["status"] == status
    assert BatchJob.objects.get().status == status


def test_a_cancelled_job_cannot_be_completed_or_failed(api):
    job = new_job(api, autoEnrich=False)
    api.post(f"/api/batch-jobs/{job['id']}/cancel")

    complete = api.post(f"/api/batch-jobs/{job['id']}/complete")
    fail = api.post(f"/api/batch-jobs/{job['id']}/fail")

    for response in (complete, fail):
        assert response.status_code == 409
        assert response.json()["error"] == "The batch job is cancelled."
        assert response.json()["job"]["status"] == "cancelled"
    assert BatchJob.objects.get().status == BatchJobStatus.CANCELLED


def test_another_users_job_is_not_found_and_staff_may_feed_it(api, staff_api):
    job = BatchJobFactory(created_by=UserFactory(), status=BatchJobStatus.QUEUED)
    url = f"/api/batch-jobs/{job.pk}"

    answers = [
        api.get(url),
        api.post(f"{url}/items", {"items": [{"error": "x"}]}, format="json"),
        api.post(f"{url}/complete"),
    ]
    staff = staff_api.post(f"{url}/items", {"items": [{"error": "x"}]}, format="json")

    for response in answers:
        assert response.status_code == 404
        assert response.json() == {
            "success": False,
            "error": "Batch job not found.",
            "code": "not_found",
            "missing": [str(job.pk)],
        }
    assert staff.status_code == 200
    assert BatchItem.objects.get().batch_job == job
    job.refresh_from_db()
    assert job.status == BatchJobStatus.PROCESSING


def test_getting_a_job_answers_its_counters(api):
    job = new_job(api)
    add(api, job["id"], [{"error": "x"}])

    response = api.get(f"/api/batch-jobs/{job['id']}")

    assert response.status_code == 200
    assert response.json()["failedItems"] == 1
    assert response.json()["status"] == "processing"


def test_listing_jobs_shows_the_callers_newest_first_a_page_at_a_time(api, user):
    jobs = [BatchJobFactory(created_by=user, name=f"Mine {n}") for n in range(3)]
    BatchJobFactory(created_by=UserFactory(), name="Not mine")
    jobs[0].status = BatchJobStatus.QUEUED
    jobs[0].save()

    first = api.get("/api/batch-jobs?limit=2")
    rest = api.get("/api/batch-jobs?limit=2&offset=2")
    queued = api.get("/api/batch-jobs?status=queued")
    bad = api.get("/api/batch-jobs?status=done")

    assert [j["name"] for j in first.json()["data"]] == ["Mine 2", "Mine 1"]
    assert first.json()["pagination"] == {"limit": 2, "offset": 0, "nextOffset": 2}
    assert [j["name"] for j in rest.json()["data"]] == ["Mine 0"]
    assert rest.json()["pagination"]["nextOffset"] is None
    assert [j["name"] for j in queued.json()["data"]] == ["Mine 0"]
    assert bad.status_code == 400
    assert list(bad.json()["details"]) == ["status"]


@pytest.mark.parametrize("jobs", [1, 3])
def test_listing_jobs_costs_one_query_whatever_their_number(
    api, user, django_assert_num_queries, jobs
):
    for _ in range(jobs):
        BatchJobFactory(created_by=user)

    # The session, its user, the page of jobs with their generation settings, and the
    # provider batches of the page's generation jobs.
    with django_assert_num_queries(4):
        response = api.get("/api/batch-jobs")

    assert len(response.json()["data"]) == jobs


def test_an_unknown_job_is_404(api):
    missing = uuid.uuid4()

    response = add(api, str(missing), [{"error": "x"}])

    assert response.status_code == 404
    assert response.json()["missing"] == [str(missing)]


def test_a_failure_while_storing_rows_leaves_no_rows_and_no_files(api, media_root, monkeypatch):
    job = new_job(api)

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(BatchItem.objects, "bulk_create", broken)
    client_raises = api.raise_request_exception
    api.raise_request_exception = True
    try:
        with pytest.raises(RuntimeError):
            add(api, job["id"], [{"conversation": conversation_document()}, {"raw": "{"}])
    finally:
        api.raise_request_exception = client_raises

    assert Conversation.objects.count() == 0
    assert BatchItem.objects.count() == 0
    assert stored_files(media_root) == []
    assert BatchJob.objects.get().total_items == 0


def test_the_job_counts_match_its_items(api):
    job = new_job(api)
    add(api, job["id"], [{"conversation": conversation_document()}, {"raw": "nope"}])
    add(api, job["id"], [{"error": "x"}])

    stored = BatchJob.objects.get()
    statuses = list(stored.items.values_list("status", flat=True))
    assert stored.total_items == len(statuses) == 3
    assert stored.successful_items == statuses.count(BatchItemStatus.COMPLETED) == 1
    assert stored.failed_items == statuses.count(BatchItemStatus.FAILED) == 2
