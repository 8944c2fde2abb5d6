"""Never paying twice: intents whose create call's answer was lost are settled against the
provider's batch list (our fake provider, through the SDK): a batch the provider made is
adopted and its results taken in once; with none, the attempts are sent again, once; a
creator still in its call is waited for; two jobs never claim one batch; someone else's
batch is left alone; results intake broken partway finishes at the next step, each result
taken in once."""

import re
import threading
import uuid
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.db.models import F, Sum

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus, Conversation
from devtools.demo.generator import scaffolding_paths
from generation import adoption, batches, drive
from generation.jobs import GenerationRequest, create_generation_job
from generation.models import AttemptStatus, GenerationAttempt, ProviderBatch, ProviderBatchStatus
from generation.provider import ProviderError, Request
from generation.providers import get_provider
from tests.factories import UserFactory
from tests.workers import wait_for

pytestmark = pytest.mark.django_db

CREATE = "/v1/messages/batches"


@pytest.fixture(autouse=True)
def scaffolding(settings, fake_anthropic):
    settings.GENERATION_PRICES = {}
    import_scaffolding(scaffolding_paths())
    fake_anthropic.configure(batch_polls=0)


def a_job(name: str = "Tax season", topics=("freelancer_quarterly_taxes",)):
    """Four items (two personas × two topics unless told)."""
    return create_generation_job(
        UserFactory(),
        GenerationRequest(
            name=name,
            persona_keys=["gig_juggler", "late_starter"],
            arc_keys=["dread_to_relief"],
            topic_keys=list(topics),
            mode="batch",
            max_tokens=8000,
        ),
    )


@pytest.fixture
def job():
    return a_job(topics=("freelancer_quarterly_taxes", "emergency_fund_rebuild"))


def lose_the_answer(job, fake_anthropic, *, created: bool) -> ProviderBatch:
    """A create call whose fate the worker never learns: the provider made the batch and the
    answer was lost (``created``), or it failed before making anything; both a 500."""
    fake_anthropic.fail(500, path=CREATE, method="POST", after=created)
    with pytest.raises(ProviderError):
        batches.submit(job.pk, get_provider())
    (intent,) = ProviderBatch.objects.filter(batch_job=job)
    assert (intent.status, intent.provider_batch_id) == (ProviderBatchStatus.SUBMITTING, "")
    return intent


def grace_passes() -> None:
    """The intents were left long enough ago (as after a crash some time back)."""
    ProviderBatch.objects.filter(status=ProviderBatchStatus.SUBMITTING).update(
        submitting_since=F("submitting_since") - adoption.GRACE - timedelta(seconds=1)
    )


def run(job) -> str:
    return drive.drive(job, get_provider(), poll_seconds=0, sleep=lambda seconds: None)


def calls(fake_anthropic, method: str, path: str) -> list[dict]:
    return [r for r in fake_anthropic.requests() if (r["method"], r["path"]) == (method, path)]


def made_custom_ids(fake_anthropic) -> list[str]:
    """Every custom_id of every batch the provider made (and bills), repeats included."""
    return [custom_id for batch in fake_anthropic.batches() for custom_id in batch["custom_ids"]]


def assert_generated_once(job, count: int) -> None:
    job.refresh_from_db()
    assert job.status == "completed" and job.successful_items == count
    assert set(job.items.values_list("status", flat=True)) == {BatchItemStatus.COMPLETED}
    attempts = GenerationAttempt.objects.filter(item__batch_job=job)
    assert attempts.count() == count
    assert set(attempts.values_list("status", "billed")) == {(AttemptStatus.SUCCEEDED, True)}
    conversations = Conversation.objects.filter(created_by=job.created_by)
    assert conversations.count() == count
    assert set(job.items.values_list("conversation_id", flat=True)) == set(
        conversations.values_list("pk", flat=True)
    )
    settings = job.generation
    settings.refresh_from_db()
    totals = attempts.aggregate(cost=Sum("cost_usd"), tokens=Sum("input_tokens"))
    assert settings.cost_usd == totals["cost"] > 0
    assert settings.input_tokens == totals["tokens"]


def page_row(client, job, batch_id: str) -> str:
    """The job page's row of a provider batch, its tags stripped."""
    client.force_login(job.created_by)
    html = client.get(f"/batch-jobs/{job.pk}/").content.decode()
    row = html.split(f"<code>{batch_id}</code>", 1)[1].split("</tr>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", row).split())


