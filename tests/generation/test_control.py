"""A person's say over a running generation job through the API: cancel (what the provider
finished is still taken in, the rest ends cancelled), pause and resume (what is at the
provider still comes back), retry failed generations; against the fake provider through
the SDK, the job's steps run as the workers run them."""

import pytest
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus
from devtools.demo.generator import scaffolding_paths
from generation import batches
from generation.models import AttemptStatus, GenerationAttempt, ProviderBatch
from generation.providers import get_provider
from tests.factories import BatchJobFactory, UserFactory
from tests.jobs import queued, run_jobs

pytestmark = pytest.mark.django_db

BODY = {
    "name": "Tax season",
    "personaKeys": ["gig_juggler", "late_starter"],
    "emotionalArcKeys": ["dread_to_relief"],
    "trainingTopicKeys": ["freelancer_quarterly_taxes", "emergency_fund_rebuild"],
    "maxTokens": 8000,
}


@pytest.fixture(autouse=True)
def scaffolding(settings):
    settings.GENERATION_PRICES = {}
    settings.GENERATION_POLL_SECONDS = 0
    import_scaffolding(scaffolding_paths())


@pytest.fixture
def owner():
    return UserFactory(username="dana")


@pytest.fixture
def api(owner) -> APIClient:
    client = APIClient()
    client.force_login(owner)
    return client


def create(api, mode: str = "batch", **extra) -> BatchJob:
    response = api.post("/api/generation-jobs", {**BODY, "mode": mode, **extra}, format="json")
    assert response.status_code == 201, response.json()
    return BatchJob.objects.get(pk=response.json()["id"])


def post(api, job, action: str):
    return api.post(f"/api/batch-jobs/{job.pk}/{action}")


def run_until_idle() -> None:
    """Run the queued jobs, and those queued for later as if their wait had passed (a
    realtime lane queues itself a few seconds ahead), until none is left."""
    for _ in range(50):
        run_jobs()
        later = ProcrastinateJob.objects.filter(status="todo")
        if not later.exists():
            return
        later.update(scheduled_at=None)
    raise AssertionError("the jobs never stopped queueing more")


def attempts(job) -> list:
    return list(
        GenerationAttempt.objects.filter(item__batch_job=job).order_by("item__position", "number")
    )


def mark(job, positions: list[int], marker: str) -> None:
    """Put a marker of the fake provider in these items' prompts (what it misbehaves on)."""
    for attempt in attempts(job):
        if attempt.item.position in positions:
            attempt.prompt += f"\n{marker}"
            attempt.save(update_fields=["prompt"])


def item_statuses(job) -> list[str]:
    return list(job.items.order_by("position").values_list("status", flat=True))


