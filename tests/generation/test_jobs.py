"""Creating a generation job: every item with its first attempt in one transaction, or
nothing with every reason named."""

import hashlib
from decimal import Decimal

import pytest

from conversations.imports import import_scaffolding
from conversations.models import BatchItem, BatchJob, BatchJobStatus
from devtools.demo.generator import scaffolding_paths
from generation import accounting
from generation.jobs import (
    BudgetTooLow,
    GenerationProblems,
    GenerationRequest,
    create_generation_job,
)
from generation.models import GenerationAttempt, GenerationSettings
from generation.preview import preview, system_prompt
from generation.pricing import UnknownModelPrice
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_scaffolding(settings):
    settings.GENERATION_PRICES = {}
    settings.GENERATION_MODE = "batch"
    import_scaffolding(scaffolding_paths())


def ask(**options) -> GenerationRequest:
    values = {
        "name": "Tax season",
        "persona_keys": ["gig_juggler", "late_starter"],
        "arc_keys": ["dread_to_relief"],
        "topic_keys": ["freelancer_quarterly_taxes", "emergency_fund_rebuild"],
        "repeat": 2,
    }
    return GenerationRequest(**{**values, **options})


def nothing_created() -> bool:
    return not (
        BatchJob.objects.exists()
        or BatchItem.objects.exists()
        or GenerationAttempt.objects.exists()
        or GenerationSettings.objects.exists()
    )


def test_a_job_gets_one_item_per_combination_each_with_a_pending_attempt():
    owner = UserFactory()

    job = create_generation_job(owner, ask(budget_usd=Decimal(5), temperature=0.5))

    items = list(job.items.order_by("position"))
    attempts = {a.item_id: a for a in GenerationAttempt.objects.all()}
    assert (job.status, job.total_items, job.created_by) == (BatchJobStatus.QUEUED, 8, owner)
    assert [i.position for i in items] == list(range(1, 9))
    assert [
        (i.parameters["personaKey"], i.parameters["trainingTopicKey"], i.parameters["repeat"])
        for i in items[:4]
    ] == [
        ("gig_juggler", "freelancer_quarterly_taxes", 1),
        ("gig_juggler", "freelancer_quarterly_taxes", 2),
        ("gig_juggler", "emergency_fund_rebuild", 1),
        ("gig_juggler", "emergency_fund_rebuild", 2),
    ]
    settings = job.generation
    assert (settings.mode, settings.model, settings.temperature) == (
        "batch",
        "claude-sonnet-5-5",
        0.5,
    )
    assert settings.system_prompt == system_prompt()
    assert settings.budget_usd == Decimal(5) and settings.cost_usd == 0
    _, body = preview(
        persona_keys=["gig_juggler", "late_starter"],
        arc_keys=["dread_to_relief"],
        topic_keys=["freelancer_quarterly_taxes", "emergency_fund_rebuild"],
        repeat=2,
    )
    assert settings.estimated_cost_usd == body["estimate"]["costUsd"]
    for item in items:
        attempt = attempts[item.pk]
        assert (attempt.number, attempt.status, attempt.mode) == (1, "pending", "batch")
        assert accounting.parse_custom_id(attempt.custom_id) == (item.pk, 1)
        assert "{{" not in attempt.prompt
        digest = hashlib.sha256()
        for part in (settings.system_prompt, attempt.prompt):
            digest.update(len(part.encode()).to_bytes(8, "big") + part.encode())
        assert attempt.prompt_hash == digest.hexdigest()
    # What the preview showed is what the job will send.
    assert attempts[items[0].pk].prompt == body["prompts"][0]["prompt"]


def test_a_combination_without_a_template_creates_nothing_and_names_it():
    with pytest.raises(GenerationProblems) as error:
        create_generation_job(
            UserFactory(), ask(arc_keys=["dread_to_relief", "embarrassment_to_pride"])
        )

    assert error.value.status == 400
    assert error.value.fields()["details"]["problems"] == [
        {
            "message": "No active prompt template has emotional_arc_type "
            "'embarrassment_to_pride': choose one with templateName, or add one for this arc.",
            "emotionalArcKey": "embarrassment_to_pride",
        }
    ]
    assert nothing_created()


def test_a_budget_below_the_estimate_creates_nothing_and_gives_the_estimate():
    with pytest.raises(BudgetTooLow) as error:
        create_generation_job(UserFactory(), ask(budget_usd=Decimal("0.001")))

    estimate = error.value.fields()["estimate"]
    assert estimate["costUsd"] > Decimal("0.001")
    assert str(estimate["costUsd"]) in error.value.message
    assert nothing_created()


def test_a_model_without_a_price_creates_nothing():
    with pytest.raises(UnknownModelPrice):
        create_generation_job(UserFactory(), ask(model="gpt-9"))

    assert nothing_created()


def test_more_items_than_allowed_creates_nothing(settings):
    settings.GENERATION_MAX_ITEMS = 7

    with pytest.raises(GenerationProblems) as error:
        create_generation_job(UserFactory(), ask())

    assert "8 items is more than the 7" in error.value.problems[0]["message"]
    assert nothing_created()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "later"}, "mode must be one of batch, realtime"),
        ({"max_tokens": 0}, "maxTokens"),
        ({"temperature": 2.0}, "temperature"),
        ({"budget_usd": Decimal(-1)}, "budgetUsd"),
        ({"name": "  "}, "name"),
    ],
)
def test_bad_options_are_refused_naming_them(options, message):
    with pytest.raises(Exception, match=message):
        ask(**options)
