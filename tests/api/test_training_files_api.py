"""The training-file API: create, read, extend, shrink, rebuild, archive, delete and
download, with the error shape and the ownership rules of the rest of the API."""

import json
import uuid

import pytest
from django.core.files.storage import default_storage

from conversations.models import Conversation
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    UserFactory,
    enriched_conversation,
)
from tests.jobs import run_jobs
from training.models import TrainingFile

pytestmark = pytest.mark.django_db

URL = "/api/training-files"


def completed(owner, count: int = 1) -> list[Conversation]:
    return [enriched_conversation(created_by=owner) for _ in range(count)]


def stored(path: str) -> bytes:
    with default_storage.open(path, "rb") as handle:
        return handle.read()


def members(training_file: TrainingFile) -> list[uuid.UUID]:
    return list(training_file.memberships.order_by("id").values_list("conversation_id", flat=True))


def conversation_ids_in_json(training_file: TrainingFile) -> list[str]:
    document = json.loads(stored(training_file.json_file_path))
    return [c["conversation_metadata"]["conversation_id"] for c in document["conversations"]]


def create(api, conversations, name: str = "March set", **extra):
    body = {"name": name, "conversationIds": [str(c.conversation_id) for c in conversations]}
    return api.post(URL, {**body, **extra}, format="json")


def build_queued() -> list[str]:
    """Run the queued builds the way a worker would (in this process)."""
    return run_jobs()


# Creating ------------------------------------------------------------------------------


def test_creating_a_training_file_builds_it_in_the_request(api, user):
    conversations = completed(user, 2)

    response = create(api, conversations, description="Two calm ones")

    assert response.status_code == 201
    body = response.json()
    training_file = TrainingFile.objects.get(pk=body["trainingFile"]["id"])
    assert response["Location"] == f"/api/training-files/{training_file.pk}"
    assert body["success"] is True
    assert body["added"] == [str(c.conversation_id) for c in conversations]
    assert (body["alreadyIncluded"], body["removed"], body["leftOut"]) == ([], [], 0)
    payload = body["trainingFile"]
    assert payload == {
        "id": str(training_file.pk),
        "name": "March set",
        "description": "Two calm ones",
        "approvedOnly": False,
        "minQualityTier": None,
        "validationFraction": None,
        "status": "active",
        "error": None,
        "memberCount": 2,
        "conversationCount": 2,
        "totalTrainingPairs": 8,
        "qualitySummary": {
            "avgQualityScore": 3.0,
            "minQualityScore": 3.0,
            "maxQualityScore": 3.0,
            "humanReviewedCount": 0,
        },
        "scaffoldingDistribution": {"personas": {}, "emotionalArcs": {}, "trainingTopics": {}},
        "progress": None,
        "files": {
            "json": {
                "size": training_file.json_file_size,
                "url": f"/api/training-files/{training_file.pk}/download?format=json",
            },
            "jsonl": {
                "size": training_file.jsonl_file_size,
                "url": f"/api/training-files/{training_file.pk}/download?format=jsonl",
            },
            "chatJsonl": {
                "size": training_file.chat_jsonl_file_size,
                "url": f"/api/training-files/{training_file.pk}/download?format=chat-jsonl",
            },
        },
        "split": None,
        "lastUpdatedAt": training_file.last_updated_at.isoformat(),
        "createdAt": training_file.created_at.isoformat(),
        "updatedAt": training_file.updated_at.isoformat(),
        "createdBy": user.username,
        "url": f"/api/training-files/{training_file.pk}",
    }
    assert training_file.created_by == user
    assert members(training_file) == [c.conversation_id for c in conversations]
    assert conversation_ids_in_json(training_file) == [
        str(c.conversation_id) for c in conversations
    ]
    assert training_file.memberships.first().added_by == user


