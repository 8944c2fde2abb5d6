"""The HTTP side of the fake provider: the Messages API and the Message Batches API
(create, retrieve, list, cancel, delete, results as JSONL) as the official SDK calls them,
in memory, plus ``/_fake/...`` control endpoints for tests:

- ``POST /_fake/fail`` ``{"status": 429, "times": 1, "retry_after": 2, "path": "/v1/...",
  "method": "POST", "after": false}``: the next ``times`` calls (to paths starting with
  ``path``, default any ``/v1/`` path; of ``method``, default any) answer that status with
  the provider's error body (and ``retry-after`` when given). With ``"after": true`` the
  call is done first and only its answer is lost (a batch created whose creator never
  hears of it, as behind a gateway that timed out);
- ``POST /_fake/config`` ``{"batch_polls": N}``: a batch answers ``in_progress`` to N
  retrievals before it ends (default 1); ``{"hold_creation": true}``: each batch is
  created but the answer to its create call is held until ``POST /_fake/release`` (so a
  test can kill its caller in between); ``{"break_results_after": N}``: the next results
  download sends N lines, then the connection drops (a stream broken partway);
  ``{"hold_results_after": N}``: the next results download sends N lines, and the rest
  once ``POST /_fake/release`` is called (so a test can kill the worker taking them in);
  ``{"message_seconds": S}``: every ``POST /v1/messages`` takes S seconds to answer
  (default 0), while others are answered (a reset ends the calls still waiting);
- ``GET /_fake/messages``: ``{"in_flight", "max_in_flight", "calls"}``: the
  ``/v1/messages`` calls being answered now, the most ever answered at once, and how many
  were received (since the last reset);
- ``POST /_fake/batches/<id>/end``: end a batch now;
- ``GET /_fake/requests``: every ``/v1/`` call received (method, path, body, and how it
  authenticated: ``x-api-key``, ``bearer`` or ``refused``);
- ``GET /_fake/batches``: the batches with their ``custom_id`` s; ``POST /_fake/reset``.

Batches read markers in each request's prompt: ``[[fake:errored]]`` and
``[[fake:expired]]`` give that result (``-once``: only the first time that prompt is seen),
``[[fake:slow]]`` is still running when the batch is cancelled (so it ends ``canceled``).
"""