def test_a_batch_made_before_the_answer_was_lost_is_adopted_and_taken_in_once(
    job, fake_anthropic, client
):
    intent = lose_the_answer(job, fake_anthropic, created=True)
    (made,) = fake_anthropic.batches()

    # Within the grace nothing is settled and the job waits instead of stopping.
    assert adoption.settle(job.pk, get_provider()) == []
    ended, wait = drive.advance(job, get_provider(), poll_seconds=7)
    assert (ended, wait) == (None, 7)
    assert calls(fake_anthropic, "GET", CREATE) == []

    grace_passes()
    outcome = run(job)

    assert outcome.startswith("completed: 4 of 4 generated")
    assert len(calls(fake_anthropic, "POST", CREATE)) == 1
    (record,) = ProviderBatch.objects.all()
    assert record.provider_batch_id == made["id"] and record.adopted_at
    assert (record.status, record.succeeded, record.error) == ("ended", 4, "")
    assert record.results_taken_at and record.submitting_since < intent.submitting_since
    assert sorted(record.attempts.values_list("custom_id", flat=True)) == sorted(made["custom_ids"])
    assert_generated_once(job, 4)


def test_with_no_batch_at_the_provider_the_attempts_are_sent_again_once(job, fake_anthropic):
    intent = lose_the_answer(job, fake_anthropic, created=False)
    grace_passes()

    outcome = run(job)

    assert outcome.startswith("completed: 4 of 4 generated")
    # The call that failed made nothing; the one sent again made the only batch.
    assert len(calls(fake_anthropic, "POST", CREATE)) == 2
    assert sorted(made_custom_ids(fake_anthropic)) == sorted(
        GenerationAttempt.objects.values_list("custom_id", flat=True)
    )
    intent.refresh_from_db()
    assert intent.status == ProviderBatchStatus.NOT_CREATED
    assert "provider lists no batch of 4 requests" in intent.error
    assert not intent.attempts.exists()
    assert_generated_once(job, 4)


def test_an_intent_whose_creator_is_still_in_the_call_is_left_to_it(job, fake_anthropic):
    intent = lose_the_answer(job, fake_anthropic, created=False)
    grace_passes()
    # Another session holds the intent's lock, as a worker in the create call does.
    db = connection.settings_dict
    other = psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
        dbname=db["NAME"], autocommit=True,
    )  # fmt: skip
    key = f"generation-intent:{intent.pk}"
    other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [key])
    try:
        assert adoption.settle(job.pk, get_provider()) == []
        assert drive.advance(job, get_provider(), poll_seconds=3) == (None, 3)
        intent.refresh_from_db()
        assert intent.status == ProviderBatchStatus.SUBMITTING and intent.attempts.count() == 4
        assert calls(fake_anthropic, "GET", CREATE) == []
    finally:
        other.close()

    (note,) = adoption.settle(job.pk, get_provider())

    assert note.startswith("no provider batch for 4 requests")


def test_two_jobs_intents_in_one_window_never_claim_one_batch(fake_anthropic):
    first, second = a_job("First"), a_job("Second")
    lose_the_answer(first, fake_anthropic, created=True)
    lose_the_answer(second, fake_anthropic, created=False)
    (made,) = fake_anthropic.batches()
    grace_passes()

    # The second job settles first: the one batch listed may be its own, so it adopts it.
    (note,) = adoption.settle(second.pk, get_provider())
    assert note == f"adopting provider batch {made['id']} (2 requests)"
    # The first job sees it adopted already and waits for its results too.
    (waits, polled) = adoption.settle(first.pk, get_provider())
    assert waits == note and polled.startswith(f"candidate batch {made['id']}: ended")

    # Its results named the first job's attempts: the first job has them.
    (record,) = ProviderBatch.objects.filter(provider_batch_id=made["id"])
    assert record.batch_job_id == first.pk and record.attempts.count() == 2
    assert run(first).startswith("completed: 2 of 2")
    assert run(second).startswith("completed: 2 of 2")

    ids = made_custom_ids(fake_anthropic)
    assert len(ids) == len(set(ids)) == 4
    assert len(fake_anthropic.batches()) == 2
    assert_generated_once(first, 2)
    assert_generated_once(second, 2)
    assert [b.status for b in ProviderBatch.objects.filter(batch_job=second)] == [
        ProviderBatchStatus.NOT_CREATED,
        ProviderBatchStatus.ENDED,
    ]


def test_someone_elses_batch_in_the_window_is_left_alone_and_noted(job, fake_anthropic, client):
    lose_the_answer(job, fake_anthropic, created=False)
    theirs = someone_elses_batch()
    grace_passes()

    outcome = run(job)

    assert outcome.startswith("completed: 4 of 4 generated")
    noted = ProviderBatch.objects.get(provider_batch_id=theirs.id)
    assert noted.status == ProviderBatchStatus.NOT_OURS
    assert "none of its 4 requests is ours: left alone" in noted.error
    assert not noted.attempts.exists()
    assert not [r for r in fake_anthropic.requests() if r["path"].endswith("/cancel")]
    ours = [b for b in fake_anthropic.batches() if b["id"] != theirs.id]
    assert len(ours) == 1 and len(ours[0]["custom_ids"]) == 4
    assert_generated_once(job, 4)
    assert page_row(client, job, theirs.id).startswith("Not ours (adopted) Found at the provider")


