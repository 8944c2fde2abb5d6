"""bin/fuzz-api as a developer runs it: production settings on a scratch database (a new
one on the test server, dropped afterwards), a real server, schemathesis over every
operation. A few cases per operation here; the command runs 1,000."""

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.db import connection

from devtools.workers import current_database_url

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.django_db, pytest.mark.e2e]


def scratch_databases() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'scratch%%'")
        return {name for (name,) in cursor.fetchall()}


def test_bin_fuzz_api_runs_every_operation_and_finds_no_problem(tmp_path):
    before = scratch_databases()
    env = {
        key: value
        for key, value in os.environ.items()
        # Its own settings, whatever the suite runs with.
        if not key.startswith(("DJANGO_", "DATABASE_URL", "FUZZ_"))
    }
    env["DATABASE_URL"] = current_database_url()  # the server; it makes a scratch database
    result = subprocess.run(
        # The quick phases only: the coverage and stateful phases are bin/fuzz-api's own
        # runs (the contract test covers the schema in the suite).
        [
            "bin/fuzz-api",
            "--max-examples",
            "2",
            "--report-dir",
            str(tmp_path),
            "--",
            "--phases=examples,fuzzing",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    # Every operation was tested, and every generated case passed every check.
    selected, total, tested = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", output).groups()
    assert selected == total == tested and int(total) >= 25, output[-4000:]
    generated, passed = re.search(r"(\d+) generated, (\d+) passed", output).groups()
    assert int(generated) >= 2 * int(total) and generated == passed, output[-4000:]
    assert list(tmp_path.glob("*.xml")), "schemathesis wrote its junit report"
    assert scratch_databases() == before
