"""The training-file services: eligibility, selections, and builds that are overtaken,
deleted under them, or cannot be queued."""

import uuid

import pytest
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from conversations.lookups import BatchJobNotFound
from conversations.models import Conversation
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    TrainingFileConversationFactory,
    TrainingFileFactory,
    UserFactory,
    enriched_conversation,
)
from tests.jobs import queued as queued_jobs
from tests.jobs import run_jobs
from tests.training.helpers import queued
from training import builds, services
from training.eligibility import Selection, select_batch_job, select_matching
from training.models import TrainingFile

pytestmark = pytest.mark.django_db


def members(training_file) -> list[uuid.UUID]:
    return list(training_file.memberships.order_by("id").values_list("conversation_id", flat=True))


def test_eligibility_is_completed_with_an_enriched_file_in_queries_and_instances():
    eligible = enriched_conversation()
    no_file = enriched_conversation()
    Conversation.objects.filter(pk=no_file.pk).update(enriched_file_path="")
    pending = ConversationFactory()
    rows = Conversation.objects.order_by("created_at")

    in_query = set(rows.eligible_for_training().values_list("pk", flat=True))
    by_instance = {c.pk for c in rows if c.is_eligible_for_training}

    assert in_query == by_instance == {eligible.pk}
    assert pending.pk not in in_query


def test_a_selection_by_filter_counts_what_it_leaves_out():
    owner = UserFactory()
    done = [enriched_conversation(created_by=owner) for _ in range(2)]
    ConversationFactory(created_by=owner)

    selection = select_matching(
        Conversation.objects.filter(created_by=owner).order_by("created_at")
    )

    assert selection.pks == [c.pk for c in done]
    assert selection.left_out == 1


def test_a_batch_job_of_someone_else_is_not_found():
    job = BatchJobFactory()
    BatchItemFactory(batch_job=job, conversation=enriched_conversation(created_by=job.created_by))

    with pytest.raises(BatchJobNotFound):
        select_batch_job(job.pk, user=UserFactory())


def test_names_are_unique_per_owner_and_among_files_without_owner():
    owner = UserFactory()
    TrainingFileFactory(name="Same", created_by=owner)
    TrainingFileFactory(name="Same", created_by=None)

    for created_by in (owner, None):
        with pytest.raises(IntegrityError), transaction.atomic():
            TrainingFile.objects.create(name="Same", created_by=created_by)
    TrainingFileFactory(name="Same", created_by=UserFactory())


def test_a_member_is_in_a_file_at_most_once():
    membership = TrainingFileConversationFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingFileConversationFactory(
            training_file=membership.training_file, conversation=membership.conversation
        )


def test_a_queued_build_records_its_files():
    owner = UserFactory()
    conversations = [enriched_conversation(created_by=owner) for _ in range(2)]
    training_file = queued(owner, conversations)
    progress = []

    outcome = builds.run_build(
        training_file.pk, training_file.build_generation, on_progress=lambda *a: progress.append(a)
    )

    training_file.refresh_from_db()
    assert outcome == "active"
    assert progress == [(2, 2)]
    assert (training_file.status, training_file.conversation_count) == ("active", 2)
    assert (training_file.build_done, training_file.build_total) == (2, 2)
    assert training_file.build_started_at is not None


def test_a_build_overtaken_by_a_change_records_nothing_and_deletes_what_it_wrote():
    owner = UserFactory()
    first, second = (enriched_conversation(created_by=owner) for _ in range(2))
    training_file = queued(owner, [first])
    generation = training_file.build_generation

    def someone_adds_a_conversation(done: int, total: int) -> None:
        services.add_conversations(
            training_file, Selection([second.pk]), user=owner, background=True, enqueue=False
        )

    outcome = builds.run_build(
        training_file.pk, generation, on_progress=someone_adds_a_conversation
    )

    training_file.refresh_from_db()
    assert outcome == "superseded"
    assert training_file.build_generation == generation + 1
    assert (training_file.status, training_file.json_file_path) == ("processing", "")
    assert default_storage.listdir(f"training-files/{training_file.pk}") == ([], [])
    assert builds.run_build(training_file.pk, generation + 1) == "active"
    training_file.refresh_from_db()
    assert training_file.conversation_count == 2


