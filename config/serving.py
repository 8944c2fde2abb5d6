"""How bin/serve runs the app: Django's ASGI handler on gunicorn's asyncio worker.

The worker reads every request on its event loop, so a client that sends its body slowly
holds a socket, never the app: the views run in threads only once a whole body is in (on
disk past ``FILE_UPLOAD_MAX_MEMORY_SIZE``). A body that stalls for ``WEB_READ_TIMEOUT``
seconds ends its connection. The handler here adds what a deployment needs on top:

* a cap on every request body (``max_request_bytes()``): 413 before anything is read when
  ``Content-Length`` says more, or as soon as a chunked body grows past it;
* a chunked body (``Transfer-Encoding: chunked``, no ``Content-Length``) is read like any
  other: its length is the one the server received;
* one ``Server`` header naming the service, not the server software.
"""

import tempfile

import orjson
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler

SERVER_HEADER = b"enrichment"
# Room for a multipart upload's own framing (boundaries, part headers) on top of its files.
MULTIPART_ALLOWANCE = 1024 * 1024


def max_request_bytes() -> int:
    """The largest body any request may carry: an upload of ``UPLOAD_MAX_BYTES`` of files
    with its framing, or an API body of ``API_MAX_BODY_BYTES``. A proxy in front should
    allow exactly this much (nginx: ``client_max_body_size``)."""
    return max(settings.UPLOAD_MAX_BYTES + MULTIPART_ALLOWANCE, settings.API_MAX_BODY_BYTES)


class BodyTooLarge(Exception):
    pass


class BodyStalled(Exception):
    """The client stopped sending its body (or went away) before its end."""


def _error(message: str, code: str) -> bytes:
    # The API's error shape (core.api.errors.error_body), for pages and API alike.
    return orjson.dumps({"success": False, "error": message, "code": code})


class ServiceASGIHandler(ASGIHandler):
    async def handle(self, scope, receive, send):
        send = _with_server_header(send)
        limit = max_request_bytes()
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _answer_too_large(send, limit)
            return
        try:
            await super().handle(scope, receive, send)
        except BodyTooLarge:
            await _answer_too_large(send, limit)
        except BodyStalled:
            # Nobody may be left to read it; a client that only stalled learns why.
            message = "The request body did not arrive in time (or the client went away)."
            await _answer(send, 408, _error(message, "body_timeout"))

    async def read_body(self, receive):
        limit = max_request_bytes()
        body_file = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by handle())
            max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
        )
        received = 0
        write = sync_to_async(body_file.write, thread_sensitive=False)
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body_file.close()
                raise BodyStalled()
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                body_file.close()
                raise BodyTooLarge()
            if chunk:
                if getattr(body_file, "_rolled", False):
                    await write(chunk)
                else:
                    body_file.write(chunk)
            if not message.get("more_body", False):
                break
        body_file.seek(0)
        body_file.received = received  # per request: the handler serves many at once
        return body_file

    def create_request(self, scope, body_file):
        request, error = super().create_request(scope, body_file)
        if request is not None and "CONTENT_LENGTH" not in request.META:
            # A chunked body: the server took the framing off; its length is what came in.
            received = getattr(body_file, "received", 0)
            if received:
                request.META["CONTENT_LENGTH"] = str(received)
        return request, error


def _declared_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _with_server_header(send):
    async def sender(message):
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"server"]
            message = {**message, "headers": [*headers, (b"server", SERVER_HEADER)]}
        await send(message)

    return sender


async def _answer_too_large(send, limit: int) -> None:
    message = (
        f"The request body is larger than {limit} bytes, the most this service accepts "
        f"(an upload may carry {settings.UPLOAD_MAX_BYTES} bytes of files in all)."
    )
    await _answer(send, 413, _error(message, "too_large"))


async def _answer(send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
