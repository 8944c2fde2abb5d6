"""Anthropic through its official SDK: the Messages API (realtime) and the Message Batches
API (half price, within 24 hours).

The key comes from ``ANTHROPIC_API_KEY`` in the environment only (never stored, never
logged); ``ANTHROPIC_BASE_URL`` points the SDK elsewhere (our fake provider in tests and
the demo). The SDK's own retries are off: a 429 or 529 comes back at once with its
``retry-after`` so the engine reschedules the work instead of a worker sleeping.
The SDK takes seconds to import, so it is imported on first use.
"""

import email.utils
import os
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .provider import Answer, Batch, ProviderError, Request, Result, request_body

DEFAULT_TIMEOUT_SECONDS = 600.0
BATCH_PAGE_SIZE = 100
API_KEY_HELP = (
    "ANTHROPIC_API_KEY is not set: put your Anthropic API key in the environment of the web "
    "and worker processes (export ANTHROPIC_API_KEY=sk-ant-…); it is never stored."
)


class AnthropicProvider:
    name = "anthropic"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        api_key = api_key or os.environ.get("ANTHROPIC_API_KEY") or None
        if not api_key:
            raise ProviderError("not_configured", API_KEY_HELP)
        import anthropic

        self._anthropic = anthropic
        # base_url None: the SDK reads ANTHROPIC_BASE_URL, else the real API.
        self.client = anthropic.Anthropic(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout
        )

    # Realtime -----------------------------------------------------------------------

    def create_message(self, request: Request) -> Answer:
        body = request_body(request)
        # The SDK has no sampling parameters any more (current models refuse a non-default
        # one): a temperature asked for goes in the body as it is, and the provider judges.
        extra = {"temperature": body.pop("temperature")} if "temperature" in body else None
        with self._errors():
            message = self.client.messages.create(**body, extra_body=extra)
        return _answer(message)

    # Batches ------------------------------------------------------------------------

    def create_batch(self, requests: list[Request]) -> Batch:
        entries = [{"custom_id": r.custom_id, "params": request_body(r)} for r in requests]
        with self._errors():
            return _batch(self.client.messages.batches.create(requests=entries))

    def retrieve_batch(self, batch_id: str) -> Batch:
        with self._errors():
            return _batch(self.client.messages.batches.retrieve(batch_id))

    def list_batches(
        self, *, created_after: datetime | None = None, page_size: int = BATCH_PAGE_SIZE
    ) -> Iterator[Batch]:
        with self._errors():
            for found in self.client.messages.batches.list(limit=page_size):
                batch = _batch(found)
                if created_after is not None and batch.created_at < created_after:
                    return
                yield batch

    def cancel_batch(self, batch_id: str) -> Batch:
        with self._errors():
            return _batch(self.client.messages.batches.cancel(batch_id))

    def batch_results(self, batch_id: str) -> Iterator[Result]:
        with self._errors():
            for line in self.client.messages.batches.results(batch_id):
                yield _result(line)

    # Errors -------------------------------------------------------------------------

    def _errors(self):
        return _ErrorMapping(self._anthropic)


class _ErrorMapping:
    """Turns the SDK's exceptions into ``ProviderError`` with the kind the engine acts on."""

    def __init__(self, anthropic: Any) -> None:
        self.anthropic = anthropic

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None or isinstance(exc, ProviderError | GeneratorExit):
            return False
        mapped = provider_error(self.anthropic, exc)
        if mapped is None:
            return False
        raise mapped from exc


def provider_error(anthropic: Any, exc: BaseException) -> ProviderError | None:
    if isinstance(exc, anthropic.APIConnectionError):
        return ProviderError("connection", f"Cannot reach the provider: {exc}")
    if not isinstance(exc, anthropic.APIStatusError):
        return None
    status = exc.status_code
    error_type = getattr(exc, "type", None) or ""
    detail = getattr(exc, "api_message", None) or str(exc)
    message = f"The provider answered {status} ({error_type or 'error'}): {detail}"
    retry_after = _retry_after(exc.response.headers)
    if status == 429:
        kind = "rate_limited"
    elif status == 529 or error_type == "overloaded_error":
        kind = "overloaded"
    elif status == 402 or error_type == "billing_error":
        kind = "billing"
    elif status in (401, 403):
        kind = "auth"
    elif status == 404:
        kind = "not_found"
    elif status >= 500:
        kind = "server"
    else:
        kind = "bad_request"
    return ProviderError(kind, message, status=status, retry_after=retry_after)


def _retry_after(headers) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``retry-after`` (seconds or a date)."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(float(milliseconds) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        return None if parsed is None else max(email.utils.mktime_tz(parsed) - time.time(), 0.0)


def _answer(message: Any) -> Answer:
    text = "".join(
        block.text for block in message.content if getattr(block, "type", None) == "text"
    )
    usage = message.usage
    return Answer(
        stop_reason=message.stop_reason,
        text=text,
        input_tokens=_billed_input(usage),
        output_tokens=usage.output_tokens or 0,
        model=message.model,
        message_id=message.id,
    )


def _billed_input(usage: Any) -> int:
    """Input tokens, cache writes and reads included (generation asks for no caching; were
    any reported, they are priced as plain input)."""
    return sum(
        getattr(usage, name, None) or 0
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


def _batch(batch: Any) -> Batch:
    counts = batch.request_counts
    return Batch(
        id=batch.id,
        processing_status=batch.processing_status,
        created_at=batch.created_at,
        processing=counts.processing,
        succeeded=counts.succeeded,
        errored=counts.errored,
        expired=counts.expired,
        canceled=counts.canceled,
        ended_at=batch.ended_at,
    )


def _result(line: Any) -> Result:
    result = line.result
    if result.type == "succeeded":
        return Result(line.custom_id, "succeeded", answer=_answer(result.message))
    if result.type == "errored":
        error = result.error.error
        return Result(
            line.custom_id,
            "errored",
            error=f"{getattr(error, 'type', 'error')}: {getattr(error, 'message', '')}",
        )
    return Result(line.custom_id, result.type, error=f"The request {result.type}.")
