"""Generation's records: a job's settings and totals, attempts named at the provider and
billed once, provider batches recorded before they exist, and the preview."""

import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from conversations.imports import import_scaffolding
from devtools.demo.generator import scaffolding_paths
from generation import accounting
from generation.models import (
    AttemptStatus,
    GenerationAttempt,
    GenerationSettings,
    Mode,
    ProviderBatch,
)
from generation.preview import preview, system_prompt
from generation.pricing import UnknownModelPrice
from generation.provider import Answer
from tests.factories import BatchItemFactory, BatchJobFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def default_prices(settings):
    settings.GENERATION_PRICES = {}


def generation_job(**options) -> GenerationSettings:
    job = BatchJobFactory(name="Generated")
    values = {"model": "claude-sonnet-5-5", "max_tokens": 4000, "system_prompt": "You are Elena."}
    return GenerationSettings.objects.create(batch_job=job, **{**values, **options})


def attempt(settings: GenerationSettings, position: int = 1, number: int = 1, **options):
    item = BatchItemFactory(batch_job=settings.batch_job, position=position, conversation=None)
    return GenerationAttempt.objects.create(
        item=item,
        number=number,
        custom_id=accounting.custom_id(item.pk, number),
        mode=options.pop("mode", settings.mode),
        model=settings.model,
        prompt_hash="0" * 64,
        **options,
    )


def test_custom_ids_name_the_item_and_attempt_within_the_provider_limit():
    item_id = uuid.uuid4()

    value = accounting.custom_id(item_id, 3)

    assert len(value) <= 64
    assert accounting.parse_custom_id(value) == (item_id, 3)
    assert accounting.parse_custom_id("someone-elses-request") is None
    assert accounting.parse_custom_id(value.upper()) is None


def test_billing_adds_exact_usage_to_the_job_once():
    settings = generation_job(mode=Mode.BATCH)
    first = attempt(settings, 1)
    second = attempt(settings, 2)
    answer = Answer("end_turn", "{}", input_tokens=1234, output_tokens=5678, model="m")

    cost = accounting.bill(first.pk, answer)
    again = accounting.bill(first.pk, answer)
    accounting.bill(second.pk, Answer("max_tokens", "{", 1, 3, "m"))

    settings.refresh_from_db()
    first.refresh_from_db()
    assert cost == Decimal("0.029624") and again is None  # batch: half of 0.059248
    assert (first.input_tokens, first.output_tokens, first.cost_usd, first.billed) == (
        1234,
        5678,
        Decimal("0.029624"),
        True,
    )
    assert (settings.input_tokens, settings.output_tokens) == (1235, 5681)
    assert settings.cost_usd == Decimal("0.029624") + Decimal("0.000016")


def test_realtime_attempts_cost_the_full_price():
    settings = generation_job(mode=Mode.REALTIME)
    realtime = attempt(settings)

    cost = accounting.bill(realtime.pk, Answer("end_turn", "{}", 1_000_000, 0, "m"))

    assert cost == Decimal(2)


def test_budget_left_never_goes_below_zero():
    settings = generation_job(budget_usd=Decimal("0.01"), cost_usd=Decimal("0.004"))

    assert accounting.budget_left(settings) == Decimal("0.006")
    settings.cost_usd = Decimal("0.02")
    assert accounting.budget_left(settings) == 0
    assert accounting.budget_left(generation_job()) is None


