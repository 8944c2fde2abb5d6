import pytest
from django.db import connection


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    """One STATIC_ROOT for every bin/serve of the run (each collects into it)."""
    return tmp_path_factory.mktemp("static")


@pytest.fixture(scope="module")
def needs_postgres(django_db_setup):
    # A server in another process shares the test database only on PostgreSQL (SQLite's
    # test database lives in this process's memory).
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...)")
