"""Managing your own API tokens through the API: list (never a key), create (the key in
that answer only, and it works), revoke (it stops working); nobody reaches another's."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import ApiToken
from core.tokens import create_token, find_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/tokens"


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_user_creates_a_token_whose_key_is_shown_once_and_works(user):
    _, key = create_token(user, name="first")
    api = token_client(key)

    created = api.post(URL, {"name": "nightly export", "expiresInDays": 30}, format="json")

    assert created.status_code == 201
    body = created.json()
    assert created["Location"] == f"/api/tokens/{body['id']}"
    assert body["name"] == "nightly export"
    assert body["key"].startswith(body["prefix"])
    assert body["expired"] is False
    expires = timezone.now() + timedelta(days=30)
    assert abs(ApiToken.objects.get(pk=body["id"]).expires_at - expires) < timedelta(minutes=1)
    # The new key works; nothing stores or shows it again.
    assert token_client(body["key"]).get(URL).status_code == 200
    assert find_token(body["key"]).pk == body["id"]
    listed = api.get(URL).json()
    assert [token["name"] for token in listed["data"]] == ["nightly export", "first"]
    assert all("key" not in token for token in listed["data"])
    assert listed["pagination"] == {"limit": 50, "offset": 0, "nextOffset": None}


def test_without_an_expiry_a_token_never_expires(api, user):
    body = api.post(URL, {"name": " forever\n", "expiresInDays": None}, format="json").json()

    assert (body["name"], body["expiresAt"]) == ("forever", None)
    assert ApiToken.objects.get(pk=body["id"]).expires_at is None


def test_the_list_holds_only_your_own_tokens_even_for_staff(staff_api, user):
    create_token(user, name="someone else's")

    assert staff_api.get(URL).json()["data"] == []


def test_an_expired_token_is_listed_as_expired(api, user):
    create_token(user, name="old", expires_at=timezone.now() - timedelta(days=1))

    [token] = api.get(URL).json()["data"]

    assert (token["name"], token["expired"]) == ("old", True)


def test_revoking_a_token_stops_its_key(user):
    _, key = create_token(user, name="to revoke")
    token = find_token(key)
    api = token_client(key)

    response = api.delete(f"{URL}/{token.pk}")

    assert response.status_code == 204
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert api.get(URL).status_code == 401


@pytest.mark.parametrize("token_id", ["theirs", 0, 99999999999999999999])
def test_revoking_a_token_not_yours_is_404_and_keeps_it(api, token_id):
    theirs, _ = create_token(UserFactory(), name="theirs")
    token_id = theirs.pk if token_id == "theirs" else token_id

    response = api.delete(f"{URL}/{token_id}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["missing"] == [str(token_id)]
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": 7}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "ok", "expiresInDays": 0}, "expiresInDays"),
        ({"name": "ok", "expiresInDays": 3651}, "expiresInDays"),
        ({"name": "ok", "expiresInDays": "7"}, "expiresInDays"),
        ({"name": "ok", "expiresInDays": True}, "expiresInDays"),
        ({"name": "ok", "expires": 7}, "expires"),
        (["name"], "body"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field_and_creates_nothing(api, body, field):
    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["details"]
    assert ApiToken.objects.count() == 0


def test_tokens_need_credentials(client):
    assert client.get(URL).status_code == 401
    assert client.post(URL, {"name": "x"}, content_type="application/json").status_code == 401
