"""What the fake provider remembers (batches, scripted failures, the calls it received)
and how it answers them; ``server.py`` puts it on HTTP."""

import itertools
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from . import answers

MAX_BODY_BYTES = 256 * 1024 * 1024
MAX_BATCH_REQUESTS = 100_000
# How long a held create call's answer waits for ``/_fake/release`` at most.
HOLD_SECONDS = 600
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
MESSAGE_KEYS = {
    "model", "max_tokens", "messages", "system", "temperature", "output_config", "metadata",
    "stop_sequences", "top_k", "top_p", "thinking", "service_tier",
}  # fmt: skip


@dataclass(frozen=True)
class Partial:
    """A download that stops partway: ``length`` bytes promised, ``sent`` sent; then the
    connection drops, or (``held``) the ``rest`` follows once the event is set."""

    length: int
    sent: bytes
    rest: bytes = b""
    held: threading.Event | None = None


class Failure(Exception):
    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


class State:
    """Everything the fake remembers, behind one lock."""

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.lock = threading.Lock()
        self.epoch = 0
        self.woken = threading.Event()
        self.reset()

    def reset(self) -> None:
        self.batches: dict[str, dict] = {}
        self.failures: list[dict] = []
        self.requests: list[dict] = []
        self.seen: dict[str, int] = {}
        # Answers given per prompt: a prompt asked again gets another take, as a model's
        # would differ (else two repeats of one combination would be duplicates).
        self.answered: dict[str, int] = {}
        self.batch_polls = 1
        self.break_results_after: int | None = None
        self.hold_results_after: int | None = None
        self.hold_creation = False
        # Realtime calls: how long each takes, how many are being answered, the most ever.
        self.message_seconds = 0.0
        self.messages_in_flight = 0
        self.max_messages_in_flight = 0
        # Calls still waiting from before the reset are woken and belong to no test.
        self.epoch += 1
        self.woken.set()
        self.woken = threading.Event()
        self.release()

    def configure(self, options: dict) -> dict:
        self.batch_polls = int(options.get("batch_polls", self.batch_polls))
        self.message_seconds = float(options.get("message_seconds", self.message_seconds))
        for name in ("break_results_after", "hold_results_after"):
            if name in options:
                setattr(self, name, None if options[name] is None else int(options[name]))
        if "hold_creation" in options:
            self.hold_creation = bool(options["hold_creation"])
        if (self.hold_creation or self.hold_results_after is not None) and self.released.is_set():
            self.released = threading.Event()
        return {
            "batch_polls": self.batch_polls,
            "message_seconds": self.message_seconds,
            "break_results_after": self.break_results_after,
            "hold_results_after": self.hold_results_after,
            "hold_creation": self.hold_creation,
        }

    def hold(self) -> threading.Event | None:
        """What a create call's answer waits for, when answers are held."""
        return self.released if self.hold_creation else None

    def release(self) -> None:
        """Answers held go out, and no more are held."""
        self.hold_creation = False
        self.hold_results_after = None
        released = getattr(self, "released", None)
        if released is not None:
            released.set()
        self.released = threading.Event()
        self.released.set()

    def message_started(self) -> tuple[int, float, threading.Event]:
        """A ``/v1/messages`` call arrived (under the lock): its epoch, the seconds it is to
        take, and what wakes it early (a reset)."""
        self.messages_in_flight += 1
        self.max_messages_in_flight = max(self.max_messages_in_flight, self.messages_in_flight)
        return self.epoch, self.message_seconds, self.woken

    def message_ended(self, epoch: int) -> None:
        if epoch == self.epoch:
            self.messages_in_flight -= 1

    def message_stats(self) -> dict:
        return {
            "in_flight": self.messages_in_flight,
            "max_in_flight": self.max_messages_in_flight,
            "calls": sum(1 for r in self.requests if r["path"] == "/v1/messages"),
        }

    # Messages --------------------------------------------------------------------

    def message(self, params: dict) -> dict:
        _check_message(params)
        prompt = _prompt(params)
        take = self.answered.get(prompt, 0)
        self.answered[prompt] = take + 1
        stop_reason, text = answers.answer(prompt, params["max_tokens"], take=take)
        return {
            "id": f"msg_fake_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": params["model"],
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": answers.tokens(json.dumps(params.get("system", "")) + prompt),
                "output_tokens": answers.tokens(text),
            },
        }

    # Batches ---------------------------------------------------------------------

    def create_batch(self, body: dict) -> dict:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise Failure(400, "requests: a non-empty list is required")
        if len(requests) > MAX_BATCH_REQUESTS:
            raise Failure(400, f"requests: at most {MAX_BATCH_REQUESTS} per batch")
        ids = set()
        for index, entry in enumerate(requests):
            custom_id = entry.get("custom_id") if isinstance(entry, dict) else None
            if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 64:
                raise Failure(400, f"requests.{index}.custom_id: 1 to 64 characters")
            if custom_id in ids:
                raise Failure(400, f"requests.{index}.custom_id: {custom_id!r} is not unique")
            ids.add(custom_id)
            _check_message(entry.get("params"), f"requests.{index}.params.")
        created = _now()
        batch = {
            "id": f"msgbatch_fake_{uuid.uuid4().hex[:24]}",
            "order": next(_ORDER),
            "created_at": created,
            "expires_at": created + timedelta(hours=24),
            "ended_at": None,
            "cancel_initiated_at": None,
            "status": "in_progress",
            "polls_left": self.batch_polls,
            "requests": requests,
            "results": None,
        }
        self.batches[batch["id"]] = batch
        return batch

    def find(self, batch_id: str) -> dict:
        batch = self.batches.get(batch_id)
        if batch is None:
            raise Failure(404, f"No batch {batch_id!r}")
        return batch

    def poll(self, batch: dict) -> None:
        if batch["status"] == "ended":
            return
        if batch["polls_left"] <= 0:
            self.end(batch)
        else:
            batch["polls_left"] -= 1

    def end(self, batch: dict) -> None:
        if batch["status"] == "ended":
            return
        cancelled = batch["cancel_initiated_at"] is not None
        results = []
        for entry in batch["requests"]:
            params = entry["params"]
            prompt = _prompt(params)
            marks = answers.markers(prompt)
            seen = self.seen.get(prompt, 0)
            self.seen[prompt] = seen + 1
            if cancelled and "slow" in marks:
                result = {"type": "canceled"}
            elif "expired" in marks or ("expired-once" in marks and not seen):
                result = {"type": "expired"}
            elif "errored" in marks or ("errored-once" in marks and not seen):
                result = {
                    "type": "errored",
                    "error": {
                        "type": "error",
                        "error": {"type": "api_error", "message": "Internal server error"},
                        "request_id": f"req_fake_{uuid.uuid4().hex[:16]}",
                    },
                }
            else:
                result = {"type": "succeeded", "message": self.message(params)}
            results.append({"custom_id": entry["custom_id"], "result": result})
        batch["results"] = results
        batch["status"] = "ended"
        batch["ended_at"] = _now()

    def cancel(self, batch: dict) -> None:
        if batch["status"] == "in_progress":
            batch["status"] = "canceling"
            batch["cancel_initiated_at"] = _now()
            batch["polls_left"] = 0

    def view(self, batch: dict, base_url: str) -> dict:
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        if batch["results"] is None:
            counts["processing"] = len(batch["requests"])
        else:
            for line in batch["results"]:
                counts[line["result"]["type"]] += 1
        ended = batch["status"] == "ended"
        return {
            "id": batch["id"],
            "type": "message_batch",
            "processing_status": batch["status"],
            "request_counts": counts,
            "created_at": _stamp(batch["created_at"]),
            "expires_at": _stamp(batch["expires_at"]),
            "ended_at": _stamp(batch["ended_at"]),
            "cancel_initiated_at": _stamp(batch["cancel_initiated_at"]),
            "archived_at": None,
            "results_url": f"{base_url}/v1/messages/batches/{batch['id']}/results"
            if ended
            else None,
        }

    def listing(self, query: dict, base_url: str) -> dict:
        ordered = sorted(
            self.batches.values(), key=lambda b: (b["created_at"], b["order"]), reverse=True
        )
        limit = int(query.get("limit", ["20"])[0])
        if not 1 <= limit <= 1000:
            raise Failure(400, "limit: 1 to 1000")
        ids = [batch["id"] for batch in ordered]
        if "after_id" in query:
            after = query["after_id"][0]
            start = ids.index(after) + 1 if after in ids else len(ids)
            page = ordered[start : start + limit]
            has_more = start + limit < len(ordered)
        elif "before_id" in query:
            before = query["before_id"][0]
            stop = ids.index(before) if before in ids else 0
            page = ordered[max(stop - limit, 0) : stop]
            has_more = stop - limit > 0
        else:
            page, has_more = ordered[:limit], len(ordered) > limit
        return {
            "data": [self.view(batch, base_url) for batch in page],
            "has_more": has_more,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }

    def results_download(self, lines: list[bytes]) -> bytes | Partial:
        """A batch's results as JSONL; once, when asked, broken partway, or held partway
        until ``release``."""
        whole = b"".join(lines)
        broken, self.break_results_after = self.break_results_after, None
        held, self.hold_results_after = self.hold_results_after, None
        if broken is not None:
            return Partial(len(whole), b"".join(lines[:broken]))
        if held is not None:
            sent, rest = b"".join(lines[:held]), b"".join(lines[held:])
            return Partial(len(whole), sent, rest, self.released)
        return whole

    def raise_failure(self, path: str, method: str, *, after: bool = False) -> None:
        """The scripted failure for this call, if one is due (before or after it is done)."""
        for failure in self.failures:
            if (
                path.startswith(failure.get("path") or "/v1/")
                and failure.get("method", method).upper() == method
                and bool(failure.get("after")) == after
            ):
                failure["times"] -= 1
                if failure["times"] <= 0:
                    self.failures.remove(failure)
                message = failure.get("message") or "Scripted failure"
                raise Failure(failure["status"], message, failure.get("retry_after"))


