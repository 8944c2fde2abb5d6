"""A small interface to an LLM provider, so that another one (OpenAI's Batch API) can follow
without touching the rest: one message now (realtime), batches of them (half price).

Providers raise ``ProviderError`` with a ``kind`` the engine acts on:

- ``rate_limited`` (429) and ``overloaded`` (529): reschedule after ``retry_after``;
- ``server`` (5xx) and ``connection``: retry with backoff;
- ``bad_request`` (400 and other 4xx): final for the item;
- ``auth`` (401, 403) and ``billing`` (402, billing errors): pause the whole job;
- ``not_found`` (404): the batch is unknown to the provider.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

ErrorKind = Literal[
    "rate_limited",
    "overloaded",
    "server",
    "connection",
    "bad_request",
    "auth",
    "billing",
    "not_found",
    "not_configured",
]
ResultType = Literal["succeeded", "errored", "expired", "canceled"]
# The Message Batches API's limits per batch.
MAX_BATCH_REQUESTS = 100_000
MAX_BATCH_BYTES = 256 * 1024 * 1024


class ProviderError(Exception):
    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after

    @property
    def pauses_job(self) -> bool:
        return self.kind in ("auth", "billing", "not_configured")

    @property
    def retryable(self) -> bool:
        return self.kind in ("rate_limited", "overloaded", "server", "connection")


@dataclass(frozen=True)
class Request:
    """One conversation to generate: ``custom_id`` names the item and its attempt."""

    custom_id: str
    model: str
    max_tokens: int
    system: str
    prompt: str
    output_format: dict  # a JSON schema
    temperature: float | None = None


@dataclass(frozen=True)
class Answer:
    """What the model wrote: its text blocks joined, why it stopped, what it cost."""

    stop_reason: str | None
    text: str
    input_tokens: int
    output_tokens: int
    model: str
    message_id: str = ""


@dataclass(frozen=True)
class Result:
    """One request's outcome in a batch; ``answer`` only when it succeeded."""

    custom_id: str
    type: ResultType
    answer: Answer | None = None
    error: str | None = None


@dataclass(frozen=True)
class Batch:
    id: str
    processing_status: str  # in_progress, canceling, ended
    created_at: datetime
    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    expired: int = 0
    canceled: int = 0
    ended_at: datetime | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def ended(self) -> bool:
        return self.processing_status == "ended"

    @property
    def requests(self) -> int:
        return self.processing + self.succeeded + self.errored + self.expired + self.canceled


class Provider(Protocol):
    name: str

    def create_message(self, request: Request) -> Answer: ...

    def create_batch(self, requests: list[Request]) -> Batch: ...

    def retrieve_batch(self, batch_id: str) -> Batch: ...

    def list_batches(self, *, created_after: datetime | None = None) -> Iterator[Batch]:
        """Newest first, stopping before the first batch created before ``created_after``."""
        ...

    def cancel_batch(self, batch_id: str) -> Batch: ...

    def batch_results(self, batch_id: str) -> Iterator[Result]: ...


def request_body(request: Request) -> dict:
    """The Messages API body of a request (Anthropic's shape, also each batch entry's
    ``params``): exactly the system prompt as ``system``, the prompt as the one user
    message, the document asked for through structured output."""
    body = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "system": request.system,
        "messages": [{"role": "user", "content": request.prompt}],
        "output_config": {"format": {"type": "json_schema", "schema": request.output_format}},
    }
    if request.temperature is not None:
        body["temperature"] = request.temperature
    return body


def chunks(
    requests: Iterable[Request],
    *,
    max_requests: int = MAX_BATCH_REQUESTS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> Iterator[list[Request]]:
    """Requests grouped into batches within the provider's limits (count and body size,
    with room for the envelope), in order. A single request over the size limit is a
    ``ProviderError`` (``bad_request``)."""
    envelope = len(b'{"requests":[]}')
    chunk: list[Request] = []
    size = envelope
    for request in requests:
        entry = {"custom_id": request.custom_id, "params": request_body(request)}
        entry_size = len(json.dumps(entry, separators=(",", ":")).encode("utf-8")) + 1
        if envelope + entry_size > max_bytes:
            raise ProviderError(
                "bad_request",
                f"The request {request.custom_id} alone is larger than a batch may be "
                f"({max_bytes:,} bytes).",
            )
        if chunk and (len(chunk) >= max_requests or size + entry_size > max_bytes):
            yield chunk
            chunk, size = [], envelope
        chunk.append(request)
        size += entry_size
    if chunk:
        yield chunk
