"""Settings fail at start-up, with a clear message, on malformed environment values."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


KEY = "a-secret-key-for-the-settings-tests-" + "k" * 30
OWN_PREFIXES = ("DJANGO_", "DATABASE", "FILE_STORAGE", "AWS_")


def load_settings(
    code: str = "print(s.DATABASES['default']['ENGINE'])", **env: str | None
) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with only ``env`` among our variables
    (a secret key unless ``DJANGO_SECRET_KEY=None``), then run ``code`` with them as ``s``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    environment["DJANGO_SECRET_KEY"] = KEY
    environment.update(env)
    environment = {k: v for k, v in environment.items() if v is not None}
    return subprocess.run(
        [sys.executable, "-c", f"import json, config.settings as s; {code}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_values(*names: str, **env: str | None) -> dict:
    result = load_settings(
        f"print(json.dumps({{n: getattr(s, n, None) for n in {list(names)!r}}}, default=str))",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG must be a boolean"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must be a postgres:// URL"),
        ({"DATABASE_URL": "sqlite:///db.sqlite3"}, "DATABASE_URL must be a postgres:// URL"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"ENRICHMENT_LEASE_SECONDS": "soon"}, "ENRICHMENT_LEASE_SECONDS must be a whole number"),
        ({"ENRICHMENT_LEASE_SECONDS": "0"}, "ENRICHMENT_LEASE_SECONDS must be at least 1"),
        ({"ENRICHMENT_PROFILE": "/nope/profile.json"}, "ENRICHMENT_PROFILE points to"),
        ({"DJANGO_ALLOWED_HOSTS": " , "}, "DJANGO_ALLOWED_HOSTS must list at least one value"),
        (
            {"DJANGO_CSRF_TRUSTED_ORIGINS": "enrichment.example.com"},
            "DJANGO_CSRF_TRUSTED_ORIGINS must list origins such as https://",
        ),
        (
            {"DJANGO_CSRF_TRUSTED_ORIGINS": "https://enrichment.example.com/app"},
            "DJANGO_CSRF_TRUSTED_ORIGINS must list origins such as https://",
        ),
        ({"DJANGO_HTTPS": "sometimes"}, "DJANGO_HTTPS must be a boolean"),
        ({"DJANGO_TRUST_X_FORWARDED_PROTO": "y"}, "DJANGO_TRUST_X_FORWARDED_PROTO must be a"),
        ({"DJANGO_HSTS_SECONDS": "a year"}, "DJANGO_HSTS_SECONDS must be a whole number"),
        ({"FILE_STORAGE": "ftp"}, "FILE_STORAGE must be one of local, s3, got 'ftp'"),
        ({"FILE_STORAGE": "s3"}, "AWS_STORAGE_BUCKET_NAME must be set when FILE_STORAGE=s3"),
        ({"DJANGO_LOG_FORMAT": "xml"}, "DJANGO_LOG_FORMAT must be one of text, json"),
        ({"DJANGO_LOG_LEVEL": "loud"}, "DJANGO_LOG_LEVEL must be a log level"),
        (
            {"DATABASE_URL": "postgres://db/x", "DATABASE_POOL_MAX_SIZE": "0"},
            "DATABASE_POOL_MAX_SIZE must be at least 1",
        ),
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


def test_the_default_database_is_the_projects_own_server_on_its_socket():
    result = load_settings(
        "d = s.DATABASES['default']; print(d['ENGINE'], d['HOST'], d['NAME'], d['USER'])"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        str(ROOT / "var" / "postgres"),
        "enrichment",
        "postgres",
    ]


def test_database_url_selects_postgresql():
    result = load_settings(DATABASE_URL="postgres://postgres@127.0.0.1:5432/enrichment")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.postgresql"


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = load_settings(DJANGO_SECRET_KEY=None)

    assert result.returncode != 0
    assert (
        "ImproperlyConfigured: DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false"
        in result.stderr
    )


def test_debug_mode_starts_without_a_secret_key_on_a_development_key():
    values = settings_values("DEBUG", "SECRET_KEY", DJANGO_SECRET_KEY=None, DJANGO_DEBUG="true")

    assert values["DEBUG"] is True
    assert values["SECRET_KEY"].startswith("dev-insecure-")


def test_production_mode_is_https_with_hsts_and_secure_cookies():
    values = settings_values(
        "SECRET_KEY",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_PROXY_SSL_HEADER",
        "CSRF_TRUSTED_ORIGINS",
    )

    assert values == {
        "SECRET_KEY": KEY,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": None,
        "CSRF_TRUSTED_ORIGINS": [],
    }


def test_https_false_serves_plain_http_without_hsts_or_secure_cookies():
    values = settings_values(
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        DJANGO_HTTPS="false",
    )

    assert values == {
        "SECURE_SSL_REDIRECT": False,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_HSTS_SECONDS": 0,
    }


def test_a_proxy_and_its_public_origins_are_trusted_only_when_configured():
    values = settings_values(
        "SECURE_PROXY_SSL_HEADER",
        "CSRF_TRUSTED_ORIGINS",
        DJANGO_TRUST_X_FORWARDED_PROTO="true",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://enrichment.example.com, https://alt.example.com",
    )

    assert values == {
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "CSRF_TRUSTED_ORIGINS": ["https://enrichment.example.com", "https://alt.example.com"],
    }


def test_postgresql_connections_come_from_a_pool_per_process():
    values = settings_values("DATABASES", DATABASE_URL="postgres://postgres@db:5432/enrichment")

    database = values["DATABASES"]["default"]
    assert database["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 4, "timeout": 10}
    assert database["CONN_MAX_AGE"] == 0
    assert database["CONN_HEALTH_CHECKS"] is True


def test_without_the_pool_postgresql_connections_may_persist():
    values = settings_values(
        "DATABASES",
        DATABASE_URL="postgres://postgres@db:5432/enrichment",
        DATABASE_POOL="false",
        DATABASE_CONN_MAX_AGE="60",
    )

    database = values["DATABASES"]["default"]
    assert "pool" not in database.get("OPTIONS", {})
    assert database["CONN_MAX_AGE"] == 60


def test_file_storage_s3_puts_every_file_in_the_bucket():
    values = settings_values(
        "STORAGES",
        "AWS_STORAGE_BUCKET_NAME",
        "AWS_S3_ENDPOINT_URL",
        "AWS_S3_REGION_NAME",
        "AWS_S3_FILE_OVERWRITE",
        FILE_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="conversations",
        AWS_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        AWS_S3_REGION_NAME="eu-west-1",
    )

    assert values == {
        "STORAGES": {
            "default": {"BACKEND": "core.s3.S3Storage"},
            "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
        },
        "AWS_STORAGE_BUCKET_NAME": "conversations",
        "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_S3_REGION_NAME": "eu-west-1",
        "AWS_S3_FILE_OVERWRITE": True,
    }


def test_files_stay_on_the_local_disk_by_default():
    values = settings_values("STORAGES", "FILE_STORAGE")

    assert values == {
        "FILE_STORAGE": "local",
        "STORAGES": {
            "default": {"BACKEND": "core.storage.AtomicFileSystemStorage"},
            "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
        },
    }


def test_site_url_defaults_to_the_port_served_on():
    assert settings_values("SITE_URL", PORT="8301", SITE_URL=None) == {
        "SITE_URL": "http://127.0.0.1:8301"
    }
    assert settings_values("SITE_URL", PORT=None, SITE_URL=None) == {
        "SITE_URL": "http://127.0.0.1:8000"
    }
    assert settings_values("SITE_URL", PORT="8301", SITE_URL="https://e.example") == {
        "SITE_URL": "https://e.example"
    }


def test_manage_py_without_a_secret_key_says_so_in_one_line():
    environment = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert result.stderr.startswith("Configuration error: DJANGO_SECRET_KEY must be set")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