_ORDER = itertools.count()


def _prompt(params: dict) -> str:
    parts = []
    for message in params.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [b.get("text", "") for b in content if isinstance(b, dict)]
    return "\n".join(parts)


def _check_message(params, where: str = "") -> None:
    if not isinstance(params, dict):
        raise Failure(400, f"{where or 'body'}: an object is required")
    unknown = sorted(set(params) - MESSAGE_KEYS)
    if unknown:
        raise Failure(400, f"{where}{unknown[0]}: Extra inputs are not permitted")
    if params.get("stream"):
        raise Failure(400, f"{where}stream: the fake does not stream")
    if not isinstance(params.get("model"), str) or not params["model"]:
        raise Failure(400, f"{where}model: Field required")
    max_tokens = params.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise Failure(400, f"{where}max_tokens: an integer of at least 1 is required")
    messages = params.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Failure(400, f"{where}messages: at least one message is required")
    temperature = params.get("temperature")
    if temperature is not None and not (
        isinstance(temperature, int | float) and 0 <= temperature <= 1
    ):
        raise Failure(400, f"{where}temperature: must be between 0 and 1")
    output = params.get("output_config")
    if output is not None:
        fmt = output.get("format") if isinstance(output, dict) else None
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
            raise Failure(400, f"{where}output_config.format.type: must be 'json_schema'")
        if not isinstance(fmt.get("schema"), dict):
            raise Failure(400, f"{where}output_config.format.schema: an object is required")
