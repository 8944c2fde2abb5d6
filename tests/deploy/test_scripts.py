"""bin/serve and bin/worker refuse to start, saying why, on a database that is not
migrated or without a secret key in production mode."""

import subprocess

import pytest

from tests.servers import ROOT, production_env

pytestmark = pytest.mark.e2e


def run(script: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "bin" / script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def empty_database_env(tmp_path, empty_database):
    return production_env(
        media_root=tmp_path / "media",
        static_root=tmp_path / "static",
        DATABASE_URL=empty_database,
        BIND="127.0.0.1:0",
    )


def test_serve_refuses_an_unmigrated_database_and_says_what_to_run(empty_database_env, tmp_path):
    result = run("serve", empty_database_env)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("bin/serve: refusing to start: the database has ")
    assert result.stderr.rstrip().endswith(
        "unapplied migration(s). Run: .venv/bin/python manage.py migrate"
    )
    assert not (tmp_path / "static").exists()


def test_worker_refuses_an_unmigrated_database(empty_database_env):
    result = run("worker", empty_database_env)

    assert result.returncode == 1
    assert result.stderr == (
        "bin/worker: refusing to start: the database has unapplied migrations. "
        "Run: .venv/bin/python manage.py migrate\n"
    )


@pytest.mark.parametrize("script", ["serve", "worker"])
def test_production_mode_without_a_secret_key_refuses_to_start(script, empty_database_env):
    env = {k: v for k, v in empty_database_env.items() if k != "DJANGO_SECRET_KEY"}

    result = run(script, env)

    assert result.returncode == 1
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false" in result.stderr
    assert "refusing to start" in result.stderr


@pytest.mark.parametrize("script", ["serve", "worker"])
def test_the_readme_placeholder_secret_key_refuses_to_start(script, empty_database_env):
    placeholder = "paste-the-output-of-python3-c-import-secrets-print-secrets-token_urlsafe-50"
    env = {**empty_database_env, "DJANGO_SECRET_KEY": placeholder}

    result = run(script, env)

    assert result.returncode == 1
    assert "DJANGO_SECRET_KEY is still the README's placeholder" in result.stderr


def test_serve_refuses_a_worker_count_that_is_not_a_number(empty_database_env):
    result = run("serve", {**empty_database_env, "WEB_CONCURRENCY": "many"})

    assert result.returncode == 1
    assert result.stderr == (
        "bin/serve: WEB_CONCURRENCY must be a whole number of at least 1, got 'many'.\n"
    )