import contextlib
import json
import socket
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .state import ERROR_TYPES, HOLD_SECONDS, MAX_BODY_BYTES, Failure, Partial, State


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeAnthropic/1"
    protocol_version = "HTTP/1.1"
    state: State  # set by make_server

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base's name)
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path.rstrip("/"), parse_qs(parts.query)
        try:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                raise Failure(413, "Request body too large")
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            held = None
            if method == "POST" and path == "/v1/messages":
                status, payload = self._message(query, body)
            else:
                with self.state.lock:
                    if path.startswith("/_fake"):
                        status, payload = self._control(method, path, body)
                    else:
                        status, payload = self._api(method, path, query, body)
                        if method == "POST" and path == "/v1/messages/batches":
                            held = self.state.hold()
        except Failure as failure:
            self._error(failure)
            return
        except (ValueError, KeyError, TypeError) as exc:
            self._error(Failure(400, f"Bad request: {exc}"))
            return
        if held is not None:
            # Outside the lock: the rest of the fake answers while this answer waits.
            held.wait(timeout=HOLD_SECONDS)
        if isinstance(payload, Partial):
            self._send_partial(status, payload)
        elif isinstance(payload, bytes):
            self._send(status, payload, "application/binary")
        else:
            self._send(status, json.dumps(payload).encode(), "application/json")

    @property
    def base_url(self) -> str:
        return f"http://{self.headers.get('host') or '127.0.0.1'}"

    def _message(self, query: dict, body: dict):
        """A realtime call: in flight (counted) for ``message_seconds``, during which the
        fake answers other calls, then answered as any other. A reset meanwhile ends it
        with a 529 that no test counts."""
        state = self.state
        with state.lock:
            epoch, seconds, woken = state.message_started()
        try:
            if seconds > 0:
                woken.wait(seconds)
            with state.lock:
                if epoch != state.epoch:
                    raise Failure(529, "Overloaded (the fake was reset during this call)")
                return self._api("POST", "/v1/messages", query, body)
        finally:
            with state.lock:
                state.message_ended(epoch)

    def _api(self, method: str, path: str, query: dict, body: dict):
        state = self.state
        auth = self._authenticate()
        state.requests.append(
            {"method": method, "path": path, "query": query, "body": body, "auth": auth}
        )
        if auth == "refused":
            raise Failure(401, "invalid x-api-key")
        state.raise_failure(path, method)
        if not self.headers.get("anthropic-version"):
            raise Failure(400, "anthropic-version: header is required")
        answer = self._route(method, path, query, body)
        state.raise_failure(path, method, after=True)
        return answer

    def _route(self, method: str, path: str, query: dict, body: dict):
        state = self.state
        if method == "POST" and path == "/v1/messages":
            return 200, state.message(body)
        if path == "/v1/messages/batches":
            if method == "POST":
                return 200, state.view(state.create_batch(body), self.base_url)
            return 200, state.listing(query, self.base_url)
        segments = path.split("/")
        if len(segments) < 5 or segments[1:4] != ["v1", "messages", "batches"]:
            raise Failure(404, f"Not found: {method} {path}")
        batch = state.find(segments[4])
        tail = segments[5:]
        if method == "GET" and not tail:
            state.poll(batch)
            return 200, state.view(batch, self.base_url)
        if method == "POST" and tail == ["cancel"]:
            state.cancel(batch)
            return 200, state.view(batch, self.base_url)
        if method == "GET" and tail == ["results"]:
            if batch["status"] != "ended":
                raise Failure(400, "Batch has not ended yet")
            lines = [(json.dumps(line) + "\n").encode() for line in batch["results"]]
            return 200, state.results_download(lines)
        if method == "DELETE" and not tail:
            if batch["status"] != "ended":
                raise Failure(400, "Only an ended batch can be deleted; cancel it first")
            del state.batches[batch["id"]]
            return 200, {"id": batch["id"], "type": "message_batch_deleted"}
        raise Failure(404, f"Not found: {method} {path}")

    def _authenticate(self) -> str:
        key, kind = self.headers.get("x-api-key"), "x-api-key"
        bearer = self.headers.get("authorization") or ""
        if not key and bearer.lower().startswith("bearer "):
            key, kind = bearer[7:].strip(), "bearer"
        if not key or (self.state.api_key is not None and key != self.state.api_key):
            return "refused"
        return kind

    def _control(self, method: str, path: str, body: dict):
        state = self.state
        if method == "POST" and path == "/_fake/fail":
            state.failures.append({**body, "times": int(body.get("times", 1))})
            return 200, {"failures": len(state.failures)}
        if method == "POST" and path == "/_fake/config":
            return 200, state.configure(body)
        if method == "POST" and path == "/_fake/release":
            state.release()
            return 200, {}
        if method == "GET" and path == "/_fake/messages":
            return 200, state.message_stats()
        if method == "POST" and path == "/_fake/reset":
            state.reset()
            return 200, {}
        if method == "GET" and path == "/_fake/requests":
            return 200, {"requests": state.requests}
        if method == "GET" and path == "/_fake/batches":
            return 200, {
                "batches": [
                    {**state.view(b, self.base_url), "custom_ids": _custom_ids(b)}
                    for b in state.batches.values()
                ]
            }  # fmt: skip
        if method == "POST" and path.startswith("/_fake/batches/") and path.endswith("/end"):
            state.end(state.find(path.split("/")[3]))
            return 200, state.view(state.batches[path.split("/")[3]], self.base_url)
        raise Failure(404, f"Not found: {method} {path}")

    def _error(self, failure: Failure) -> None:
        body = {
            "type": "error",
            "error": {"type": ERROR_TYPES.get(failure.status, "api_error"),
                      "message": failure.message},
            "request_id": f"req_fake_{uuid.uuid4().hex[:16]}",
        }  # fmt: skip
        headers = {"request-id": body["request_id"]}
        if failure.retry_after is not None:
            headers["retry-after"] = str(failure.retry_after)
        self._send(failure.status, json.dumps(body).encode(), "application/json", headers)

    def _send_partial(self, status: int, partial: Partial) -> None:
        """Promise the whole body, send its start, and drop the connection (or send the
        rest once released)."""
        self.send_response(status)
        self.send_header("content-type", "application/binary")
        self.send_header("content-length", str(partial.length))
        self.end_headers()
        self.wfile.write(partial.sent)
        self.wfile.flush()
        if partial.held is not None:
            partial.held.wait(timeout=HOLD_SECONDS)
            try:
                self.wfile.write(partial.rest)
                return
            except OSError:
                pass  # the caller is gone
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, status: int, payload: bytes, content_type: str, headers=None) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        try:
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the caller is gone (killed while it waited)


def _custom_ids(batch: dict) -> list[str]:
    return [entry["custom_id"] for entry in batch["requests"]]


def make_server(host: str = "127.0.0.1", port: int = 0, api_key: str | None = None):
    """A threading HTTP server with its own state (``server.state``)."""
    state = State(api_key)
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    server.state = state
    return server
