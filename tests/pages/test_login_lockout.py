"""Repeated wrong passwords lock a username out from that address (django-axes), on the
login page and the admin's alike; the right password does not get through the lock."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password"
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def dana(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return UserFactory(username="dana", password=PASSWORD, is_staff=True)


def log_in(path: str, password: str, address: str = "203.0.113.5") -> tuple[Client, object]:
    client = Client(REMOTE_ADDR=address)
    response = client.post(path, {"username": "dana", "password": password})
    return client, response


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_wrong_passwords_answer_the_form_until_the_limit(dana):
    client, response = log_in(LOGIN, "wrong-1")

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert not is_logged_in(client)


@pytest.mark.parametrize("path", [LOGIN, ADMIN_LOGIN])
def test_after_the_limit_even_the_right_password_is_refused_with_429(dana, path):
    for attempt in range(3):
        log_in(path, f"wrong-{attempt}")

    client, response = log_in(path, PASSWORD)

    assert response.status_code == 429
    assert int(response["Retry-After"]) == 15 * 60
    page = response.content.decode()
    assert "Too many failed logins" in page
    assert "Try again in 15 minutes" in page
    assert not is_logged_in(client)
    attempt = AccessAttempt.objects.get(username="dana", ip_address="203.0.113.5")
    assert attempt.failures_since_start >= 3


def test_the_lock_holds_for_one_username_from_one_address(dana):
    for attempt in range(3):
        log_in(LOGIN, f"wrong-{attempt}")

    other_address, response = log_in(LOGIN, PASSWORD, address="203.0.113.6")

    assert response.status_code == 302
    assert is_logged_in(other_address)


def test_the_lock_ends_after_the_cool_off(dana):
    for attempt in range(3):
        log_in(LOGIN, f"wrong-{attempt}")
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )

    client, response = log_in(LOGIN, PASSWORD)

    assert response.status_code == 302
    assert is_logged_in(client)


def test_an_administrator_lifts_a_lock_with_axes_reset(dana):
    for attempt in range(3):
        log_in(LOGIN, f"wrong-{attempt}")

    call_command("axes_reset_username", "dana")
    client, response = log_in(LOGIN, PASSWORD)

    assert response.status_code == 302
    assert is_logged_in(client)
    assert not AccessAttempt.objects.filter(username="dana").exists()


def test_a_successful_login_clears_the_earlier_failures(dana):
    log_in(LOGIN, "wrong-1")
    log_in(LOGIN, "wrong-2")
    log_in(LOGIN, PASSWORD)

    log_in(LOGIN, "wrong-3")
    client, response = log_in(LOGIN, PASSWORD)

    assert response.status_code == 302
    assert is_logged_in(client)
