"""Request bodies as bin/serve reads them: chunked bodies (no Content-Length), and large
uploads, which go to disk rather than memory and are capped as a whole."""

import contextlib
import http.client
import json
import re
import threading
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

from conversations.models import Conversation
from core.tokens import create_token
from tests.factories import UserFactory, conversation_document
from tests.servers import give_password, production_env, start_web

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


# Uploads ------------------------------------------------------------------------------


class PeakMemory:
    """The largest resident size any worker process of ``server`` reached while the block
    ran, above what it used before (sampled by a thread)."""

    def __init__(self, server) -> None:
        self.parent = psutil.Process(server.process.pid)

    def _workers(self) -> list:
        return [
            p for p in self.parent.children(recursive=True) if "gunicorn" in " ".join(p.cmdline())
        ]

    def _rss(self) -> dict[int, int]:
        sizes = {}
        for process in self._workers():
            with contextlib.suppress(psutil.Error):
                sizes[process.pid] = process.memory_info().rss
        return sizes

    def __enter__(self):
        self.before = self._rss()
        self.peak = dict(self.before)
        self._stop = threading.Event()

        def sample() -> None:
            while not self._stop.is_set():
                for pid, rss in self._rss().items():
                    self.peak[pid] = max(self.peak.get(pid, 0), rss)
                self._stop.wait(0.02)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.growth = max(
            self.peak[pid] - self.before.get(pid, self.peak[pid]) for pid in self.peak
        )


def logged_in_session(url: str) -> dict[str, str]:
    """Headers of a signed-in browser session (cookies and CSRF token), over plain HTTP."""
    give_password(UserFactory(username="uploader"), "pw-upload")
    client = httpx.Client(base_url=url, follow_redirects=False)
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = client.post(
        "/accounts/login/",
        data={"csrfmiddlewaretoken": token, "username": "uploader", "password": "pw-upload"},
        headers={"Referer": f"{url}/accounts/login/"},
    )
    assert answer.status_code == 302, answer.text
    return client


def big_conversation(index: int, size: int) -> bytes:
    """A conversation file of about ``size`` bytes: thousands of turns, as a long
    generation has (many small objects once parsed, not one long string)."""
    turns = size // 260
    document = conversation_document(turns=turns, session_context=f"Long session {index}.")
    return json.dumps(document).encode()


def upload(client: httpx.Client, files: list[tuple[str, bytes]]) -> httpx.Response:
    token = client.cookies["csrftoken"]
    return client.post(
        "/batch-jobs/new/",
        data={"csrfmiddlewaretoken": token, "tier": "template", "name": "big"},
        files=[("files", (name, content, "application/json")) for name, content in files],
        headers={"Referer": f"{client.base_url}batch-jobs/new/"},
        timeout=300,
    )


def test_an_upload_of_several_large_files_is_imported_in_bounded_memory(server):
    client = logged_in_session(server.url)
    limit = 20 * 1024 * 1024
    files = [(f"long-{n}.json", big_conversation(n, limit // 5 - 100_000)) for n in range(5)]
    total = sum(len(content) for _, content in files)
    assert total <= limit
    # The workers load the page's code on their first upload: not what is measured.
    for _ in range(2):
        upload(client, [("warm-up.json", big_conversation(99, 10_000))])

    with PeakMemory(server) as memory:
        answer = upload(client, files)

    assert answer.status_code == 302, answer.text[-2000:]
    assert Conversation.objects.filter(conversation_name__istartswith="long").count() == 5
    print(f"upload of {total:,} bytes: worker grew by {memory.growth / 2**20:.0f} MiB")
    # Held whole, five files took over six times their size (and with no cap, 60 MB files
    # took a worker to 1 GB); read one at a time from disk, well under three.
    assert memory.growth < 2.5 * total


def test_an_upload_past_the_cap_is_refused_without_being_held(server):
    client = logged_in_session(server.url)
    files = [(f"long-{n}.json", big_conversation(n, 5 * 1024 * 1024)) for n in range(5)]

    with PeakMemory(server) as memory:
        answer = upload(client, files)

    assert answer.status_code == 413
    assert "one upload takes at most" in answer.text or "too_large" in answer.text
    assert Conversation.objects.count() == 0
    assert memory.growth < 64 * 2**20
