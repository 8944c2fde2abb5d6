import os
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


SHARED_DATA_MISSING = (
    "needs the real exported data in ../shared/data beside the project (or set "
    f"SHARED_DATA_DIR); not found at {SHARED_DATA}"
)
# For a module whose module-scoped fixtures read the data.
needs_shared_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=SHARED_DATA_MISSING)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(SHARED_DATA_MISSING)
    return SHARED_DATA


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say it at the end, where nobody misses it, when real-data tests were skipped."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if SHARED_DATA_MISSING in str(report.longrepr)
    ]
    if skipped:
        count = len(skipped)
        terminalreporter.write_line(
            f"{count} real-data test{'s' if count != 1 else ''} skipped: they need the exported "
            f"data in ../shared/data (not found at {SHARED_DATA}; see the README, Tests).",
            yellow=True,
            bold=True,
        )


@pytest.fixture
def on_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...)")


# Real db_worker processes (PostgreSQL): the fixtures live beside their helpers.
from tests.workers import worker_env, workers  # noqa: E402, F401
