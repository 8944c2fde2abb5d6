"""Throttle counts under concurrent clients, against bin/serve (two worker processes
sharing the database cache table): no more calls get through than the rate says."""

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.db import connection

from core.tokens import create_token
from tests.factories import UserFactory
from tests.proxy import request_from
from tests.servers import production_env, start_web

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

CLIENTS, CALLS_EACH = 16, 6


@pytest.fixture(scope="module")
def server(test_database, static_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("races")
    env = production_env(
        media_root=folder / "media",
        static_root=static_root,
        DJANGO_HTTPS="false",
        API_THROTTLE_USER="30/minute",
        API_THROTTLE_FAILED_TOKENS="20/minute",
    )
    server = start_web(env, folder / "serve.log")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_counts():
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM api_throttle_cache")


def hammer(url: str, keys: list[str]) -> list[int]:
    """Every key sent CALLS_EACH times, by CLIENTS clients at once; the statuses."""
    address = urlsplit(url).hostname

    def client(key: str) -> list[int]:
        headers = {"Authorization": f"Token {key}"}
        return [
            request_from(address, url, "GET", "/api/batch-jobs", headers) for _ in range(CALLS_EACH)
        ]

    with ThreadPoolExecutor(CLIENTS) as pool:
        return [status for statuses in pool.map(client, keys) for status in statuses]


def test_concurrent_calls_of_one_user_never_pass_the_user_rate(server):
    _, key = create_token(UserFactory(), name="busy script")

    statuses = hammer(server.url, [key] * CLIENTS)

    assert len(statuses) == CLIENTS * CALLS_EACH
    assert statuses.count(200) == 30
    assert statuses.count(429) == CLIENTS * CALLS_EACH - 30


def test_concurrent_wrong_tokens_never_pass_the_failure_rate(server):
    statuses = hammer(server.url, [f"guess-{n}" for n in range(CLIENTS)])

    assert statuses.count(401) == 20
    assert statuses.count(429) == CLIENTS * CALLS_EACH - 20
