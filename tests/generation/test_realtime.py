"""Realtime mode against the fake provider through the SDK: answers taken in, 429 and 529
give the wait, 5xx raise for backoff, a bad request fails the item, a rejected key pauses
the job."""

import pytest

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus
from devtools.demo.generator import scaffolding_paths
from generation import realtime
from generation.jobs import GenerationRequest, create_generation_job
from generation.models import AttemptStatus, GenerationAttempt
from generation.provider import ProviderError
from generation.providers import get_provider
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def attempt(settings, fake_anthropic):
    settings.GENERATION_PRICES = {}
    import_scaffolding(scaffolding_paths())
    job = create_generation_job(
        UserFactory(),
        GenerationRequest(
            name="Now",
            persona_keys=["gig_juggler"],
            arc_keys=["dread_to_relief"],
            topic_keys=["freelancer_quarterly_taxes"],
            mode="realtime",
            max_tokens=8000,
        ),
    )
    return GenerationAttempt.objects.get(item__batch_job=job)


def test_an_answer_is_taken_in_and_sending_again_sends_nothing(attempt, fake_anthropic):
    sent = realtime.send(attempt.pk, get_provider())
    again = realtime.send(attempt.pk, get_provider())

    assert sent.taken.taken and again == realtime.Sent()
    attempt.refresh_from_db()
    assert (attempt.status, attempt.item.status) == (
        AttemptStatus.SUCCEEDED,
        BatchItemStatus.COMPLETED,
    )
    assert len(fake_anthropic.requests()) == 1


@pytest.mark.parametrize(("status", "retry_after", "wait"), [(429, 12, 12.0), (529, None, 30.0)])
def test_429_and_529_give_the_wait_and_the_attempt_waits(
    attempt, fake_anthropic, status, retry_after, wait
):
    fake_anthropic.fail(status, retry_after=retry_after)

    sent = realtime.send(attempt.pk, get_provider())

    assert (sent.retry_after, sent.taken) == (wait, None)
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.PENDING
    assert realtime.send(attempt.pk, get_provider()).taken.taken


def test_a_5xx_is_raised_for_the_task_to_retry(attempt, fake_anthropic):
    fake_anthropic.fail(500)

    with pytest.raises(ProviderError) as error:
        realtime.send(attempt.pk, get_provider())

    assert error.value.kind == "server"
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.PENDING


def test_a_bad_request_fails_the_item(attempt, fake_anthropic):
    settings = attempt.item.batch_job.generation
    settings.model = ""  # the provider refuses a request without a model
    settings.save()
    attempt.model = ""
    attempt.save()

    sent = realtime.send(attempt.pk, get_provider())

    attempt.refresh_from_db()
    attempt.item.refresh_from_db()
    assert (attempt.status, attempt.item.status) == (AttemptStatus.REJECTED, BatchItemStatus.FAILED)
    assert "400" in attempt.item.error_message and sent.taken.next_attempt is None


def test_a_rejected_key_pauses_the_job_with_the_reason(attempt, fake_anthropic, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-revoked")

    sent = realtime.send(attempt.pk, get_provider())
    again = realtime.send(attempt.pk, get_provider())

    assert "401" in sent.paused and again.paused == sent.paused
    assert len(fake_anthropic.requests()) == 1  # a paused job sends nothing
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.PENDING