def test_row_ids_work_as_well_as_business_ids(api, user):
    conversation = completed(user)[0]

    response = api.post(
        URL, {"name": "By row id", "conversationIds": [str(conversation.pk)]}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["added"] == [str(conversation.conversation_id)]


def test_a_batch_job_gives_its_completed_conversations_and_counts_the_rest(api, user):
    job = BatchJobFactory(created_by=user)
    done = BatchItemFactory(batch_job=job, conversation=completed(user)[0])
    BatchItemFactory(batch_job=job)  # not enriched
    BatchItemFactory(batch_job=job, status="failed", conversation=None)
    BatchItemFactory(conversation=completed(user)[0])  # another job's

    response = api.post(URL, {"name": "From a job", "batchJobId": str(job.pk)}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["added"] == [str(done.conversation.conversation_id)]
    assert body["leftOut"] == 1
    assert body["trainingFile"]["conversationCount"] == 1


def test_over_the_bulk_limit_the_build_goes_to_the_background(
    api, user, settings, django_capture_on_commit_callbacks
):
    settings.ENRICHMENT_BULK_LIMIT = 2
    conversations = completed(user, 3)

    with django_capture_on_commit_callbacks(execute=True):
        response = create(api, conversations)

    assert response.status_code == 202
    payload = response.json()["trainingFile"]
    assert (payload["status"], payload["files"], payload["conversationCount"]) == (
        "processing",
        None,
        0,
    )
    assert payload["progress"] == {
        "total": 3,
        "done": 0,
        "percent": 0,
        "waitingForWorker": True,  # no worker runs in this test
    }
    assert payload["memberCount"] == 3
    training_file = TrainingFile.objects.get(pk=payload["id"])
    assert not training_file.is_built

    assert build_queued() == ["training.tasks.build_training_file"]

    shown = api.get(f"{URL}/{training_file.pk}").json()
    assert (shown["status"], shown["conversationCount"], shown["progress"]) == ("active", 3, None)
    training_file.refresh_from_db()
    assert conversation_ids_in_json(training_file) == [
        str(c.conversation_id) for c in conversations
    ]


def test_ineligible_conversations_are_409_each_with_its_reason_and_nothing_is_created(api, user):
    good = completed(user)[0]
    failed = ConversationFactory(created_by=user, document=b"{", conversation_name="Broken")
    not_started = ConversationFactory(created_by=user)
    from enrichment.pipeline.run import enrich_conversations

    enrich_conversations([failed.pk])
    no_file = completed(user)[0]
    Conversation.objects.filter(pk=no_file.pk).update(enriched_file_path="")

    response = api.post(
        URL,
        {
            "name": "Mixed",
            "conversationIds": [
                str(good.pk),
                str(failed.conversation_id),
                str(not_started.pk),
                str(no_file.pk),
            ],
        },
        format="json",
    )

    assert response.status_code == 409
    body = response.json()
    assert body["success"] is False
    assert (
        body["error"]
        == "3 conversations are not completed with an enriched file; nothing was changed."
    )
    assert body["ineligible"] == [
        {
            "conversationId": str(failed.conversation_id),
            "businessConversationId": str(failed.conversation_id),
            "enrichmentStatus": "validation_failed",
            "reason": "not_completed",
            "message": "Its enrichment is not completed (status: validation failed).",
        },
        {
            "conversationId": str(not_started.pk),
            "businessConversationId": str(not_started.conversation_id),
            "enrichmentStatus": "not_started",
            "reason": "not_completed",
            "message": "Its enrichment is not completed (status: not started).",
        },
        {
            "conversationId": str(no_file.pk),
            "businessConversationId": str(no_file.conversation_id),
            "enrichmentStatus": "completed",
            "reason": "no_enriched_file",
            "message": "It has no enriched file.",
        },
    ]
    assert body["details"] == {
        "conversationIds": [
            f"{failed.conversation_id}: Its enrichment is not completed "
            "(status: validation failed).",
            f"{not_started.pk}: Its enrichment is not completed (status: not started).",
            f"{no_file.pk}: It has no enriched file.",
        ]
    }
    assert not TrainingFile.objects.exists()


def test_unknown_or_invisible_conversations_are_404_listing_them(api, user):
    mine = completed(user)[0]
    theirs = completed(UserFactory())[0]
    unknown = uuid.uuid4()

    response = api.post(
        URL,
        {"name": "Sneaky", "conversationIds": [str(mine.pk), str(theirs.pk), str(unknown)]},
        format="json",
    )

    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": "Some conversations were not found.",
        "code": "not_found",
        "missing": [str(theirs.pk), str(unknown)],
    }
    assert not TrainingFile.objects.exists()


def test_an_invisible_batch_job_is_404(api, user):
    job = BatchJobFactory()

    response = api.post(URL, {"name": "Job", "batchJobId": str(job.pk)}, format="json")

    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": "Batch job not found.",
        "code": "not_found",
        "missing": [str(job.pk)],
    }


