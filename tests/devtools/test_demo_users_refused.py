"""With DJANGO_DEBUG off (a deployment), seed_demo refuses to create the demo users, whose
passwords are public, unless told to."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from conversations.models import BatchJob, Persona
from devtools.demo.seed import KnownPasswordsRefused, seed_demo

pytestmark = pytest.mark.django_db

REFUSAL = (
    "DJANGO_DEBUG is off: seed_demo would create the users 'demo' (a superuser) and "
    "'analyst' with passwords anyone can read. Use --allow-known-passwords to do it anyway "
    "(never on a reachable server)."
)


@pytest.fixture(autouse=True)
def deployment(settings):
    settings.DEBUG = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_seed_demo_with_debug_off_refuses_and_creates_nothing():
    with pytest.raises(KnownPasswordsRefused, match="DJANGO_DEBUG is off"):
        seed_demo()

    assert not get_user_model().objects.exists()
    assert not Persona.objects.exists()
    assert not BatchJob.objects.exists()


def test_the_command_with_debug_off_says_why_and_how():
    with pytest.raises(CommandError) as refusal:
        call_command("seed_demo", stdout=io.StringIO())

    assert str(refusal.value) == REFUSAL
    assert not get_user_model().objects.exists()


def test_a_changed_demo_password_is_not_put_back_with_debug_off():
    user = get_user_model().objects.create_user("demo", password="a-secret-one")

    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=io.StringIO())

    user.refresh_from_db()
    assert user.check_password("a-secret-one")


def test_allow_known_passwords_seeds_anyway():
    out = io.StringIO()

    call_command("seed_demo", "--allow-known-passwords", "--conversations", "3", stdout=out)

    demo = get_user_model().objects.get(username="demo")
    assert demo.is_superuser and demo.check_password("demo-password")
    assert BatchJob.objects.filter(created_by=demo).count() == 1
    assert "Password: demo-password" in out.getvalue()