def test_results_intake_broken_partway_finishes_at_the_next_step_once(job, fake_anthropic):
    (sent,) = batches.submit(job.pk, get_provider())
    fake_anthropic.configure(break_results_after=2)

    ended, wait = drive.advance(job, get_provider(), poll_seconds=0, retry_seconds=9)

    assert (ended, wait) == (None, 9)  # the step stopped on the broken download
    sent.refresh_from_db()
    assert (sent.status, sent.results_taken_at) == (ProviderBatchStatus.ENDED, None)
    assert statuses(job) == [AttemptStatus.SUCCEEDED] * 2 + [AttemptStatus.SUBMITTED] * 2
    assert Conversation.objects.count() == 2

    assert run(job).startswith("completed: 4 of 4 generated")
    results = [r for r in fake_anthropic.requests() if r["path"].endswith("/results")]
    assert len(results) == 2
    assert_generated_once(job, 4)


def test_an_adopted_batchs_intake_broken_partway_finishes_once(job, fake_anthropic):
    lose_the_answer(job, fake_anthropic, created=True)
    grace_passes()
    fake_anthropic.configure(break_results_after=3)

    ended, _ = drive.advance(job, get_provider(), poll_seconds=0)

    assert ended is None
    (record,) = ProviderBatch.objects.exclude(status=ProviderBatchStatus.SUBMITTING)
    assert record.adopted_at and record.results_taken_at is None
    assert statuses(job).count(AttemptStatus.SUCCEEDED) == 3
    assert run(job).startswith("completed: 4 of 4 generated")
    assert len(calls(fake_anthropic, "POST", CREATE)) == 1
    assert_generated_once(job, 4)


def someone_elses_batch():
    """A batch of four requests that another program made in the same workspace."""
    return get_provider().create_batch(
        [Request(f"theirs-{uuid.uuid4().hex}", "claude-sonnet-4-5", 50, "", "Hello", {})
         for _ in range(4)]
    )  # fmt: skip


def statuses(job) -> list[str]:
    return sorted(
        GenerationAttempt.objects.filter(item__batch_job=job).values_list("status", flat=True),
        key=[AttemptStatus.SUCCEEDED, AttemptStatus.SUBMITTED, AttemptStatus.PENDING].index,
    )


@pytest.mark.django_db(transaction=True)
def test_a_batch_adopted_while_its_own_creator_waits_for_the_answer_stays_its_creators(
    fake_anthropic,
):
    first, second = a_job("First"), a_job("Second")
    lose_the_answer(first, fake_anthropic, created=False)
    grace_passes()
    # The second job's create call is answered only once the first job has settled.
    fake_anthropic.configure(hold_creation=True)
    sending = threading.Thread(target=submit_in_its_own_session, args=(second,))
    sending.start()
    wait_for(lambda: fake_anthropic.batches(), timeout=30, what="the second job's batch")
    (made,) = fake_anthropic.batches()

    # Its batch is in the first job's window, with as many requests: a candidate.
    (note,) = adoption.settle(first.pk, get_provider())
    assert note == f"adopting provider batch {made['id']} (2 requests)"
    fake_anthropic.release()
    sending.join(timeout=30)

    (record,) = ProviderBatch.objects.filter(provider_batch_id=made["id"])
    assert (record.batch_job_id, record.adopted_at) == (second.pk, None)
    assert record.attempts.count() == 2
    assert run(first).startswith("completed: 2 of 2")
    assert run(second).startswith("completed: 2 of 2")
    ids = made_custom_ids(fake_anthropic)
    assert len(ids) == len(set(ids)) == 4
    assert_generated_once(first, 2)
    assert_generated_once(second, 2)


def submit_in_its_own_session(job) -> None:
    try:
        batches.submit(job.pk, get_provider())
    finally:
        connection.close()


def test_a_batch_made_after_the_creator_was_found_gone_is_no_candidate(job, fake_anthropic):
    lose_the_answer(job, fake_anthropic, created=False)
    early = someone_elses_batch()
    grace_passes()
    adoption.settle(job.pk, get_provider())
    # The first look was long enough ago that a batch made now cannot be the intent's.
    ProviderBatch.objects.filter(status=ProviderBatchStatus.SUBMITTING).update(
        looked_for_at=F("looked_for_at") - adoption.CLOCK_MARGIN - timedelta(seconds=1)
    )
    late = someone_elses_batch()

    adoption.settle(job.pk, get_provider())

    assert ProviderBatch.objects.filter(provider_batch_id=early.id).exists()
    assert not ProviderBatch.objects.filter(provider_batch_id=late.id).exists()
