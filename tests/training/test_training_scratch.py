"""A build's local scratch folder: removed when the build ends, and the folders that a
killed worker left behind are removed by the next build on the machine."""

import os
import subprocess
import sys
import tempfile

import pytest

from tests.factories import UserFactory, enriched_conversation
from training import builds, services
from training.selection import Selection

pytestmark = pytest.mark.django_db


@pytest.fixture
def scratch_root(tmp_path, monkeypatch):
    """The machine's temporary folder, for this test alone."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def gone_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def build(owner, conversation) -> str:
    """Create a file of one conversation and run its build here; the build's outcome."""
    training_file = services.create_training_file(
        name="Set",
        user=owner,
        selection=Selection([conversation.pk]),
        background=True,
        enqueue=False,
    ).training_file
    return builds.run_build(training_file.pk, training_file.build_generation)


def test_a_build_removes_its_own_scratch_and_the_orphans_of_killed_builds(scratch_root, media_root):
    killed = scratch_root / f"training-file-{gone_pid()}-k1l2"
    (killed / "body.json").parent.mkdir()
    (killed / "body.json").write_bytes(b"x" * 1000)
    building = scratch_root / f"training-file-{os.getppid()}-b0b0"  # a live process's
    building.mkdir()
    unrelated = scratch_root / "training-file-notes"
    unrelated.mkdir()

    owner = UserFactory()
    assert build(owner, enriched_conversation(created_by=owner)) == "active"

    assert sorted(p.name for p in scratch_root.iterdir()) == sorted([building.name, unrelated.name])


def test_a_failed_build_leaves_no_scratch(scratch_root, media_root):
    owner = UserFactory()
    conversation = enriched_conversation(created_by=owner)
    (media_root / conversation.enriched_file_path).write_bytes(b"not a training document")

    assert build(owner, conversation) == "failed"
    assert list(scratch_root.iterdir()) == []
