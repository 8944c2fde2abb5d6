"""Who may call the API and how often: our own tokens (hashed, expiring, revocable) and the
throttles (per user, per address without credentials, wrong tokens per address), each
answering 429 in the API's error shape with Retry-After."""

import re
import socket
import uuid
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import ApiToken
from core.tokens import create_token, hash_key, revoke_token
from tests.factories import ConversationFactory, UserFactory

pytestmark = pytest.mark.django_db


def token_client(key: str, address: str = "192.0.2.10") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def status_url(conversation) -> str:
    return f"/api/conversations/{conversation.pk}/enrich"


# Tokens ------------------------------------------------------------------------------


def test_a_token_authenticates_its_owner_and_records_its_use():
    user = UserFactory()
    conversation = ConversationFactory(created_by=user)
    token, key = create_token(user, name="nightly export")

    response = token_client(key).get(status_url(conversation))

    assert response.status_code == 200
    assert response.json()["conversationId"] == str(conversation.conversation_id)
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < timedelta(seconds=30)


def test_only_a_hash_of_the_key_is_stored():
    token, key = create_token(UserFactory(), name="ci")

    token.refresh_from_db()

    assert token.key_hash == hash_key(key) != key
    assert token.prefix == key[:8]
    assert not ApiToken.objects.filter(key_hash=key).exists()
    assert len(key) >= 40


def test_an_expired_token_is_refused():
    user = UserFactory()
    conversation = ConversationFactory(created_by=user)
    _, key = create_token(user, name="old", expires_at=timezone.now() - timedelta(seconds=1))

    response = token_client(key).get(status_url(conversation))

    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "error": "Token expired.",
        "code": "authentication_failed",
    }
    assert response["WWW-Authenticate"] == "Token"


def test_a_token_valid_until_later_works_until_then():
    user = UserFactory()
    conversation = ConversationFactory(created_by=user)
    _, key = create_token(user, name="soon", expires_at=timezone.now() + timedelta(hours=1))

    assert token_client(key).get(status_url(conversation)).status_code == 200


def test_a_revoked_token_is_refused():
    user = UserFactory()
    conversation = ConversationFactory(created_by=user)
    token, key = create_token(user, name="leaked")

    revoke_token(token)
    response = token_client(key).get(status_url(conversation))

    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "error": "Invalid token.",
        "code": "authentication_failed",
    }
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_a_token_of_a_deactivated_user_is_refused():
    user = UserFactory()
    conversation = ConversationFactory(created_by=user)
    _, key = create_token(user, name="former")
    user.is_active = False
    user.save()

    response = token_client(key).get(status_url(conversation))

    assert response.status_code == 401
    assert response.json()["error"] == "User inactive or deleted."


def test_a_user_may_have_many_tokens_each_working():
    user = UserFactory()
    conversation = ConversationFactory(created_by=user)
    keys = [create_token(user, name=f"script {n}")[1] for n in range(3)]

    statuses = [token_client(key).get(status_url(conversation)).status_code for key in keys]

    assert statuses == [200, 200, 200]
    assert ApiToken.objects.filter(user=user).count() == 3


# Throttles ---------------------------------------------------------------------------