def test_a_batch_job_without_completed_conversations_is_409(api, user):
    job = BatchJobFactory(created_by=user)
    BatchItemFactory(batch_job=job)

    response = api.post(URL, {"name": "Empty", "batchJobId": str(job.pk)}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": "There are no completed conversations to put in a training file.",
        "code": "nothing_selected",
    }
    assert not TrainingFile.objects.exists()


def test_a_name_is_unique_per_owner(api, user):
    conversations = completed(user)
    assert create(api, conversations, name="Same").status_code == 201
    other = UserFactory()
    other_api = type(api)()
    other_api.force_login(other)

    again = create(api, conversations, name="Same")
    theirs = create(other_api, completed(other), name="Same")

    assert again.status_code == 409
    assert again.json() == {
        "success": False,
        "error": "You already have a training file named “Same”.",
        "code": "name_taken",
    }
    assert theirs.status_code == 201
    assert TrainingFile.objects.filter(name="Same").count() == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "No selection"},
        {"conversationIds": [str(uuid.uuid4())]},
        {"name": "   ", "conversationIds": [str(uuid.uuid4())]},
        {"name": "\x1f\x85\u2028", "conversationIds": [str(uuid.uuid4())]},
        {"name": "Both", "conversationIds": [str(uuid.uuid4())], "batchJobId": str(uuid.uuid4())},
        {"name": "Empty", "conversationIds": []},
        {"name": "Bad id", "conversationIds": ["nope"]},
        {"name": 7, "conversationIds": [str(uuid.uuid4())]},
        {"name": "Typo", "conversationId": [str(uuid.uuid4())]},
        {"name": "x" * 256, "conversationIds": [str(uuid.uuid4())]},
        {"name": "Nul\x00", "conversationIds": [str(uuid.uuid4())]},
    ],
)
def test_a_bad_create_body_is_400_with_details(api, body):
    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert response.json()["error"] == "Invalid request"
    assert response.json()["details"]
    assert not TrainingFile.objects.exists()


def test_a_body_that_is_not_json_is_415(api):
    response = api.post(URL, "name=x", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.json()["error"] == "Invalid request"
    assert TrainingFile.objects.count() == 0


def test_the_api_needs_a_login(client):
    response = client.get(URL)

    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "error": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }
    assert TrainingFile.objects.count() == 0


# Reading ---------------------------------------------------------------------------------


def test_listing_shows_own_files_newest_first_paginated(api, user):
    older = TrainingFile.objects.create(name="Older", created_by=user)
    newer = TrainingFile.objects.create(name="Newer", created_by=user)
    TrainingFile.objects.create(name="Not mine", created_by=UserFactory())

    first = api.get(URL, {"limit": 1}).json()
    second = api.get(URL, {"limit": 1, "offset": 1}).json()

    assert first["success"] is True
    assert [item["name"] for item in first["data"]] == ["Newer"]
    assert first["pagination"] == {"limit": 1, "offset": 0, "nextOffset": 1}
    assert [item["id"] for item in second["data"]] == [str(older.pk)]
    assert second["pagination"] == {"limit": 1, "offset": 1, "nextOffset": None}
    assert first["data"][0]["id"] == str(newer.pk)


def test_staff_list_every_file_and_filter_by_status(staff_api, user):
    TrainingFile.objects.create(name="A", created_by=user, status="archived")
    TrainingFile.objects.create(name="B", created_by=UserFactory())

    every = staff_api.get(URL).json()
    archived = staff_api.get(URL, {"status": "archived"}).json()

    assert sorted(item["name"] for item in every["data"]) == ["A", "B"]
    assert [item["name"] for item in archived["data"]] == ["A"]


