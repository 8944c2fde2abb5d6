"""What a fine-tuning user chooses on a training file: a minimum quality tier (members
below it refused or left out with the reason) and a deterministic train/validation split
downloaded in every format (``?split=``), through the API."""

import hashlib
import json
import uuid

import pytest
from django.core.files.storage import default_storage

from conversations.models import Conversation
from review import services as review
from tests.factories import BatchItemFactory, BatchJobFactory, enriched_conversation
from tests.training.helpers import stored
from training.models import TrainingFile

pytestmark = pytest.mark.django_db

URL = "/api/training-files"
FORMATS = ("json", "jsonl", "chat-jsonl")


def expected_split(conversation_id, fraction: float) -> str:
    """The documented rule, written out again: the first 8 bytes of the SHA-256 of the
    id's text, as an unsigned integer / 2**64, below the fraction → validation."""
    digest = hashlib.sha256(str(conversation_id).encode()).digest()
    return "validation" if int.from_bytes(digest[:8], "big") / 2**64 < fraction else "train"


def download(api, training_file_id, file_format: str, split: str | None = None) -> bytes:
    params = {"format": file_format, **({"split": split} if split else {})}
    response = api.get(f"{URL}/{training_file_id}/download", params)
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def json_ids(content: bytes) -> list[str]:
    document = json.loads(content)
    return [c["conversation_metadata"]["conversation_id"] for c in document["conversations"]]


def jsonl_ids(content: bytes) -> list[str]:
    lines = [json.loads(line) for line in content.split(b"\n")[1:]]
    return list(dict.fromkeys(line["conversation_id"] for line in lines))


# Quality tier -----------------------------------------------------------------------------


def test_by_id_a_conversation_below_the_tier_is_refused_with_the_reason(api, user):
    good = enriched_conversation(created_by=user, quality_score=4.0)
    weak = enriched_conversation(created_by=user, quality_score=3.0)

    response = api.post(
        URL,
        {
            "name": "Production",
            "minQualityTier": "production",
            "conversationIds": [str(good.pk), str(weak.pk)],
        },
        format="json",
    )

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == (
        "1 conversation is below the minimum quality tier; nothing was changed."
    )
    [refused] = body["ineligible"]
    assert (refused["conversationId"], refused["reason"]) == (
        str(weak.pk),
        "below_min_quality_tier",
    )
    assert refused["message"] == (
        "The training file takes the production tier or better (this one: experimental, score 3.0)."
    )
    assert not TrainingFile.objects.exists()


