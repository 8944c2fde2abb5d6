"""Upgrading a database of the version before the job engine: ``migrate`` keeps every run,
build and conversation, and the unfinished ones are picked up by the engine."""

import json
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from conversations.models import COUNT_FIELDS
from tests.factories import conversation_document
from tests.jobs import queued, run_jobs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

BEFORE = [
    ("enrichment", "0010_last_failure_and_run_lanes"),
    ("training", "0002_build_heartbeat"),
    ("batches", "0003_job_conversation_counts"),
]


def migrate(targets) -> object:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def latest() -> list[tuple[str, str]]:
    """Every app's last migration: the database as the other tests expect it."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_migrate_keeps_runs_builds_and_conversations_and_the_engine_picks_them_up():
    old = migrate(BEFORE)
    User = old.get_model("auth", "User")
    Conversation = old.get_model("enrichment", "Conversation")
    Run = old.get_model("enrichment", "EnrichmentRun")
    Item = old.get_model("enrichment", "EnrichmentRunItem")
    Lane = old.get_model("enrichment", "EnrichmentRunLane")
    TrainingFile = old.get_model("training", "TrainingFile")
    owner = User.objects.create(username="dana")
    conversations = []
    for n in range(3):
        business_id = uuid.uuid4()
        path = f"{owner.pk}/{business_id}/conversation.json"
        default_storage.save(path, ContentFile(json.dumps(conversation_document()).encode()))
        conversations.append(
            Conversation.objects.create(
                conversation_id=business_id,
                created_by=owner,
                conversation_name=f"Chat {n}",
                file_path=path,
                processing_status="completed",
            )
        )
    now = timezone.now()
    run = Run.objects.create(source="cli", status="running", total=3, started_at=now)
    lane = Lane.objects.create(run=run, worker_id="killed-before-the-upgrade")
    for position, conversation in enumerate(conversations, start=1):
        Item.objects.create(run=run, conversation=conversation, position=position)
    # The old version's lane had claimed the first conversation when its worker died.
    Item.objects.filter(run=run, position=1).update(claim_token=lane.pk, claimed_until=now)
    Conversation.objects.filter(pk=conversations[0].pk).update(
        enrichment_status="enrichment_in_progress",
        enrichment_status_before_claim="not_started",
        enrichment_claim_token=lane.pk,
        enrichment_lease_expires_at=now,
    )
    # A job holding all three, with counts its old sweep never took.
    Job = old.get_model("batches", "BatchJob")
    job = Job.objects.create(name="Old job", created_by=owner, status="completed")
    for position, conversation in enumerate(conversations, start=1):
        job.items.create(position=position, status="completed", conversation=conversation)
    building = TrainingFile.objects.create(
        name="Half built", created_by=owner, status="processing", build_generation=1
    )
    finished = Run.objects.create(source="api", status="completed", total=0)

    migrate(latest())

    from conversations.models import Conversation as Current
    from enrichment.models import EnrichmentRun

    assert Current.objects.count() == 3
    assert EnrichmentRun.objects.filter(pk=finished.pk, status="completed").exists()
    assert Current.objects.get(pk=conversations[0].pk).enrichment_status == "not_started"
    assert {(job.task_name, tuple(sorted(job.args.items()))) for job in queued()} == {
        ("enrichment.tasks.enrich_run_lane", (("run_id", str(run.pk)),)),
        (
            "training.tasks.build_training_file",
            (("generation", 1), ("training_file_id", str(building.pk))),
        ),
    }

    from conversations.models import BatchJob

    assert BatchJob.objects.filter(pk=job.pk).values_list(*COUNT_FIELDS).get() == (3, 0, 0)

    run_jobs()

    upgraded = EnrichmentRun.objects.get(pk=run.pk)
    assert (upgraded.status, upgraded.enriched) == ("completed", 3)
    # From then on the counts move with the outcomes.
    assert BatchJob.objects.filter(pk=job.pk).values_list(*COUNT_FIELDS).get() == (3, 3, 0)
    from training.models import TrainingFile as CurrentFile

    assert CurrentFile.objects.get(pk=building.pk).status == "active"
