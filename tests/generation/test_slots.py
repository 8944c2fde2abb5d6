"""The realtime slots and claims (``generation.slots``) and sending with them
(``generation.lanes``): another database session stands for another worker; what it holds
is not available here, and what it held is free again once its connection is gone (a
worker that died)."""

import threading

import psycopg
import pytest
from django.db import connection
from rest_framework.test import APIClient

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus
from devtools.demo.generator import scaffolding_paths
from devtools.workers import current_database_url
from generation import lanes, slots
from generation.document import CONVERSATION_SCHEMA
from generation.jobs import GenerationRequest, create_generation_job
from generation.models import AttemptStatus, GenerationAttempt
from generation.provider import Request
from generation.providers import get_provider
from tests.factories import UserFactory
from tests.jobs import queued, run_jobs
from tests.workers import wait_for

pytestmark = pytest.mark.django_db


class OtherWorker:
    """A database session of its own, holding slots and claims as a worker would."""

    def __init__(self) -> None:
        self.connection = psycopg.connect(current_database_url(), autocommit=True)

    def take_slot(self, number: int) -> bool:
        return self._one("SELECT pg_try_advisory_lock(%s::int, %s::int)", slots.SLOTS, number)

    def claim(self, attempt_id) -> bool:
        return self._one(
            "SELECT pg_try_advisory_lock(%s::int, hashtext(%s))", slots.CLAIMS, str(attempt_id)
        )

    def die(self) -> None:
        """Its connection closes; PostgreSQL ends its session and frees its locks soon
        after, which this waits for."""
        pid = self.connection.info.backend_pid
        self.connection.close()

        def gone() -> bool:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s", [pid])
                return cursor.fetchone()[0] == 0

        wait_for(gone, timeout=30, what="the other session's locks to go")

    def _one(self, query: str, *params):
        return self.connection.execute(query, params).fetchone()[0]


@pytest.fixture
def other():
    worker = OtherWorker()
    yield worker
    worker.connection.close()


@pytest.fixture
def job(settings, fake_anthropic):
    settings.GENERATION_PRICES = {}
    import_scaffolding(scaffolding_paths())
    return create_generation_job(
        UserFactory(),
        GenerationRequest(
            name="Now",
            persona_keys=["gig_juggler", "late_starter"],
            arc_keys=["dread_to_relief"],
            topic_keys=["freelancer_quarterly_taxes"],
            mode="realtime",
            max_tokens=8000,
        ),
    )


@pytest.fixture
def api_job(settings, fake_anthropic):
    """A realtime job created through the API (its first step queued with it)."""
    settings.GENERATION_PRICES = {}
    settings.GENERATION_POLL_SECONDS = 0
    import_scaffolding(scaffolding_paths())
    api = APIClient()
    api.force_login(UserFactory())

    def create(**fields) -> BatchJob:
        body = {
            "name": "Realtime",
            "personaKeys": ["gig_juggler", "late_starter"],
            "emotionalArcKeys": ["dread_to_relief"],
            "trainingTopicKeys": ["freelancer_quarterly_taxes"],
            "maxTokens": 8000,
            "mode": "realtime",
            **fields,
        }
        response = api.post("/api/generation-jobs", body, format="json")
        assert response.status_code == 201, response.json()
        return BatchJob.objects.get(pk=response.json()["id"])

    return create


def test_a_slot_is_one_of_the_limit_and_none_is_left_when_others_hold_them(other):
    assert other.take_slot(0)

    with slots.slot(2) as held:
        assert held == 1
        assert slots.slots_in_use() == 2
        # Held by this session until the block ends: not by another.
        assert not other.take_slot(1)
    assert other.take_slot(1)
    with slots.slot(2) as held:
        assert held is None
    assert slots.slots_in_use() == 2


def test_the_slots_of_a_worker_that_died_are_free_again(other):
    assert other.take_slot(0) and other.take_slot(1)
    with slots.slot(2) as held:
        assert held is None

    other.die()

    with slots.slot(2) as held:
        assert held == 0


def test_a_claimed_attempt_is_skipped_and_free_again_after_the_block(job, other):
    first, second = GenerationAttempt.objects.filter(item__batch_job=job).order_by("item__position")
    assert other.claim(first.pk)

    with slots.claim([first.pk, second.pk]) as claimed:
        assert claimed == second.pk
        assert not other.claim(second.pk)
    assert other.claim(second.pk)
    with slots.claim([first.pk, second.pk]) as claimed:
        assert claimed is None