@pytest.mark.parametrize(
    "query", [{"status": "gone"}, {"offset": "-1"}, {"limit": "0"}, {"limit": "999"}]
)
def test_a_bad_list_query_is_400(api, query):
    response = api.get(URL, query)

    assert response.status_code == 400
    assert response.json()["success"] is False


@pytest.mark.parametrize("count", [1, 3])
def test_listing_takes_the_same_queries_at_any_size(api, user, count, django_assert_num_queries):
    for n in range(count):
        TrainingFile.objects.create(name=f"F{n}", created_by=user)

    # session, user, the page, member counts, and (files being built) whether a worker runs
    with django_assert_num_queries(5):
        response = api.get(URL)

    assert len(response.json()["data"]) == count


def test_another_users_file_is_404_for_every_operation(api):
    training_file = TrainingFile.objects.create(
        name="Theirs", created_by=UserFactory(), status="active"
    )
    base = f"{URL}/{training_file.pk}"

    answers = [
        api.get(base),
        api.delete(base),
        api.post(
            f"{base}/add-conversations", {"conversationIds": [str(uuid.uuid4())]}, format="json"
        ),
        api.post(
            f"{base}/remove-conversations", {"conversationIds": [str(uuid.uuid4())]}, format="json"
        ),
        api.post(f"{base}/rebuild"),
        api.post(f"{base}/archive"),
        api.post(f"{base}/unarchive"),
        api.get(f"{base}/download", {"format": "json"}),
    ]

    for response in answers:
        assert response.status_code == 404
        assert response.json() == {
            "success": False,
            "error": "Training file not found.",
            "code": "not_found",
            "missing": [str(training_file.pk)],
        }
    assert TrainingFile.objects.filter(pk=training_file.pk, status="active").exists()


# Changing --------------------------------------------------------------------------------


def test_adding_reports_the_ones_already_included_and_rebuilds(
    api, user, django_capture_on_commit_callbacks
):
    first, second = completed(user, 2)
    created = create(api, [first]).json()["trainingFile"]
    training_file = TrainingFile.objects.get(pk=created["id"])
    old_json = training_file.json_file_path

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"{URL}/{training_file.pk}/add-conversations",
            {"conversationIds": [str(first.pk), str(second.conversation_id), str(second.pk)]},
            format="json",
        )

    assert response.status_code == 200
    body = response.json()
    assert body["added"] == [str(second.conversation_id)]
    assert body["alreadyIncluded"] == [str(first.pk)]
    assert body["trainingFile"]["conversationCount"] == 2
    training_file.refresh_from_db()
    assert members(training_file) == [first.conversation_id, second.conversation_id]
    assert conversation_ids_in_json(training_file) == [
        str(first.conversation_id),
        str(second.conversation_id),
    ]
    assert training_file.json_file_path != old_json
    assert not default_storage.exists(old_json)


def test_adding_only_members_changes_nothing(api, user):
    conversation = completed(user)[0]
    created = create(api, [conversation]).json()["trainingFile"]
    training_file = TrainingFile.objects.get(pk=created["id"])

    response = api.post(
        f"{URL}/{training_file.pk}/add-conversations",
        {"conversationIds": [str(conversation.pk)]},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["added"], response.json()["alreadyIncluded"]) == (
        [],
        [str(conversation.pk)],
    )
    assert (
        TrainingFile.objects.get(pk=training_file.pk).json_file_path == training_file.json_file_path
    )


def test_adding_an_ineligible_conversation_changes_nothing(api, user):
    conversation = completed(user)[0]
    training_file = TrainingFile.objects.get(
        pk=create(api, [conversation]).json()["trainingFile"]["id"]
    )
    pending = ConversationFactory(created_by=user)

    response = api.post(
        f"{URL}/{training_file.pk}/add-conversations",
        {"conversationIds": [str(pending.pk)]},
        format="json",
    )

    assert response.status_code == 409
    assert [item["reason"] for item in response.json()["ineligible"]] == ["not_completed"]
    assert members(training_file) == [conversation.conversation_id]


