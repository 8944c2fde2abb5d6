"""Without the exported data beside the project (a fresh clone), the tests that need it
skip with a reason that says where it goes, and the run ends by saying how many."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_run_without_the_shared_data_says_what_was_skipped_and_why(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "tests/enrichment/test_pipeline_real_data.py",
        ],
        cwd=ROOT,
        env={**os.environ, "SHARED_DATA_DIR": str(tmp_path / "absent")},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout
    assert "7 skipped" in result.stdout
    assert (
        "7 real-data tests skipped: they need the exported data in ../shared/data "
        f"(not found at {tmp_path / 'absent'}; see the README, Tests)."
    ) in result.stdout
    assert "needs the real exported data in ../shared/data beside the project" in result.stdout
