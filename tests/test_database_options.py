"""PostgreSQL connections start without parallel workers for their queries (page queries
are small; starting workers costs them more than it saves), unless configured."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/enrichment"


def options_with(**env) -> subprocess.CompletedProcess:
    """The database OPTIONS the settings make from this environment (a fresh process)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE"))}
    environment.pop("POSTGRES_PARALLEL_WORKERS", None)
    environment.update({"DATABASE_URL": POSTGRES_URL, "DJANGO_SECRET_KEY": "test-" * 10, **env})
    code = "import config.settings as s; print(s.DATABASES['default']['OPTIONS'].get('options'))"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.django_db
def test_postgresql_queries_run_without_parallel_workers():
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone() == ("0",)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "-c max_parallel_workers_per_gather=0"),
        (
            {"DATABASE_URL": f"{POSTGRES_URL}?options=-c%20work_mem%3D8MB"},
            "-c work_mem=8MB -c max_parallel_workers_per_gather=0",
        ),
        ({"POSTGRES_PARALLEL_WORKERS": "2"}, "-c max_parallel_workers_per_gather=2"),
    ],
)
def test_the_parallel_workers_option_can_be_set(env, expected):
    result = options_with(**env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_a_malformed_parallel_workers_value_fails_with_its_name():
    result = options_with(POSTGRES_PARALLEL_WORKERS="-1")

    assert result.returncode != 0
    assert "POSTGRES_PARALLEL_WORKERS must be at least 0" in result.stderr
