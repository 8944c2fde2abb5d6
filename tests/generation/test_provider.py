"""Our provider driven through the official SDK against our fake provider, a real process
on 127.0.0.1 speaking the Messages and Message Batches APIs."""

import json
import socket
import urllib.error
import urllib.request
from datetime import timedelta

import pytest

from generation.anthropic_provider import AnthropicProvider
from generation.document import CONVERSATION_SCHEMA
from generation.parsing import parse_answer
from generation.provider import ProviderError, Request
from generation.providers import get_provider
from tests.conftest import FAKE_ANTHROPIC_KEY

pytestmark = pytest.mark.integration
SYSTEM = "You are Elena Morales, a financial planner who never judges."


def request(prompt: str, number: int = 1, **options) -> Request:
    return Request(
        options.pop("custom_id", f"item-{number}-attempt-1"),
        options.pop("model", "claude-sonnet-5-5"),
        options.pop("max_tokens", 8000),
        SYSTEM,
        prompt,
        CONVERSATION_SCHEMA,
        **options,
    )


def test_a_realtime_answer_is_a_document_and_the_request_is_as_documented(fake_anthropic):
    provider = get_provider()

    answer = provider.create_message(
        request("## The client\nAnn Lee (The Saver)\nWrite exactly 6 turns.")
    )

    parsed = parse_answer(answer.stop_reason, answer.text)
    assert (answer.stop_reason, parsed.parse_method) == ("end_turn", "direct")
    assert len(parsed.document["turns"]) == 6
    assert parsed.document["conversation_metadata"]["client_persona"] == "Ann Lee - The Saver"
    assert answer.input_tokens > 0 and answer.output_tokens == -(-len(answer.text) // 4)
    (sent,) = fake_anthropic.requests()
    assert sent["path"] == "/v1/messages"
    assert sent["body"]["system"] == SYSTEM
    assert sent["body"]["output_config"] == {
        "format": {"type": "json_schema", "schema": CONVERSATION_SCHEMA}
    }
    assert "temperature" not in sent["body"]  # current Sonnets refuse a non-default one
    assert "tools" not in sent["body"] and "tool_choice" not in sent["body"]


@pytest.mark.parametrize(
    ("marker", "stop_reason", "outcome", "method"),
    [
        ("[[fake:truncate]]", "max_tokens", "truncated", None),
        ("[[fake:refuse]]", "refusal", "refused", None),
        ("[[fake:bad_json]]", "end_turn", "parse_error", None),
        ("[[fake:repairable]]", "end_turn", "parsed", "repaired"),
    ],
)
def test_misbehaving_answers_end_as_documented(
    fake_anthropic, marker, stop_reason, outcome, method
):
    answer = get_provider().create_message(request(f"Write 4 turns. {marker}"))

    parsed = parse_answer(answer.stop_reason, answer.text)

    assert (answer.stop_reason, parsed.outcome, parsed.parse_method) == (
        stop_reason,
        outcome,
        method,
    )


def test_an_answer_longer_than_max_tokens_is_cut_off(fake_anthropic):
    answer = get_provider().create_message(request("Write 12 turns.", max_tokens=100))

    assert (answer.stop_reason, answer.output_tokens) == ("max_tokens", 100)
    assert parse_answer(answer.stop_reason, answer.text).outcome == "truncated"


@pytest.mark.parametrize(
    ("status", "kind", "pauses", "retryable"),
    [
        (429, "rate_limited", False, True),
        (529, "overloaded", False, True),
        (500, "server", False, True),
        (402, "billing", True, False),
        (403, "auth", True, False),
    ],
)
def test_provider_errors_come_back_at_once_with_their_kind(
    fake_anthropic, status, kind, pauses, retryable
):
    fake_anthropic.fail(status, retry_after=7)
    provider = get_provider()

    with pytest.raises(ProviderError) as error:
        provider.create_message(request("Write 4 turns."))

    assert (error.value.kind, error.value.status) == (kind, status)
    assert (error.value.pauses_job, error.value.retryable) == (pauses, retryable)
    assert error.value.retry_after == 7.0
    assert len(fake_anthropic.requests()) == 1  # the SDK did not retry by itself
    # The next call goes through.
    assert provider.create_message(request("Write 4 turns.")).stop_reason == "end_turn"


def test_a_request_the_provider_refuses_is_a_bad_request(fake_anthropic):
    with pytest.raises(ProviderError) as error:
        get_provider().create_message(request("Write 4 turns.", temperature=1.5))

    assert (error.value.kind, error.value.status) == ("bad_request", 400)
    assert "temperature" in error.value.message


def test_a_wrong_key_is_an_auth_error(fake_anthropic, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-wrong")

    with pytest.raises(ProviderError) as error:
        get_provider().create_message(request("Write 4 turns."))

    assert (error.value.kind, error.value.status, error.value.pauses_job) == ("auth", 401, True)
    assert "sk-ant-wrong" not in error.value.message


def test_without_a_key_nothing_is_sent_and_the_error_says_how_to_set_it(
    fake_anthropic, monkeypatch
):
    monkeypatch.delenv("ANTHROPIC_API_KEY")

    with pytest.raises(ProviderError) as error:
        get_provider()

    assert error.value.kind == "not_configured"
    assert "export ANTHROPIC_API_KEY=" in error.value.message
    assert fake_anthropic.requests() == []


def test_an_unreachable_provider_is_a_connection_error(fake_anthropic):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = AnthropicProvider(base_url=f"http://127.0.0.1:{port}", timeout=5)

    with pytest.raises(ProviderError) as error:
        provider.create_message(request("Write 4 turns."))

    assert (error.value.kind, error.value.retryable) == ("connection", True)


@pytest.mark.parametrize("header", ["x-api-key", "authorization"])
def test_the_fake_takes_the_key_in_either_header_and_refuses_none(fake_anthropic, header):
    url = f"{fake_anthropic.url}/v1/messages/batches"
    value = FAKE_ANTHROPIC_KEY if header == "x-api-key" else f"Bearer {FAKE_ANTHROPIC_KEY}"
    with_key = urllib.request.Request(
        url, headers={header: value, "anthropic-version": "2023-06-01"}
    )
    without = urllib.request.Request(url, headers={"anthropic-version": "2023-06-01"})

    with urllib.request.urlopen(with_key, timeout=10) as response:
        assert json.loads(response.read())["data"] == []
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(without, timeout=10)
    assert refused.value.code == 401
    assert json.loads(refused.value.read())["error"]["type"] == "authentication_error"


def test_a_batch_is_created_polled_ended_and_its_results_read(fake_anthropic):
    provider = get_provider()
    requests = [
        request("Write 4 turns.", 1),
        request("Write 6 turns. [[fake:errored]]", 2),
        request("Write 4 turns. [[fake:expired]]", 3),
        request("Write 4 turns. [[fake:truncate]]", 4),
    ]

    created = provider.create_batch(requests)
    polled = provider.retrieve_batch(created.id)
    ended = provider.retrieve_batch(created.id)
    results = {result.custom_id: result for result in provider.batch_results(created.id)}

    assert (created.processing_status, created.processing, created.requests) == (
        "in_progress",
        4,
        4,
    )
    assert polled.processing_status == "in_progress"
    assert ended.ended and (ended.succeeded, ended.errored, ended.expired) == (2, 1, 1)
    assert {cid: r.type for cid, r in results.items()} == {
        "item-1-attempt-1": "succeeded",
        "item-2-attempt-1": "errored",
        "item-3-attempt-1": "expired",
        "item-4-attempt-1": "succeeded",
    }
    assert results["item-4-attempt-1"].answer.stop_reason == "max_tokens"
    assert "api_error" in results["item-2-attempt-1"].error
    batch_call = next(r for r in fake_anthropic.requests() if r["method"] == "POST")
    assert [entry["params"]["system"] for entry in batch_call["body"]["requests"]] == [SYSTEM] * 4


def test_errored_once_succeeds_when_sent_again(fake_anthropic):
    provider = get_provider()
    fake_anthropic.configure(batch_polls=0)
    prompt = "Write 4 turns. [[fake:errored-once]]"

    first = provider.create_batch([request(prompt, custom_id="item-9-attempt-1")])
    provider.retrieve_batch(first.id)
    second = provider.create_batch([request(prompt, custom_id="item-9-attempt-2")])
    provider.retrieve_batch(second.id)

    assert [r.type for r in provider.batch_results(first.id)] == ["errored"]
    assert [r.type for r in provider.batch_results(second.id)] == ["succeeded"]


def test_a_cancelled_batch_keeps_what_finished_and_cancels_the_rest(fake_anthropic):
    provider = get_provider()
    fake_anthropic.configure(batch_polls=5)
    created = provider.create_batch(
        [request("Write 4 turns.", 1), request("Write 4 turns. [[fake:slow]]", 2)]
    )

    cancelling = provider.cancel_batch(created.id)
    ended = provider.retrieve_batch(created.id)

    assert cancelling.processing_status == "canceling"
    assert (ended.processing_status, ended.succeeded, ended.canceled) == ("ended", 1, 1)
    assert {r.custom_id: r.type for r in provider.batch_results(created.id)} == {
        "item-1-attempt-1": "succeeded",
        "item-2-attempt-1": "canceled",
    }


def test_a_429_on_creating_a_batch_creates_nothing(fake_anthropic):
    fake_anthropic.fail(429, retry_after=30, path="/v1/messages/batches")

    with pytest.raises(ProviderError) as error:
        get_provider().create_batch([request("Write 4 turns.")])

    assert (error.value.kind, error.value.retry_after) == ("rate_limited", 30.0)
    assert fake_anthropic.batches() == []


def test_the_batch_list_pages_newest_first_and_stops_at_a_time(fake_anthropic):
    provider = get_provider()
    created = [provider.create_batch([request("Write 4 turns.", n)]) for n in range(5)]

    listed = list(provider.list_batches(page_size=2))
    recent = list(provider.list_batches(created_after=created[3].created_at, page_size=2))

    assert [b.id for b in listed] == [b.id for b in reversed(created)]
    assert [b.id for b in recent] == [created[4].id, created[3].id]
    assert (
        list(provider.list_batches(created_after=created[4].created_at + timedelta(days=1))) == []
    )


def test_a_batch_unknown_to_the_provider_is_not_found(fake_anthropic):
    with pytest.raises(ProviderError) as error:
        get_provider().retrieve_batch("msgbatch_nope")

    assert error.value.kind == "not_found"


def test_a_temperature_asked_for_is_sent_in_both_modes(fake_anthropic):
    provider = get_provider()

    provider.create_message(request("Write 4 turns.", temperature=0.7))
    provider.create_batch([request("Write 4 turns.", temperature=0.7)])

    message_call, batch_call = fake_anthropic.requests()
    assert message_call["body"]["temperature"] == 0.7
    assert batch_call["body"]["requests"][0]["params"]["temperature"] == 0.7
