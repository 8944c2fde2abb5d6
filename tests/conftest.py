import os
import uuid
from pathlib import Path

import pytest
from django.db import connection

SHARED_DATA = Path(
    os.environ.get("SHARED_DATA_DIR")
    or Path(__file__).resolve().parent.parent.parent / "shared" / "data"
)


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings) -> Path:
    """Every test writes its files to its own folder (storage follows the setting)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # Password hashing is deliberately slow; tests need none of that.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def throttle_counts(settings) -> None:
    """Every test counts throttled calls afresh, in memory: the database cache table of
    production is not emptied between transactional tests. The rates stay as configured."""
    settings.CACHES = {
        **settings.CACHES,
        settings.API_THROTTLE_CACHE: {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"throttle-{uuid.uuid4()}",
        },
    }


@pytest.fixture
def relaxed_throttles(settings) -> None:
    """For tests that call the API many times a minute: the rates are raised, not removed."""
    settings.API_THROTTLE_RATES = {scope: "1000000/minute" for scope in settings.API_THROTTLE_RATES}


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared reference data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def on_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...)")


# Real db_worker processes (PostgreSQL): the fixtures live beside their helpers.
from tests.workers import worker_env, workers  # noqa: E402, F401
