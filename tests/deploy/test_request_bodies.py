"""Request bodies as bin/serve reads them: chunked bodies (no Content-Length), and large
uploads, which go to disk rather than memory and are capped as a whole."""

import http.client
import json
from urllib.parse import urlsplit

import pytest

from core.tokens import create_token
from tests.factories import UserFactory
from tests.servers import production_env, start_web

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture(scope="module")
def server(test_database, static_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bodies")
    env = production_env(media_root=folder / "media", static_root=static_root, DJANGO_HTTPS="false")
    server = start_web(env, folder / "serve.log")
    yield server
    server.stop()


def post_chunked(url: str, path: str, chunks: list[bytes], headers: dict) -> tuple[int, dict]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("POST", path)
        for name, value in {**headers, "Transfer-Encoding": "chunked"}.items():
            connection.putheader(name, value)
        connection.endheaders()
        for chunk in chunks:
            connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        connection.send(b"0\r\n\r\n")
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_chunked_body_is_read_like_any_other(server):
    _, key = create_token(UserFactory(), name="streaming client")
    body = json.dumps({"name": "Sent in chunks", "tier": "template"}).encode()

    status, answer = post_chunked(
        server.url,
        "/api/batch-jobs",
        [body[:7], body[7:20], body[20:]],
        {"Authorization": f"Token {key}", "Content-Type": "application/json"},
    )

    assert status == 201, answer
    assert answer["name"] == "Sent in chunks"