def test_cancel_takes_in_what_the_provider_finished_and_cancels_the_rest(
    api, fake_anthropic, owner
):
    fake_anthropic.configure(batch_polls=100)
    job = create(api)
    mark(job, [2], "[[fake:slow]]")
    mark(job, [3, 4], "[[fake:errored]]")
    provider = get_provider()
    first, second = batches.submit(job.pk, provider, max_requests=2)
    # The second batch comes back errored: its items wait for a new attempt, not sent yet.
    fake_anthropic.end(second.provider_batch_id)
    batches.poll(second.pk, provider)
    assert [a.status for a in attempts(job)].count(AttemptStatus.PENDING) == 2

    response = post(api, job, "cancel")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["success"] is True and body["enrichmentRun"] is None
    # The first batch is still at the provider: the job waits for it.
    assert body["job"]["status"] == BatchJobStatus.PROCESSING
    assert body["job"]["generation"]["cancelledAt"]
    assert item_statuses(job)[2:] == [BatchItemStatus.CANCELLED] * 2
    assert queued("advance_generation_job", job_id=str(job.pk)).count() == 1
    assert post(api, job, "cancel").json()["job"]["status"] == BatchJobStatus.PROCESSING

    run_jobs()

    job.refresh_from_db()
    assert job.status == BatchJobStatus.CANCELLED
    # Item 1 finished at the provider before the cancel took effect; item 2 was canceled
    # there and gets no new attempt.
    assert item_statuses(job) == [
        BatchItemStatus.COMPLETED,
        BatchItemStatus.CANCELLED,
        BatchItemStatus.CANCELLED,
        BatchItemStatus.CANCELLED,
    ]
    assert [(a.item.position, a.number, a.status) for a in attempts(job)] == [
        (1, 1, AttemptStatus.SUCCEEDED),
        (2, 1, AttemptStatus.CANCELED),
        (3, 1, AttemptStatus.ERRORED),
        (3, 2, AttemptStatus.WITHDRAWN),
        (4, 1, AttemptStatus.ERRORED),
        (4, 2, AttemptStatus.WITHDRAWN),
    ]
    at_fake = {b["id"]: b for b in fake_anthropic.batches()}
    assert len(at_fake) == 2  # nothing was sent after the cancel
    cancels = [r for r in fake_anthropic.requests() if r["path"].endswith("/cancel")]
    assert [r["path"] for r in cancels] == [
        f"/v1/messages/batches/{first.provider_batch_id}/cancel"
    ]
    assert (job.completed_items, job.successful_items, job.failed_items) == (4, 1, 0)
    assert job.progress_percent == 100 and job.conversations_total == 1
    cancelled = job.items.get(position=3)
    assert cancelled.error_message == "Cancelled by dana before it was generated."
    # The cancelled items are listed as such.
    listed = api.get(f"/api/conversations/batch/{job.pk}/items?status=cancelled").json()
    assert [row["status"] for row in listed["data"]] == ["cancelled"] * 3
    assert listed["summary"]["cancelled"] == 3 and listed["summary"]["completed"] == 1
    # Cancelling again changes nothing; completing it now is refused.
    again = post(api, job, "cancel")
    assert again.status_code == 200 and again.json()["job"]["status"] == "cancelled"
    assert post(api, job, "complete").status_code == 409


def test_cancel_with_nothing_at_the_provider_ends_the_job_at_once(api, fake_anthropic):
    job = create(api, mode="realtime")

    response = post(api, job, "cancel")

    assert response.status_code == 200, response.json()
    assert response.json()["job"]["status"] == BatchJobStatus.CANCELLED
    assert item_statuses(job) == [BatchItemStatus.CANCELLED] * 4
    assert {a.status for a in attempts(job)} == {AttemptStatus.WITHDRAWN}
    job.refresh_from_db()
    assert (job.completed_items, job.successful_items, job.remaining_items) == (4, 0, 0)
    # The step queued when it was created finds it ended: nothing goes to the provider.
    run_jobs()
    assert fake_anthropic.requests() == []
    summary = api.get(f"/api/conversations/batch/{job.pk}/items").json()["summary"]
    assert (summary["cancelled"], summary["queued"], summary["total"]) == (4, 0, 4)


def test_a_realtime_call_in_flight_keeps_its_item_open_until_its_answer_is_in(api, fake_anthropic):
    from generation import slots
    from generation.provider import Answer
    from generation.results import take_in_answer

    job = create(api, mode="realtime")
    sending = attempts(job)[1]

    with slots.claim([sending.pk]) as claimed:
        assert claimed == sending.pk
        response = post(api, job, "cancel")

    assert response.json()["job"]["status"] == BatchJobStatus.PROCESSING
    assert item_statuses(job) == [
        BatchItemStatus.CANCELLED,
        BatchItemStatus.QUEUED,
        BatchItemStatus.CANCELLED,
        BatchItemStatus.CANCELLED,
    ]
    text = '{"conversation_metadata": {}, "turns": []}'
    take_in_answer(sending.pk, Answer("end_turn", text, 10, 20, "claude-x", "msg_1"))
    run_jobs()
    job.refresh_from_db()
    assert job.status == BatchJobStatus.CANCELLED
    assert job.items.get(position=2).status == BatchItemStatus.COMPLETED
    assert (job.completed_items, job.successful_items) == (4, 1)
    assert fake_anthropic.requests() == []