def test_adding_a_batch_job(api, user):
    conversation = completed(user)[0]
    training_file = TrainingFile.objects.get(
        pk=create(api, [conversation]).json()["trainingFile"]["id"]
    )
    job = BatchJobFactory(created_by=user)
    item = BatchItemFactory(batch_job=job, conversation=completed(user)[0])

    response = api.post(
        f"{URL}/{training_file.pk}/add-conversations", {"batchJobId": str(job.pk)}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["added"] == [str(item.conversation.conversation_id)]
    assert members(training_file) == [
        conversation.conversation_id,
        item.conversation.conversation_id,
    ]


def test_a_failed_build_in_the_request_changes_nothing(api, user):
    first, second = completed(user, 2)
    training_file = TrainingFile.objects.get(pk=create(api, [first]).json()["trainingFile"]["id"])
    default_storage.delete(second.enriched_file_path)

    response = api.post(
        f"{URL}/{training_file.pk}/add-conversations",
        {"conversationIds": [str(second.pk)]},
        format="json",
    )

    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": (
            "The training file could not be built: The enriched file of conversation "
            f"{second.conversation_id} ({second.enriched_file_path}) is missing from storage. "
            "Enrich it again (force), or remove it, then rebuild."
        ),
        "code": "build_failed",
    }
    training_file.refresh_from_db()
    assert members(training_file) == [first.conversation_id]
    assert training_file.status == "active"
    assert default_storage.exists(training_file.json_file_path)
    assert list(default_storage.listdir(f"training-files/{training_file.pk}")[0]) == [
        training_file.json_file_path.split("/")[2]
    ]


def test_removing_members_rebuilds_and_reports_the_others(api, user):
    first, second = completed(user, 2)
    training_file = TrainingFile.objects.get(
        pk=create(api, [first, second]).json()["trainingFile"]["id"]
    )
    stranger = uuid.uuid4()

    response = api.post(
        f"{URL}/{training_file.pk}/remove-conversations",
        {"conversationIds": [str(first.pk), str(stranger)]},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["removed"], body["notIncluded"]) == ([str(first.conversation_id)], [str(stranger)])
    assert body["trainingFile"]["conversationCount"] == 1
    training_file.refresh_from_db()
    assert members(training_file) == [second.conversation_id]
    assert conversation_ids_in_json(training_file) == [str(second.conversation_id)]


def test_rebuild_takes_the_members_current_enriched_files(api, user):
    conversation = completed(user)[0]
    training_file = TrainingFile.objects.get(
        pk=create(api, [conversation]).json()["trainingFile"]["id"]
    )
    document = json.loads(stored(conversation.enriched_file_path))
    document["training_pairs"][1]["target_response"] = "A better answer."
    from core.storage import write_file

    write_file(conversation.enriched_file_path, json.dumps(document).encode())

    response = api.post(f"{URL}/{training_file.pk}/rebuild")

    assert response.status_code == 200
    training_file.refresh_from_db()
    rebuilt = json.loads(stored(training_file.json_file_path))
    assert rebuilt["conversations"][0]["training_pairs"][1]["target_response"] == "A better answer."


def test_a_failed_rebuild_keeps_the_previous_files_and_says_why(api, user):
    conversation = completed(user)[0]
    training_file = TrainingFile.objects.get(
        pk=create(api, [conversation]).json()["trainingFile"]["id"]
    )
    before = stored(training_file.json_file_path)
    Conversation.objects.filter(pk=conversation.pk).update(enrichment_status="enrichment_failed")

    response = api.post(f"{URL}/{training_file.pk}/rebuild")

    assert response.status_code == 409
    body = response.json()
    reason = (
        f"1 member conversation is no longer completed with an enriched file: "
        f"{conversation.conversation_id} (enrichment failed). Remove them or enrich them again, "
        "then rebuild."
    )
    assert body["error"] == f"The training file could not be built: {reason}"
    assert body["trainingFile"]["status"] == "failed"
    assert body["trainingFile"]["error"] == f"The training file could not be built: {reason}"
    training_file.refresh_from_db()
    assert training_file.status == "failed"
    assert stored(training_file.json_file_path) == before
    download = api.get(f"{URL}/{training_file.pk}/download", {"format": "json"})
    assert b"".join(download.streaming_content) == before