def test_an_attempt_number_is_unique_per_item_and_custom_ids_keep_their_shape():
    settings = generation_job()
    first = attempt(settings)

    with pytest.raises(IntegrityError), transaction.atomic():
        GenerationAttempt.objects.create(
            item=first.item, number=1, custom_id="other-1", mode="batch", model="m"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        GenerationAttempt.objects.create(
            item=first.item, number=2, custom_id="has spaces", mode="batch", model="m"
        )


@pytest.mark.parametrize(
    "values",
    [{"mode": "later"}, {"temperature": 1.5}, {"max_tokens": 0}, {"budget_usd": Decimal(-1)}],
)
def test_settings_out_of_range_are_refused_by_the_database(values):
    with pytest.raises(IntegrityError), transaction.atomic():
        generation_job(**values)


def test_a_provider_batch_is_recorded_before_it_has_an_id_and_its_id_is_unique():
    settings = generation_job()
    intents = [ProviderBatch.objects.create(batch_job=settings.batch_job) for _ in range(2)]
    intents[0].provider_batch_id = "msgbatch_1"
    intents[0].save()

    with pytest.raises(IntegrityError), transaction.atomic():
        ProviderBatch.objects.filter(pk=intents[1].pk).update(provider_batch_id="msgbatch_1")
    assert settings.batch_job.provider_batches.filter(provider_batch_id="").count() == 1


def test_answered_attempts_are_the_ones_that_count():
    assert AttemptStatus.PENDING not in AttemptStatus.answered()
    assert AttemptStatus.SUBMITTED not in AttemptStatus.answered()
    assert AttemptStatus.EXPIRED in AttemptStatus.answered()


def test_the_preview_shows_the_prompts_as_sent_and_the_estimate_in_both_modes(settings):
    settings.GENERATION_MODE = "batch"
    import_scaffolding(scaffolding_paths())

    plan, body = preview(
        persona_keys=["gig_juggler", "late_starter"],
        arc_keys=["dread_to_relief"],
        topic_keys=["freelancer_quarterly_taxes"],
        repeat=2,
        shown=1,
    )

    assert (body["items"], body["problems"]) == (4, [])
    (shown,) = body["prompts"]
    assert shown == plan.prompts[0].as_preview()
    assert shown["system"] == system_prompt() and shown["system"]
    assert "{{" not in shown["prompt"] and "Tomás Reyes" in shown["prompt"]
    estimate = body["estimate"]
    assert estimate["costUsd"] == estimate["costUsdBatch"] == estimate["costUsdRealtime"] / 2
    assert estimate["inputTokens"] > 4 * 500 and estimate["outputTokens"] > 0


def test_the_preview_names_problems_and_still_counts_the_items():
    import_scaffolding(scaffolding_paths())

    _, body = preview(
        persona_keys=["gig_juggler"],
        arc_keys=["embarrassment_to_pride"],  # the demo arc without a template
        topic_keys=["freelancer_quarterly_taxes", "inheritance_first_year"],
    )

    assert body["items"] == 2 and body["prompts"] == []
    assert body["problems"] == [
        {
            "message": "No active prompt template has emotional_arc_type "
            "'embarrassment_to_pride': choose one with templateName, or add one for this arc.",
            "emotionalArcKey": "embarrassment_to_pride",
        }
    ]


def test_the_preview_refuses_a_model_without_a_price():
    with pytest.raises(UnknownModelPrice):
        preview(persona_keys=["a"], arc_keys=["b"], topic_keys=["c"], model="gpt-9")


def test_the_admin_shows_generation_to_read_only(admin_client):
    settings = generation_job()
    answered = attempt(settings, status=AttemptStatus.SUCCEEDED, stop_reason="end_turn")
    ProviderBatch.objects.create(batch_job=settings.batch_job, provider_batch_id="msgbatch_9")

    pages = {
        url: admin_client.get(url)
        for url in (
            "/admin/generation/generationsettings/",
            "/admin/generation/providerbatch/",
            "/admin/generation/generationattempt/",
            f"/admin/generation/generationattempt/{answered.pk}/change/",
        )
    }

    assert {url: page.status_code for url, page in pages.items()} == dict.fromkeys(pages, 200)
    assert answered.custom_id in pages["/admin/generation/generationattempt/"].content.decode()
    assert "msgbatch_9" in pages["/admin/generation/providerbatch/"].content.decode()
    change = admin_client.post(f"/admin/generation/generationattempt/{answered.pk}/change/", {})
    assert change.status_code == 403
