"""Settings fail at start-up, with a clear message, on malformed environment values."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_settings(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE"))}
    environment.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import config.settings as s; print(s.DATABASES['default']['ENGINE'])",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG must be a boolean"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must be a sqlite:// or postgres:// URL"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"ENRICHMENT_LEASE_SECONDS": "soon"}, "ENRICHMENT_LEASE_SECONDS must be a whole number"),
        ({"ENRICHMENT_LEASE_SECONDS": "0"}, "ENRICHMENT_LEASE_SECONDS must be at least 1"),
        ({"ENRICHMENT_PROFILE": "/nope/profile.json"}, "ENRICHMENT_PROFILE points to"),
        ({"DJANGO_ALLOWED_HOSTS": " , "}, "DJANGO_ALLOWED_HOSTS must list at least one value"),
        ({"API_THROTTLE_USER": "lots"}, "API_THROTTLE_USER must be a rate such as 600/minute"),
        ({"API_THROTTLE_ANON": "10/fortnight"}, "API_THROTTLE_ANON must be a rate"),
        ({"API_THROTTLE_CACHE": "memcached://x"}, "API_THROTTLE_CACHE must be database, locmem"),
        ({"LOGIN_FAILURE_LIMIT": "0"}, "LOGIN_FAILURE_LIMIT must be at least 1"),
        ({"DJANGO_NUM_PROXIES": "-1"}, "DJANGO_NUM_PROXIES must be at least 0"),
    ],
)
def test_a_malformed_setting_fails_with_a_message_naming_it(env, message):
    result = load_settings(**env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_a_broken_enrichment_profile_fails_at_start_up(tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text('{"consultant_profile": {"name": ')

    result = load_settings(ENRICHMENT_PROFILE=str(profile))

    assert result.returncode != 0
    assert "ImproperlyConfigured: ENRICHMENT_PROFILE: Consultant profile file" in result.stderr
    assert "is not valid JSON" in result.stderr


def test_defaults_use_sqlite():
    result = load_settings()

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


def test_database_url_selects_postgresql():
    result = load_settings(DATABASE_URL="postgres://postgres@127.0.0.1:5432/enrichment")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.postgresql"
