"""bin/serve exposed with no proxy in front: clients that send their bodies slowly, or not
at all, hold sockets but never the app, and are cut off after WEB_READ_TIMEOUT."""

import http.client
import json
import socket
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.servers import production_env, start_web

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture(scope="module")
def server(test_database, static_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("slow")
    env = production_env(
        media_root=folder / "media",
        static_root=static_root,
        DJANGO_HTTPS="false",
        WEB_READ_TIMEOUT="3",
    )
    server = start_web(env, folder / "serve.log")
    yield server
    server.stop()


def stalled_body(url: str) -> socket.socket:
    """A POST that announces 100 bytes of body and sends one."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    sock.sendall(
        b"POST /api/batch-jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    return sock


def test_two_clients_stalled_mid_body_do_not_stop_the_health_check(server):
    # As many stalled clients as the server has worker processes (WEB_CONCURRENCY=2).
    stalled = [stalled_body(server.url) for _ in range(2)]
    try:
        for _ in range(5):
            # Far below the read timeout: a server whose workers the stalled clients held
            # would not answer before this gives up.
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:
                assert response.status == 200
                assert response.headers.get_all("Server") == ["enrichment"]
                assert json.loads(response.read())["checks"]["database"] == "ok"
    finally:
        for sock in stalled:
            sock.close()


def test_a_body_that_stops_arriving_ends_in_408_after_the_read_timeout(server):
    sock = stalled_body(server.url)
    try:
        answer = sock.recv(4096)  # the server speaks first, once WEB_READ_TIMEOUT passed
    finally:
        sock.close()

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert json.loads(body)["code"] == "body_timeout"


def test_a_body_larger_than_any_request_may_carry_is_refused_before_it_is_sent(server):
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("POST", "/api/batch-jobs")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(10 * 1024**3))
        connection.endheaders()  # nothing of the 10 GiB follows
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()

    assert response.status == 413
    assert body["code"] == "too_large"
    assert "22020096 bytes" in body["error"]
