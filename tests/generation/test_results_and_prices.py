"""What an answer becomes (parsed, repaired, truncated, refused), the document's schema,
prices and estimates, and batches cut within the provider's limits."""

import json
from decimal import Decimal

import jsonschema
import pytest
from django.core.exceptions import ImproperlyConfigured

from generation import document, pricing
from generation.parsing import parse_answer
from generation.provider import ProviderError, Request, chunks, request_body

VALID = json.dumps(
    {
        "conversation_metadata": {
            "client_persona": "Ann Lee - The Saver",
            "session_context": "Ann wants a safety net.",
            "conversation_phase": "initial_exploration",
        },
        "turns": [
            {
                "turn_number": 1,
                "role": "user",
                "content": "I never saved anything.",
                "emotional_context": {"primary_emotion": "shame", "intensity": 0.8},
            }
        ],
    }
)


def test_an_answer_that_ended_parses_directly():
    parsed = parse_answer("end_turn", VALID)

    assert (parsed.outcome, parsed.parse_method, parsed.error) == ("parsed", "direct", None)
    assert parsed.document == json.loads(VALID)
    assert parsed.text == VALID


def test_an_answer_with_a_fence_and_a_missing_brace_is_repaired():
    text = "```json\n" + VALID[:-1] + "\n```"

    parsed = parse_answer("end_turn", text)

    assert (parsed.outcome, parsed.parse_method) == ("parsed", "repaired")
    assert parsed.document == json.loads(VALID)
    assert parsed.text == text  # kept exactly as it came


def test_prose_that_no_repair_makes_an_object_is_a_parse_error():
    parsed = parse_answer("end_turn", "I'd rather talk about something else.")

    assert (parsed.outcome, parsed.document, parsed.parse_method) == ("parse_error", None, None)
    assert "not a JSON document" in parsed.error


def test_a_json_array_is_not_a_document():
    assert parse_answer("end_turn", "[]").outcome == "parse_error"


def test_a_truncation_is_never_repaired_although_it_could_be(shared_data):
    text = (shared_data / "conversations" / "raw" / "truncated-credit-card-debt.json").read_text()

    truncated = parse_answer("max_tokens", text)
    as_if_ended = parse_answer("end_turn", text)

    assert (truncated.outcome, truncated.document, truncated.parse_method) == (
        "truncated",
        None,
        None,
    )
    assert "max_tokens" in truncated.error and truncated.text == text
    # What a repair would have made of it: a valid-looking, shortened conversation.
    assert as_if_ended.parse_method == "repaired"
    assert len(as_if_ended.document["turns"]) == 9


@pytest.mark.parametrize(
    ("stop_reason", "outcome"),
    [
        ("refusal", "refused"),
        ("model_context_window_exceeded", "truncated"),
        ("tool_use", "unexpected_stop"),
        (None, "unexpected_stop"),
    ],
)
def test_other_stop_reasons_fail_naming_why(stop_reason, outcome):
    parsed = parse_answer(stop_reason, VALID)

    assert (parsed.outcome, parsed.document) == (outcome, None)
    assert parsed.error


def test_the_real_conversations_fit_the_schema_and_input_parameters_do_not(shared_data):
    raw = shared_data / "conversations" / "raw"
    validator = jsonschema.Draft202012Validator(document.CONVERSATION_SCHEMA)
    jsonschema.Draft202012Validator.check_schema(document.CONVERSATION_SCHEMA)

    for name in ("shame-to-acceptance-529.json", "hsa-vs-fsa-no-scaffolding.json"):
        assert list(validator.iter_errors(json.loads((raw / name).read_text()))) == []
    with_parameters = json.loads((raw / "shame-to-acceptance-529.parsed.json").read_text())
    assert not validator.is_valid(with_parameters)


def test_every_object_of_the_schema_is_closed_as_structured_outputs_require():
    def objects(node):
        if isinstance(node, dict):
            if node.get("type") == "object":
                yield node
            for value in node.values():
                yield from objects(value)

    found = list(objects(document.CONVERSATION_SCHEMA))

    assert len(found) == 4
    assert all(node["additionalProperties"] is False for node in found)
    assert "minimum" not in json.dumps(document.CONVERSATION_SCHEMA)