def test_an_older_generation_does_not_build_at_all():
    owner = UserFactory()
    training_file = queued(owner, [enriched_conversation(created_by=owner)])

    assert builds.run_build(training_file.pk, training_file.build_generation - 1) == "superseded"
    assert builds.run_build(uuid.uuid4(), 1) == "superseded"


def test_a_file_deleted_while_building_leaves_no_files():
    owner = UserFactory()
    training_file = queued(owner, [enriched_conversation(created_by=owner)])

    def someone_deletes_it(done: int, total: int) -> None:
        TrainingFile.objects.filter(pk=training_file.pk).delete()

    outcome = builds.run_build(
        training_file.pk, training_file.build_generation, on_progress=someone_deletes_it
    )

    assert outcome == "superseded"
    assert default_storage.listdir(f"training-files/{training_file.pk}") == ([], [])


def test_a_failed_background_build_keeps_the_previous_files_and_says_why():
    owner = UserFactory()
    first, second = (enriched_conversation(created_by=owner) for _ in range(2))
    training_file = queued(owner, [first])
    builds.run_build(training_file.pk, training_file.build_generation)
    training_file.refresh_from_db()
    previous = (training_file.json_file_path, training_file.conversation_count)
    default_storage.delete(second.enriched_file_path)
    change = services.add_conversations(
        training_file, Selection([second.pk]), user=owner, background=True, enqueue=False
    )

    outcome = builds.run_build(training_file.pk, change.training_file.build_generation)

    training_file.refresh_from_db()
    assert outcome == "failed"
    assert training_file.status == "failed"
    assert training_file.error == (
        f"The enriched file of conversation {second.conversation_id} "
        f"({second.enriched_file_path}) is missing from storage. Enrich it again (force), or "
        "remove it, then rebuild."
    )
    assert (training_file.json_file_path, training_file.conversation_count) == previous
    assert default_storage.exists(training_file.json_file_path)
    assert members(training_file) == [first.conversation_id, second.conversation_id]


def test_a_queued_build_is_a_job_with_the_files_id_and_generation():
    owner = UserFactory()

    training_file = services.create_training_file(
        name="Queued",
        user=owner,
        selection=Selection([enriched_conversation(created_by=owner).pk]),
        background=True,
    ).training_file

    [build] = queued_jobs()
    assert build.task_name == "training.tasks.build_training_file"
    assert build.args == {"training_file_id": str(training_file.pk), "generation": 1}


def test_a_queued_build_is_run_by_a_worker_and_recorded():
    owner = UserFactory()
    training_file = services.create_training_file(
        name="Queued",
        user=owner,
        selection=Selection([enriched_conversation(created_by=owner).pk]),
        background=True,
    ).training_file

    assert run_jobs() == ["training.tasks.build_training_file"]

    training_file.refresh_from_db()
    assert (training_file.status, training_file.conversation_count) == ("active", 1)


def test_a_rolled_back_change_queues_nothing():
    owner = UserFactory()

    selection = Selection([enriched_conversation(created_by=owner).pk])

    with pytest.raises(RuntimeError), transaction.atomic():
        services.create_training_file(
            name="Rolled back", user=owner, selection=selection, background=True
        )
        raise RuntimeError

    assert not TrainingFile.objects.exists()
    assert not queued_jobs().exists()


def test_the_chat_file_of_our_own_conversations_loads_in_hugging_face_datasets(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    from datasets import load_dataset

    owner = UserFactory()
    conversations = [enriched_conversation(created_by=owner) for _ in range(3)]
    training_file = services.create_training_file(
        name="Chat", user=owner, selection=Selection([c.pk for c in conversations])
    ).training_file
    path = tmp_path / "chat.jsonl"
    with default_storage.open(training_file.chat_jsonl_file_path, "rb") as handle:
        path.write_bytes(handle.read())

    rows = load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))

    assert rows.num_rows == 3
    for messages in rows["messages"]:
        # Our factory conversations: 4 turns, user first, so system + 4 alternating turns.
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
        assert [m["content"] for m in messages[1:]] == [
            f"Turn {n}: a thoughtful message about saving for emergencies." for n in range(1, 5)
        ]