def test_an_answer_on_its_way_when_the_job_was_cancelled_is_still_taken_in(api, fake_anthropic):
    """A realtime call already sent when its attempt was withdrawn: it was paid for."""
    from generation.provider import Answer
    from generation.results import take_in_answer

    job = create(api, mode="realtime")
    assert post(api, job, "cancel").json()["job"]["status"] == BatchJobStatus.CANCELLED
    attempt = attempts(job)[0]
    text = '{"conversation_metadata": {}, "turns": []}'

    taken = take_in_answer(attempt.pk, Answer("end_turn", text, 10, 20, "claude-x", "msg_1"))

    assert taken.taken
    job.refresh_from_db()
    item = job.items.get(position=1)
    assert item.status != BatchItemStatus.CANCELLED and item.conversation is not None
    # Counted once among the ended items.
    assert job.completed_items == 4
    assert job.successful_items + job.failed_items == 1


def test_pause_stops_sending_while_what_is_at_the_provider_comes_back(api, fake_anthropic):
    fake_anthropic.configure(batch_polls=1)
    job = create(api)
    mark(job, [2], "[[fake:errored-once]]")
    (sent,) = batches.submit(job.pk, get_provider())

    response = post(api, job, "pause")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["changed"] is True and body["message"].startswith("Paused")
    assert body["job"]["generation"]["pausedReason"] == "Paused by dana."
    again = post(api, job, "pause").json()
    assert again["changed"] is False

    run_jobs()

    # The batch sent before the pause was polled to its end and taken in; the new attempt
    # of its errored item waits, and no step is queued any more.
    job.refresh_from_db()
    assert ProviderBatch.objects.get(pk=sent.pk).results_taken_at is not None
    assert item_statuses(job) == [
        BatchItemStatus.COMPLETED,
        BatchItemStatus.QUEUED,
        BatchItemStatus.COMPLETED,
        BatchItemStatus.COMPLETED,
    ]
    assert len(fake_anthropic.batches()) == 1
    assert not job.is_finished
    assert not queued("advance_generation_job", job_id=str(job.pk)).exists()

    resumed = post(api, job, "resume")

    assert resumed.status_code == 200, resumed.json()
    assert resumed.json()["job"]["generation"]["pausedReason"] is None
    assert "Paused by dana." in resumed.json()["message"]
    assert queued("advance_generation_job", job_id=str(job.pk)).count() == 1
    run_jobs()
    job.refresh_from_db()
    assert job.status == BatchJobStatus.COMPLETED and job.successful_items == 4
    assert len(fake_anthropic.batches()) == 2


def test_resume_after_a_refused_key_was_fixed_takes_the_job_to_its_end(api, fake_anthropic):
    fake_anthropic.fail(401, path="/v1/messages/batches")
    job = create(api)
    run_jobs()
    job.refresh_from_db()
    assert job.generation.paused_reason and not job.is_finished

    response = post(api, job, "resume")

    assert response.status_code == 200 and response.json()["changed"] is True
    run_jobs()
    job.refresh_from_db()
    assert (job.status, job.successful_items) == (BatchJobStatus.COMPLETED, 4)


def test_retry_failed_generations_asks_again_for_the_failed_items_only(api, fake_anthropic):
    fake_anthropic.fail(400, path="/v1/messages", times=1)
    job = create(api, mode="realtime")
    run_until_idle()
    job.refresh_from_db()
    assert (job.status, job.successful_items, job.failed_items) == (
        BatchJobStatus.COMPLETED,
        3,
        1,
    )
    (failed,) = job.items.filter(status=BatchItemStatus.FAILED)

    response = post(api, job, "retry-failed-generations")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["retried"] == 1
    assert body["job"]["status"] == BatchJobStatus.PROCESSING
    assert (body["job"]["completedItems"], body["job"]["failedItems"]) == (3, 0)
    failed.refresh_from_db()
    assert (failed.status, failed.error_message) == (BatchItemStatus.QUEUED, "")
    new = GenerationAttempt.objects.get(item=failed, number=2)
    assert (new.status, new.first_of_round) == (AttemptStatus.PENDING, 2)
    assert GenerationAttempt.objects.filter(item__batch_job=job).count() == 5
    assert queued("advance_generation_job", job_id=str(job.pk)).count() == 1

    run_until_idle()

    job.refresh_from_db()
    assert (job.status, job.successful_items, job.failed_items) == (
        BatchJobStatus.COMPLETED,
        4,
        0,
    )
    nothing = post(api, job, "retry-failed-generations")
    assert nothing.status_code == 409
    assert nothing.json()["code"] == "nothing_to_retry" and nothing.json()["job"]["id"]


