"""bin/serve behind a reverse proxy that sends X-Forwarded-For, with DJANGO_NUM_PROXIES=1
as the README's production environment sets it: wrong tokens are counted per client,
never per proxy, and a valid key is never refused for anyone's wrong ones."""

import pytest
from django.db import connection

from core.tokens import create_token
from tests.factories import UserFactory
from tests.proxy import ReverseProxy, request_from
from tests.servers import production_env, start_web

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

ATTACKER, NEIGHBOUR = "127.0.0.2", "127.0.0.3"


@pytest.fixture(scope="module")
def proxy(test_database, static_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("behind-proxy")
    env = production_env(
        media_root=folder / "media",
        static_root=static_root,
        DJANGO_HTTPS="false",
        DJANGO_NUM_PROXIES="1",
    )
    server = start_web(env, folder / "serve.log")
    proxy = ReverseProxy(server.url)
    yield proxy
    proxy.stop()
    server.stop()


@pytest.fixture(autouse=True)
def fresh_counts():
    """The server counts in the database table, which outlives a test."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM api_throttle_cache")


def status(address: str, proxy: ReverseProxy, key: str) -> int:
    return request_from(
        address, proxy.url, "GET", "/api/batch-jobs", {"Authorization": f"Token {key}"}
    )


def test_wrong_tokens_cut_off_their_own_client_only_and_never_a_valid_key(proxy):
    _, key = create_token(UserFactory(), name="script")

    wrong = [status(ATTACKER, proxy, f"guess-{n}") for n in range(20)]
    past_the_rate = status(ATTACKER, proxy, "guess-21")
    neighbour_wrong = status(NEIGHBOUR, proxy, "typo")
    valid_from_the_attacker_address = status(ATTACKER, proxy, key)
    valid_from_the_neighbour = status(NEIGHBOUR, proxy, key)

    assert set(wrong) == {401}
    assert past_the_rate == 429
    assert neighbour_wrong == 401  # counted for its own address, not the proxy's
    assert valid_from_the_attacker_address == 200
    assert valid_from_the_neighbour == 200