def test_a_user_past_the_rate_gets_429_with_retry_after(settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": "3/minute"}
    user = UserFactory()
    conversation = ConversationFactory(created_by=user)
    _, key = create_token(user, name="busy")
    client = token_client(key)

    statuses = [client.get(status_url(conversation)).status_code for _ in range(3)]
    response = client.get(status_url(conversation))

    assert statuses == [200, 200, 200]
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert 55 <= int(response["Retry-After"]) <= 60
    body = response.json()
    assert body["success"] is False
    assert body["error"].startswith("Request was throttled. Expected available in ")


def test_the_user_rate_counts_per_user_wherever_they_call_from(settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": "2/minute"}
    user, other = UserFactory(), UserFactory()
    mine, theirs = ConversationFactory(created_by=user), ConversationFactory(created_by=other)
    _, key = create_token(user, name="a")
    _, other_key = create_token(other, name="b")

    first = token_client(key, "192.0.2.1").get(status_url(mine)).status_code
    second = token_client(key, "192.0.2.2").get(status_url(mine)).status_code
    third = token_client(key, "192.0.2.3").get(status_url(mine)).status_code
    someone_else = token_client(other_key, "192.0.2.3").get(status_url(theirs)).status_code

    assert (first, second, third, someone_else) == (200, 200, 429, 200)


def test_calls_without_credentials_are_throttled_per_address(settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "anon": "2/minute"}
    client = APIClient(REMOTE_ADDR="198.51.100.7")

    statuses = [client.get("/api/schema/").status_code for _ in range(3)]
    elsewhere = APIClient(REMOTE_ADDR="198.51.100.8").get("/api/schema/").status_code

    assert statuses == [200, 200, 429]
    assert elsewhere == 200


def test_wrong_tokens_from_one_address_are_throttled_and_its_valid_keys_still_work(settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "failed_token": "3/minute"}
    user = UserFactory()
    conversation = ConversationFactory(created_by=user)
    _, key = create_token(user, name="real")
    url = status_url(conversation)

    wrong = [token_client(f"guess-{n}").get(url).status_code for n in range(3)]
    blocked = token_client("guess-4").get(url)
    right_key_same_address = token_client(key).get(url).status_code
    right_key_elsewhere = token_client(key, "192.0.2.99").get(url).status_code

    assert wrong == [401, 401, 401]
    assert blocked.status_code == 429
    retry_after = int(blocked["Retry-After"])
    assert 55 <= retry_after <= 60
    body = blocked.json()
    assert list(body) == ["success", "error", "code"] and body["success"] is False
    assert body["code"] == "throttled"
    message = re.fullmatch(
        r"Too many wrong tokens from your address\. Expected available in (\d+) seconds\.",
        body["error"],
    )
    assert message and int(message[1]) in {retry_after, retry_after + 1}
    # A valid key is never refused for someone else's wrong ones, nor does it clear them.
    assert right_key_same_address == 200
    assert right_key_elsewhere == 200
    assert token_client("guess-5").get(url).status_code == 429


def test_behind_a_proxy_the_forwarded_address_is_counted(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "anon": "1/minute"}

    def call(client_address: str) -> int:
        client = APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=client_address)
        return client.get("/api/schema/").status_code

    assert [call("203.0.113.1"), call("203.0.113.2"), call("203.0.113.1")] == [200, 200, 429]


def throttled_twice_with(settings, cache_config: dict) -> list[int]:
    """Two calls at a rate of one a minute, the second counted by a fresh cache connection
    (as another web process would have) over the same store."""
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": "1/minute"}
    settings.CACHES = {**settings.CACHES, settings.API_THROTTLE_CACHE: cache_config}
    user = UserFactory()
    conversation = ConversationFactory(created_by=user)
    _, key = create_token(user, name="two processes")
    first = token_client(key).get(status_url(conversation)).status_code
    caches.close_all()
    del caches[settings.API_THROTTLE_CACHE]  # the next call opens its own connection
    second = token_client(key).get(status_url(conversation)).status_code
    return [first, second]


def test_throttle_counts_are_shared_through_the_database_cache_by_default(settings):
    from config.settings import CACHES as production_caches

    config = production_caches[settings.API_THROTTLE_CACHE]
    assert config["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"

    assert throttled_twice_with(settings, config) == [200, 429]


def redis_is_running() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not redis_is_running(), reason="no Redis server on 127.0.0.1:6379")
def test_throttle_counts_can_live_in_redis(settings):
    from config.env import env_cache

    config = {**env_cache("X", "redis://127.0.0.1:6379/0"), "KEY_PREFIX": uuid.uuid4().hex}

    assert throttled_twice_with(settings, config) == [200, 429]


def test_keys_made_with_drf_authtoken_keep_working_after_the_migration():
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    migration = import_module("enrichment.migrations.0007_api_tokens")
    user = UserFactory()
    conversation = ConversationFactory(created_by=user)
    old_key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp with time zone NOT NULL, user_id integer NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [old_key, timezone.now() - timedelta(days=3), user.pk],
        )

    # The migration's own view of the models: ApiToken was enrichment's then.
    historical = SimpleNamespace(
        get_model=lambda app, name: (
            ApiToken if (app, name) == ("enrichment", "ApiToken") else apps.get_model(app, name)
        )
    )
    migration.copy_authtoken_keys(historical, SimpleNamespace(connection=connection))

    token = ApiToken.objects.get(user=user)
    assert (token.name, token.prefix, token.key_hash) == (
        "migrated",
        old_key[:8],
        hash_key(old_key),
    )
    assert timezone.now() - token.created_at > timedelta(days=2)
    assert token_client(old_key).get(status_url(conversation)).status_code == 200


def test_a_lowered_rate_still_says_when_to_come_back(settings):
    user = UserFactory()
    conversation = ConversationFactory(created_by=user)
    _, key = create_token(user, name="steady")
    client = token_client(key)
    for _ in range(5):
        assert client.get(status_url(conversation)).status_code == 200

    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": "2/minute"}
    response = client.get(status_url(conversation))

    assert response.status_code == 429
    assert 55 <= int(response["Retry-After"]) <= 60