def test_archived_files_take_no_changes_until_unarchived(api, user):
    first, second = completed(user, 2)
    training_file = TrainingFile.objects.get(pk=create(api, [first]).json()["trainingFile"]["id"])

    archived = api.post(f"{URL}/{training_file.pk}/archive")
    refused = api.post(
        f"{URL}/{training_file.pk}/add-conversations",
        {"conversationIds": [str(second.pk)]},
        format="json",
    )
    download = api.get(f"{URL}/{training_file.pk}/download")
    unarchived = api.post(f"{URL}/{training_file.pk}/unarchive")

    assert (archived.status_code, archived.json()["status"]) == (200, "archived")
    assert refused.status_code == 409
    assert refused.json() == {
        "success": False,
        "error": "The training file is archived; unarchive it to change it.",
        "code": "not_changeable",
    }
    assert download.status_code == 200
    assert (unarchived.status_code, unarchived.json()["status"]) == (200, "active")
    assert members(training_file) == [first.conversation_id]


def test_a_file_being_built_cannot_be_archived(api, user):
    training_file = TrainingFile.objects.create(name="Busy", created_by=user, status="processing")

    response = api.post(f"{URL}/{training_file.pk}/archive")

    assert response.status_code == 409
    assert (
        response.json()["error"] == "The training file is being built; archive it once it is done."
    )
    training_file.refresh_from_db()
    assert training_file.status == "processing"


def test_deleting_removes_the_row_and_every_stored_file(
    api, user, media_root, django_capture_on_commit_callbacks
):
    training_file = TrainingFile.objects.get(
        pk=create(api, completed(user)).json()["trainingFile"]["id"]
    )
    paths = training_file.stored_paths

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"{URL}/{training_file.pk}")

    assert response.status_code == 204
    assert not TrainingFile.objects.filter(pk=training_file.pk).exists()
    assert [default_storage.exists(path) for path in paths] == [False, False, False]
    assert not (media_root / "training-files" / str(training_file.pk)).exists()
    assert Conversation.objects.count() == 1


# Downloading -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_format", "content_type", "suffix"),
    [
        ("json", "application/json", ".json"),
        ("jsonl", "application/x-ndjson", ".jsonl"),
        ("chat-jsonl", "application/x-ndjson", ".chat.jsonl"),
    ],
)
def test_downloads_stream_the_stored_file(api, user, file_format, content_type, suffix):
    training_file = TrainingFile.objects.get(
        pk=create(api, completed(user, 2), name="March: calm ones").json()["trainingFile"]["id"]
    )

    response = api.get(f"{URL}/{training_file.pk}/download", {"format": file_format})

    assert response.status_code == 200
    assert response.streaming is True
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="march-calm-ones{suffix}"'
    body = b"".join(response.streaming_content)
    assert body == stored(training_file.path_for(file_format))
    assert len(body) == training_file.size_for(file_format)


def test_download_defaults_to_json_and_refuses_unknown_formats(api, user):
    training_file = TrainingFile.objects.get(
        pk=create(api, completed(user)).json()["trainingFile"]["id"]
    )

    default = api.get(f"{URL}/{training_file.pk}/download")
    unknown = api.get(f"{URL}/{training_file.pk}/download", {"format": "csv"})

    assert b"".join(default.streaming_content) == stored(training_file.json_file_path)
    assert unknown.status_code == 400
    assert unknown.json() == {
        "success": False,
        "error": "Invalid request",
        "code": "invalid",
        "details": {"format": ["Must be one of: json, jsonl, chat-jsonl."]},
    }


def test_a_file_not_built_yet_has_nothing_to_download(api, user):
    training_file = TrainingFile.objects.create(name="Later", created_by=user, status="processing")

    response = api.get(f"{URL}/{training_file.pk}/download")

    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": "The training file has not been built yet.",
        "code": "not_built",
        "trainingFileStatus": "processing",
    }