def test_by_batch_job_the_others_are_left_out_and_counted_by_reason(api, user):
    job = BatchJobFactory(created_by=user)
    seed = enriched_conversation(created_by=user, quality_score=4.8)
    production = enriched_conversation(created_by=user, quality_score=3.5)
    unscored = enriched_conversation(created_by=user, quality_score=None)
    not_started = Conversation.objects.create(created_by=user)
    for conversation in (seed, production, unscored, not_started):
        BatchItemFactory(batch_job=job, conversation=conversation)

    response = api.post(
        URL,
        {"name": "Best", "minQualityTier": "production", "batchJobId": str(job.pk)},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["trainingFile"]["minQualityTier"] == "production"
    assert sorted(body["added"]) == sorted(str(c.conversation_id) for c in (seed, production))
    assert body["leftOut"] == 2
    assert body["leftOutReasons"] == {"below_min_quality_tier": 1, "not_completed": 1}
    document = json.loads(stored(TrainingFile.objects.get().json_file_path))
    tiers = {
        c["conversation_metadata"]["conversation_id"]: c["conversation_metadata"]["quality_tier"]
        for c in document["conversations"]
    }
    assert tiers == {
        str(seed.conversation_id): "seed_dataset",
        str(production.conversation_id): "production",
    }


def test_experimental_takes_unscored_conversations_and_leaves_out_rejected_ones(api, user):
    unscored = enriched_conversation(created_by=user, quality_score=None)
    rejected = enriched_conversation(created_by=user, quality_score=2.0)
    job = BatchJobFactory(created_by=user)
    for conversation in (unscored, rejected):
        BatchItemFactory(batch_job=job, conversation=conversation)

    response = api.post(
        URL,
        {"name": "Any", "minQualityTier": "experimental", "batchJobId": str(job.pk)},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["added"] == [str(unscored.conversation_id)]
    assert response.json()["leftOutReasons"] == {"below_min_quality_tier": 1}


def test_adding_to_a_tiered_file_refuses_what_is_below_it(api, user):
    good = enriched_conversation(created_by=user, quality_score=4.6)
    weak = enriched_conversation(created_by=user, quality_score=4.4)
    created = api.post(
        URL,
        {"name": "Seed", "minQualityTier": "seed_dataset", "conversationIds": [str(good.pk)]},
        format="json",
    ).json()

    response = api.post(
        f"{URL}/{created['trainingFile']['id']}/add-conversations",
        {"conversationIds": [str(weak.conversation_id)]},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["ineligible"][0]["reason"] == "below_min_quality_tier"
    assert TrainingFile.objects.get().memberships.count() == 1


def test_a_member_whose_score_fell_below_the_tier_stops_a_rebuild(api, user):
    conversation = enriched_conversation(created_by=user, quality_score=4.0)
    created = api.post(
        URL,
        {
            "name": "Production",
            "minQualityTier": "production",
            "conversationIds": [str(conversation.pk)],
        },
        format="json",
    ).json()
    before = stored(TrainingFile.objects.get().json_file_path)
    Conversation.objects.filter(pk=conversation.pk).update(quality_score=2.0)

    response = api.post(f"{URL}/{created['trainingFile']['id']}/rebuild")

    assert response.status_code == 409
    assert (
        "1 member conversation is no longer of the production tier or better"
        in (response.json()["error"])
    )
    assert f"{conversation.conversation_id} (score 2.0)" in response.json()["error"]
    training_file = TrainingFile.objects.get()
    assert training_file.status == "failed"
    assert stored(training_file.json_file_path) == before


def test_approved_only_left_out_conversations_are_counted_as_not_approved(api, user):
    job = BatchJobFactory(created_by=user)
    approved = enriched_conversation(created_by=user, quality_score=4.0)
    pending = enriched_conversation(created_by=user, quality_score=4.0)
    weak = enriched_conversation(created_by=user, quality_score=1.0)
    for conversation in (approved, pending, weak):
        BatchItemFactory(batch_job=job, conversation=conversation)
    review.review(approved, user, "approved")
    review.review(weak, user, "approved")

    response = api.post(
        URL,
        {
            "name": "Both",
            "approvedOnly": True,
            "minQualityTier": "experimental",
            "batchJobId": str(job.pk),
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["leftOutReasons"] == {"not_approved": 1, "below_min_quality_tier": 1}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("minQualityTier", "gold"),
        ("minQualityTier", 4),
        ("validationFraction", 0),
        ("validationFraction", 1),
        ("validationFraction", 1.5),
        ("validationFraction", "0.1"),
        ("validationFraction", True),
    ],
)
def test_bad_choices_are_refused_in_the_error_shape(api, user, field, value):
    conversation = enriched_conversation(created_by=user)

    response = api.post(
        URL,
        {"name": "Bad", field: value, "conversationIds": [str(conversation.pk)]},
        format="json",
    )

    assert response.status_code == 400
    body = response.json()
    assert (body["success"], body["code"]) == (False, "invalid")
    assert list(body["details"]) == [field]
    assert not TrainingFile.objects.exists()


# Train/validation split -------------------------------------------------------------------


def split_file(api, user, fraction: float = 0.5, count: int = 8):
    """A file of ``count`` conversations (fixed ids, both splits represented)."""
    conversations = [
        enriched_conversation(created_by=user, conversation_id=uuid.UUID(int=n * 7919 + 1))
        for n in range(count)
    ]
    splits = {expected_split(c.conversation_id, fraction) for c in conversations}
    assert splits == {"train", "validation"}  # the ids were chosen so
    response = api.post(
        URL,
        {
            "name": "Split set",
            "validationFraction": fraction,
            "conversationIds": [str(c.pk) for c in conversations],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["trainingFile"], conversations


def test_every_format_downloads_each_split_by_the_hash_of_the_conversation_id(api, user):
    payload, conversations = split_file(api, user)
    by_split = {"train": [], "validation": []}
    for conversation in conversations:
        by_split[expected_split(conversation.conversation_id, 0.5)].append(
            str(conversation.conversation_id)
        )

    for split, ids in by_split.items():
        assert json_ids(download(api, payload["id"], "json", split)) == ids
        assert jsonl_ids(download(api, payload["id"], "jsonl", split)) == ids
        chat = download(api, payload["id"], "chat-jsonl", split).splitlines()
        assert len(chat) == len(ids)
    everything = json_ids(download(api, payload["id"], "json"))
    assert everything == [str(c.conversation_id) for c in conversations]
    whole_chat = download(api, payload["id"], "chat-jsonl").splitlines()
    train_chat = download(api, payload["id"], "chat-jsonl", "train").splitlines()
    validation_chat = download(api, payload["id"], "chat-jsonl", "validation").splitlines()
    assert sorted(train_chat + validation_chat) == sorted(whole_chat)


def test_the_v4_metadata_states_the_split_and_its_counts(api, user):
    payload, conversations = split_file(api, user)
    validation = sum(expected_split(c.conversation_id, 0.5) == "validation" for c in conversations)
    train = len(conversations) - validation

    whole = json.loads(download(api, payload["id"], "json"))["training_file_metadata"]
    train_file = json.loads(download(api, payload["id"], "json", "train"))
    meta_line = json.loads(download(api, payload["id"], "jsonl", "validation").split(b"\n")[0])

    assert whole["total_conversations"] == len(conversations)
    assert whole["split"]["validation_fraction"] == 0.5
    assert (whole["split"]["train_conversations"], whole["split"]["validation_conversations"]) == (
        train,
        validation,
    )
    assert "sha256" in whole["split"]["method"]
    assert "name" not in whole["split"]
    metadata = train_file["training_file_metadata"]
    assert metadata["split"]["name"] == "train"
    assert metadata["total_conversations"] == train == len(train_file["conversations"])
    assert metadata["total_training_pairs"] == whole["split"]["train_training_pairs"]
    assert meta_line["_meta"]["split"] == "validation"
    assert meta_line["_meta"]["total_pairs"] == whole["split"]["validation_training_pairs"]
    assert payload["validationFraction"] == 0.5
    assert payload["split"]["train"]["conversations"] == train
    assert payload["split"]["validation"]["conversations"] == validation
    assert payload["split"]["validation"]["files"]["chatJsonl"]["url"] == (
        f"{URL}/{payload['id']}/download?format=chat-jsonl&split=validation"
    )


def test_the_split_is_the_same_after_a_rebuild_and_in_another_file(api, user):
    payload, conversations = split_file(api, user)
    before = download(api, payload["id"], "jsonl", "validation")

    assert api.post(f"{URL}/{payload['id']}/rebuild").status_code == 200
    other = api.post(
        URL,
        {
            "name": "Same fraction",
            "validationFraction": 0.5,
            "conversationIds": [str(c.pk) for c in conversations],
        },
        format="json",
    ).json()["trainingFile"]

    assert jsonl_ids(download(api, payload["id"], "jsonl", "validation")) == jsonl_ids(before)
    assert jsonl_ids(download(api, other["id"], "jsonl", "validation")) == jsonl_ids(before)


def test_a_bad_split_or_a_split_of_a_file_without_one_is_a_400(api, user):
    payload, _ = split_file(api, user, count=8)
    plain = api.post(
        URL,
        {"name": "Plain", "conversationIds": [str(enriched_conversation(created_by=user).pk)]},
        format="json",
    ).json()["trainingFile"]

    bad = api.get(f"{URL}/{payload['id']}/download", {"format": "jsonl", "split": "test"})
    none = api.get(f"{URL}/{plain['id']}/download", {"split": "train"})

    assert bad.status_code == 400
    assert bad.json() == {
        "success": False,
        "error": "Invalid request",
        "code": "invalid",
        "details": {"split": ["Must be one of: train, validation."]},
    }
    assert none.status_code == 409
    assert none.json()["code"] == "no_split"
    assert none.json()["error"].startswith("This training file has no train/validation split")
    assert plain["split"] is None and plain["validationFraction"] is None


def test_a_split_download_is_named_after_its_split(api, user):
    payload, _ = split_file(api, user)

    response = api.get(
        f"{URL}/{payload['id']}/download", {"format": "chat-jsonl", "split": "validation"}
    )

    assert 'filename="split-set-validation.chat.jsonl"' in response["Content-Disposition"]


def test_a_rebuild_replaces_the_split_files_and_deleting_removes_them(
    api, user, django_capture_on_commit_callbacks
):
    payload, _ = split_file(api, user)
    first = TrainingFile.objects.get(pk=payload["id"]).stored_paths

    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"{URL}/{payload['id']}/rebuild").status_code == 200
    second = TrainingFile.objects.get(pk=payload["id"]).stored_paths
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"{URL}/{payload['id']}").status_code == 204

    assert len(first) == len(second) == 9
    assert not set(first) & set(second)
    assert not any(default_storage.exists(path) for path in first + second)
