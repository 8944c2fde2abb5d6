"""Taking in an answer whose document its owner has already (generated again, or
imported before): billed, not stored twice, the item fails naming the original. And a
provider batch's results read each scaffolding row once, not once per result."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus, Conversation
from devtools.demo.generator import scaffolding_paths
from generation import batches
from generation.jobs import GenerationRequest, create_generation_job
from generation.models import AttemptStatus, GenerationAttempt, ProviderBatch
from generation.providers import get_provider
from generation.results import take_in_answer
from tests.factories import UserFactory
from tests.generation.test_results import first_attempt, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(settings, fake_anthropic):
    """Two items of the same persona, arc and topic (a repeat), and a third topic."""
    settings.GENERATION_PRICES = {}
    import_scaffolding(scaffolding_paths())
    return create_generation_job(
        UserFactory(),
        GenerationRequest(
            name="Tax season",
            persona_keys=["gig_juggler"],
            arc_keys=["dread_to_relief"],
            topic_keys=["freelancer_quarterly_taxes", "emergency_fund_rebuild"],
            repeat=2,
            mode="realtime",
            max_tokens=8000,
        ),
    )


def test_an_answer_with_the_same_document_as_an_earlier_one_fails_naming_it(job):
    first, second = first_attempt(job, 1), first_attempt(job, 2)
    answer = send(first)
    take_in_answer(first.pk, answer)
    original = GenerationAttempt.objects.get(pk=first.pk).conversation
    # The same document answered for the repeat of the same combination.
    taken = take_in_answer(second.pk, answer)

    second.refresh_from_db()
    item = second.item
    assert taken.taken
    assert (item.status, second.outcome, second.conversation) == (
        BatchItemStatus.FAILED,
        "duplicate",
        None,
    )
    assert item.error_message.startswith("Duplicate: the answer has the same content as “")
    assert original.conversation_name in item.error_message
    assert second.cost_usd > 0 and second.billed  # the provider billed it all the same
    assert Conversation.objects.count() == 1
    job.refresh_from_db()
    assert (job.completed_items, job.successful_items, job.failed_items) == (2, 1, 1)
    # Another topic's answer with the same turns is another document (its scaffolding).
    third = first_attempt(job, 3)
    take_in_answer(third.pk, answer)
    assert GenerationAttempt.objects.get(pk=third.pk).item.status == BatchItemStatus.COMPLETED


def test_a_duplicate_answer_taken_in_again_changes_nothing(job):
    first, second = first_attempt(job, 1), first_attempt(job, 2)
    answer = send(first)
    take_in_answer(first.pk, answer)
    take_in_answer(second.pk, answer)

    again = take_in_answer(second.pk, answer)

    assert not again.taken
    job.refresh_from_db()
    assert job.completed_items == 2


def test_a_batch_of_results_reads_each_scaffolding_row_once(job, fake_anthropic):
    job.generation.mode = "batch"
    job.generation.save()
    GenerationAttempt.objects.filter(item__batch_job=job).update(mode="batch")
    fake_anthropic.configure(batch_polls=0)
    provider = get_provider()
    (record,) = batches.submit(job.pk, provider)

    with CaptureQueriesContext(connection) as queries:
        batches.poll(record.pk, provider)

    scaffolding = [
        q["sql"]
        for q in queries.captured_queries
        if any(
            f'FROM "{table}"' in q["sql"]
            for table in ("personas", "emotional_arcs", "training_topics", "prompt_templates")
        )
    ]
    # Four results of one persona, arc and template, two topics: five rows, read once each.
    assert len(scaffolding) == 5, scaffolding
    assert ProviderBatch.objects.get(pk=record.pk).results_taken_at is not None
    assert set(
        GenerationAttempt.objects.filter(item__batch_job=job).values_list("status", flat=True)
    ) == {AttemptStatus.SUCCEEDED}