def test_without_a_free_slot_nothing_is_sent_and_the_step_says_to_wait(
    job, other, settings, fake_anthropic
):
    settings.GENERATION_CONCURRENCY = 1
    assert other.take_slot(0)

    step = lanes.send_next(job.pk, get_provider())

    assert (step.sent, step.wait, step.idle) == (False, lanes.SLOT_WAIT_SECONDS, False)
    assert fake_anthropic.messages()["calls"] == 0
    assert set(GenerationAttempt.objects.values_list("status", flat=True)) == {"pending"}

    other.die()
    step = lanes.send_next(job.pk, get_provider())

    assert step.sent
    assert fake_anthropic.messages()["calls"] == 1
    assert slots.slots_in_use() == 0


def test_attempts_another_worker_is_sending_are_left_to_it(job, other, fake_anthropic):
    first, second = GenerationAttempt.objects.filter(item__batch_job=job).order_by("item__position")
    assert other.claim(first.pk)

    assert lanes.send_next(job.pk, get_provider()).sent
    step = lanes.send_next(job.pk, get_provider())

    # Only the attempt claimed elsewhere waits: this one ends idle, to look again later.
    assert (step.sent, step.idle, step.wait) == (False, True, lanes.SLOT_WAIT_SECONDS)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (AttemptStatus.PENDING, AttemptStatus.SUCCEEDED)
    assert second.item.status == BatchItemStatus.COMPLETED
    assert lanes.finish_if_done(job) is None
    assert fake_anthropic.messages()["calls"] == 1


def test_the_fake_counts_the_calls_it_answers_at_once(fake_anthropic):
    # Each call takes 3 s: two started together are answered at the same time.
    fake_anthropic.configure(message_seconds=3)
    provider = get_provider()
    request = Request("x", "claude-sonnet-5-5", 8000, "system", "prompt", CONVERSATION_SCHEMA)
    answers = []
    calls = [
        threading.Thread(target=lambda: answers.append(provider.create_message(request)))
        for _ in range(2)
    ]
    for call in calls:
        call.start()
    for call in calls:
        call.join()

    stats = fake_anthropic.messages()
    assert len(answers) == 2
    assert (stats["in_flight"], stats["max_in_flight"], stats["calls"]) == (0, 2, 2)


def test_a_realtime_step_queues_lanes_up_to_the_concurrency(settings, fake_anthropic, api_job):
    settings.GENERATION_CONCURRENCY = 3
    job = api_job(repeat=2)  # 4 items

    run_jobs(limit=1)  # the job's first step

    assert queued("send_generation_attempts", job_id=str(job.pk)).count() == 3
    assert fake_anthropic.messages()["calls"] == 0

    run_jobs()

    job.refresh_from_db()
    assert (job.status, job.successful_items) == (BatchJobStatus.COMPLETED, 4)
    assert fake_anthropic.messages()["calls"] == 4
    assert GenerationAttempt.objects.filter(item__batch_job=job).count() == 4


def test_lanes_without_a_slot_wait_one_per_job_and_send_once_one_is_free(
    settings, fake_anthropic, api_job, other
):
    settings.GENERATION_CONCURRENCY = 2
    assert other.take_slot(0) and other.take_slot(1)
    job = api_job()  # 2 items

    run_jobs()

    # Both lanes found no slot: one of them waits to look again, the other gave up.
    (lane,) = queued("send_generation_attempts", job_id=str(job.pk))
    assert lane.scheduled_at is not None
    assert fake_anthropic.messages()["calls"] == 0

    other.die()
    queued("send_generation_attempts").update(scheduled_at=None)  # the wait passes
    run_jobs()

    job.refresh_from_db()
    assert (job.status, job.successful_items) == (BatchJobStatus.COMPLETED, 2)
    assert fake_anthropic.messages()["calls"] == 2


def test_a_refused_key_stops_the_lanes_and_pauses_the_job(settings, fake_anthropic, api_job):
    fake_anthropic.fail(401, path="/v1/messages", times=10)
    job = api_job()

    run_jobs()

    job.generation.refresh_from_db()
    assert "401" in job.generation.paused_reason
    assert not queued("send_generation_attempts").exists()
    # The first call's refusal paused the job: the other lane sent nothing.
    assert fake_anthropic.messages()["calls"] == 1
    assert set(GenerationAttempt.objects.values_list("status", flat=True)) == {"pending"}