def test_a_retried_item_gets_a_new_round_of_automatic_attempts(api, fake_anthropic):
    fake_anthropic.configure(batch_polls=0)
    job = create(api)
    mark(job, [1], "[[fake:errored]]")
    run_jobs()
    job.refresh_from_db()
    assert job.items.get(position=1).status == BatchItemStatus.FAILED
    assert GenerationAttempt.objects.filter(item__position=1, item__batch_job=job).count() == 3

    assert post(api, job, "retry-failed-generations").json()["retried"] == 1
    run_jobs()

    tries = GenerationAttempt.objects.filter(item__position=1, item__batch_job=job)
    assert [(a.number, a.first_of_round) for a in tries.order_by("number")] == [
        (1, 1),
        (2, 1),
        (3, 1),
        (4, 4),
        (5, 4),
        (6, 4),
    ]
    job.refresh_from_db()
    assert job.status == BatchJobStatus.COMPLETED and job.failed_items == 1


def test_ended_and_other_jobs_are_refused_in_the_api_error_shape(api, owner, fake_anthropic):
    fake_anthropic.configure(batch_polls=0)
    job = create(api)
    run_jobs()
    job.refresh_from_db()
    assert job.status == BatchJobStatus.COMPLETED
    outside = BatchJobFactory(created_by=owner, status=BatchJobStatus.PROCESSING)

    for action in ("cancel", "pause", "resume"):
        refused = post(api, job, action)
        assert refused.status_code == 409, (action, refused.json())
        assert refused.json()["code"] == "job_not_open"
        assert refused.json()["job"]["status"] == "completed"
    for action in ("pause", "resume", "retry-failed-generations"):
        refused = post(api, outside, action)
        assert refused.status_code == 409
        assert refused.json()["success"] is False
        assert refused.json()["code"] == "not_generation_job"
    # Cancelling a job fed from outside ends it at once, as before.
    assert post(api, outside, "cancel").json()["job"]["status"] == "cancelled"


def test_only_the_owner_or_staff_controls_a_job(api, fake_anthropic):
    job = create(api)
    stranger = APIClient()
    stranger.force_login(UserFactory())
    staff = APIClient()
    staff.force_login(UserFactory(is_staff=True))

    for action in ("cancel", "pause", "resume", "retry-failed-generations"):
        assert post(stranger, job, action).status_code == 404
    assert post(staff, job, "pause").json()["job"]["generation"]["pausedReason"]


def test_a_cancelling_job_cannot_be_paused_or_retried(api, fake_anthropic):
    fake_anthropic.configure(batch_polls=100)
    job = create(api)
    batches.submit(job.pk, get_provider())
    assert post(api, job, "cancel").status_code == 200

    for action in ("pause", "retry-failed-generations"):
        refused = post(api, job, action)
        assert (refused.status_code, refused.json()["code"]) == (409, "job_cancelling")


def test_nobody_feeds_completes_or_fails_a_generation_job_from_outside(api, fake_anthropic):
    job = create(api)
    items = job.items.count()

    for action in ("complete", "fail"):
        refused = post(api, job, action)
        assert refused.status_code == 409, (action, refused.json())
        assert refused.json()["code"] == "generation_job"
        assert "Pause or cancel it instead" in refused.json()["error"]
    added = api.post(
        f"/api/batch-jobs/{job.pk}/items", {"items": [{"error": "mine"}]}, format="json"
    )

    assert added.status_code == 409 and added.json()["code"] == "generation_job"
    job.refresh_from_db()
    assert (job.status, job.items.count()) == (BatchJobStatus.QUEUED, items)
    # It runs to its end as if nobody had asked.
    fake_anthropic.configure(batch_polls=0)
    run_jobs()
    job.refresh_from_db()
    assert job.status == BatchJobStatus.COMPLETED