def test_prices_are_exact_and_batch_mode_costs_half(settings):
    settings.GENERATION_PRICES = {}

    realtime = pricing.cost("claude-sonnet-5-5", 1234, 5678, batch=False)
    batch = pricing.cost("claude-sonnet-5-5", 1234, 5678, batch=True)

    assert realtime == Decimal("0.059248")  # (1234 × 2 + 5678 × 10) / 1e6
    assert batch == Decimal("0.029624")
    assert pricing.cost("claude-sonnet-5-5", 1, 0, batch=True) == Decimal("0.000001")


def test_the_setting_adds_and_replaces_prices(settings):
    settings.GENERATION_PRICES = pricing.parse_prices(
        '{"my-model": {"input": 0.25, "output": 1.25},'
        ' "claude-sonnet-5-5": {"input": 3, "output": 15}}'
    )

    assert pricing.cost("my-model", 1000, 1000, batch=False) == Decimal("0.0015")
    assert pricing.cost("claude-sonnet-5-5", 1_000_000, 0, batch=False) == Decimal(3)


def test_a_model_without_a_price_is_a_400_naming_it(settings):
    settings.GENERATION_PRICES = {}

    with pytest.raises(pricing.UnknownModelPrice) as error:
        pricing.cost("gpt-9", 1, 1, batch=False)

    assert error.value.status == 400 and error.value.fields() == {"model": "gpt-9"}
    assert "gpt-9" in error.value.message and "GENERATION_PRICES" in error.value.message


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "not valid JSON"),
        ("[]", "expected an object"),
        ('{"m": {"input": 1}}', "exactly 'input' and 'output'"),
        ('{"m": {"input": -1, "output": 1}}', "0 or more"),
        ('{"m": {"input": "2", "output": 1}}', "a number"),
    ],
)
def test_a_malformed_price_setting_says_what_is_wrong(text, reason):
    with pytest.raises(ValueError, match=reason):
        pricing.parse_prices(text)


def test_a_malformed_price_setting_stops_start_up(monkeypatch):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "true",
            "GENERATION_PRICES": '{"m": 3}',
        },
        capture_output=True,
        text=True,
        cwd=pricing.__file__.rsplit("/generation/", 1)[0],
    )

    assert result.returncode != 0
    assert ImproperlyConfigured.__name__ in result.stderr and "GENERATION_PRICES" in result.stderr


def test_the_estimate_counts_every_request_and_prices_both_modes(settings):
    settings.GENERATION_PRICES = {}
    requests = [("s" * 35, "p" * 350, 4), ("s" * 35, "p" * 700, None)]

    estimate = pricing.estimate("claude-sonnet-5-5", requests, max_tokens=1500, mode="batch")

    assert estimate.input_tokens == (10 + 100) + (10 + 200)
    assert estimate.output_tokens == (200 + 320 * 4) + 1500  # the second is capped
    assert estimate.cost_usd_realtime == Decimal(320 * 2 + 2980 * 10) / 1_000_000
    assert estimate.as_dict()["costUsd"] == estimate.cost_usd_realtime / 2


def request(number: int, prompt: str = "Hello") -> Request:
    return Request(f"item-{number}-1", "claude-sonnet-5-5", 100, "sys", prompt, {"type": "object"})


def test_the_request_sends_the_system_prompt_and_asks_for_the_schema():
    body = request_body(request(1))

    assert body == {
        "model": "claude-sonnet-5-5",
        "max_tokens": 100,
        "system": "sys",
        "messages": [{"role": "user", "content": "Hello"}],
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
    }


def test_batches_are_cut_by_count_and_by_size_in_order():
    by_count = list(chunks((request(n) for n in range(7)), max_requests=3))
    one_size = len(json.dumps({"custom_id": "item-0-1", "params": request_body(request(0))}))
    by_size = list(chunks((request(n) for n in range(5)), max_bytes=2 * one_size + 20))

    assert [[r.custom_id for r in chunk] for chunk in by_count] == [
        ["item-0-1", "item-1-1", "item-2-1"],
        ["item-3-1", "item-4-1", "item-5-1"],
        ["item-6-1"],
    ]
    assert [len(chunk) for chunk in by_size] == [2, 2, 1]


def test_a_request_larger_than_a_batch_is_refused():
    with pytest.raises(ProviderError) as error:
        list(chunks([request(1, "x" * 500)], max_bytes=300))

    assert error.value.kind == "bad_request" and "item-1-1" in error.value.message
