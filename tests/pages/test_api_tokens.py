"""The API tokens page: a user creates tokens (the key shown once), sees only their own,
revokes them; with and without htmx. The command line creates them too."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import ApiToken
from core.tokens import create_token, hash_key
from tests.factories import ConversationFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/account/api-tokens/"
KEY = re.compile(r'data-testid="new-token-key">([^<]+)<')


def works(key: str, user) -> bool:
    conversation = ConversationFactory(created_by=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get(f"/api/conversations/{conversation.pk}/enrich").status_code == 200


def test_the_page_needs_a_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"


def test_creating_a_token_shows_its_key_once_after_the_redirect(user_client, user):
    response = user_client.post(URL, {"name": "nightly export", "expires_in_days": "30"})

    assert response.status_code == 302
    assert response["Location"] == URL
    token = ApiToken.objects.get(user=user)
    assert token.name == "nightly export"
    assert timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= timedelta(days=30)
    shown = user_client.get(URL).content.decode()
    key = KEY.search(shown)[1]
    assert token.key_hash == hash_key(key)
    assert "Copy it now: it is not shown again." in shown
    assert works(key, user)
    again = user_client.get(URL).content.decode()
    assert key not in again
    assert f"{token.prefix}…" in again


def test_a_token_without_expiry_never_expires(user_client, user):
    user_client.post(URL, {"name": "forever", "expires_in_days": ""})

    assert ApiToken.objects.get(user=user).expires_at is None


def test_creating_with_htmx_answers_the_list_with_the_key(user_client, user):
    response = user_client.post(URL, {"name": "ci"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    body = response.content.decode()
    assert body.strip().startswith('<section id="tokens"')
    assert "<html" not in body
    key = KEY.search(body)[1]
    assert ApiToken.objects.get(user=user).key_hash == hash_key(key)
    assert "new_api_token" not in user_client.session


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "  "}, "Name: This field is required."),
        ({"name": ""}, "Name: This field is required."),
        ({"name": "x" * 101}, "Name: Ensure this value has at most 100 characters"),
        ({"name": "ok", "expires_in_days": "12"}, "Expires: Select a valid choice."),
    ],
)
def test_a_bad_form_creates_nothing_and_says_why(user_client, user, data, error):
    response = user_client.post(URL, data)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert not ApiToken.objects.exists()


def test_the_page_lists_only_my_tokens(user_client, user):
    create_token(user, name="mine")
    create_token(UserFactory(), name="someone else's")
    create_token(user, name="old one", expires_at=timezone.now() - timedelta(days=1))

    page = user_client.get(URL).content.decode()

    assert "mine" in page and "old one" in page
    assert "someone else" not in page
    assert "Expired" in page


def test_revoking_a_token_stops_it_working(user_client, user):
    token, key = create_token(user, name="leaked")

    response = user_client.post(f"{URL}{token.pk}/revoke/")

    assert response.status_code == 302
    assert response["Location"] == URL
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert not works(key, user)
    assert "Token “leaked” revoked: it no longer works." in user_client.get(URL).content.decode()


def test_revoking_with_htmx_answers_the_list_without_it(user_client, user):
    token, _ = create_token(user, name="leaked")
    kept, _ = create_token(user, name="kept")

    response = user_client.post(f"{URL}{token.pk}/revoke/", headers={"HX-Request": "true"})

    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="token-{kept.pk}"' in body
    assert f'id="token-{token.pk}"' not in body
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["kept"]


def test_someone_elses_token_cannot_be_revoked(user_client):
    theirs, key = create_token(UserFactory(), name="theirs")

    response = user_client.post(f"{URL}{theirs.pk}/revoke/")

    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


def test_revoke_takes_only_post(user_client, user):
    token, _ = create_token(user, name="kept")

    assert user_client.get(f"{URL}{token.pk}/revoke/").status_code == 405
    assert ApiToken.objects.filter(pk=token.pk).exists()


# The command line -------------------------------------------------------------------------


def test_create_api_token_prints_a_working_key():
    user = UserFactory(username="dana")
    out, err = StringIO(), StringIO()

    call_command(
        "create_api_token",
        "dana",
        "--name",
        "cron",
        "--expires-in-days",
        "7",
        stdout=out,
        stderr=err,
    )

    key = out.getvalue().strip()
    token = ApiToken.objects.get(user=user)
    assert (token.name, token.key_hash) == ("cron", hash_key(key))
    assert timedelta(days=6, hours=23) < token.expires_at - timezone.now() <= timedelta(days=7)
    assert err.getvalue().startswith("Token 'cron' for dana (expires ")
    assert works(key, user)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody"], "'nobody': no such user"),
        (["dana", "--expires-in-days", "0"], "--expires-in-days must be at least 1"),
        (["dana", "--name", " "], "--name must be 1 to 100 characters"),
    ],
)
def test_create_api_token_refuses_bad_arguments(args, message):
    UserFactory(username="dana")

    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("create_api_token", *args, stdout=StringIO(), stderr=StringIO())

    assert not ApiToken.objects.exists()
