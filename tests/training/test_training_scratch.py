"""A build's local scratch folder: removed when the build ends, and the folders that a
killed worker left behind are removed by the next build on the machine."""

import os
import subprocess
import sys
import tempfile
import time

import pytest

from tests.factories import UserFactory, enriched_conversation
from tests.training.helpers import queued
from training import builds

pytestmark = pytest.mark.django_db


@pytest.fixture
def scratch_root(tmp_path, monkeypatch):
    """The machine's temporary folder, for this test alone."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.fixture
def held_lock():
    """Holds the lock file at a path from another (live) process until the test ends."""
    holders = []

    def hold(path):
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout.readline().strip() == "locked"
        holders.append(holder)

    yield hold
    for holder in holders:
        holder.kill()
        holder.wait()


HOLD = """
import fcntl, sys, time
lock = open(sys.argv[1], "wb")
fcntl.flock(lock, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(120)
"""


def scratch(root, name: str, *, lock: bool = True, age: float = 0):
    folder = root / name
    folder.mkdir()
    (folder / "body.json").write_bytes(b"x" * 1000)
    if lock:
        (folder / ".building").touch()
    if age:
        os.utime(folder, (time.time() - age, time.time() - age))
    return folder


def build(owner, conversation) -> str:
    """Create a file of one conversation and run its build here; the build's outcome."""
    training_file = queued(owner, [conversation])
    return builds.run_build(training_file.pk, training_file.build_generation)


def test_a_build_removes_its_own_scratch_and_what_killed_builds_left(
    scratch_root, media_root, held_lock
):
    killed = scratch(scratch_root, "training-file-k1l2")  # its lock is held by nobody
    building = scratch(scratch_root, "training-file-b0b0")
    held_lock(building / ".building")  # a build running in another process
    starting = scratch(scratch_root, "training-file-n3w0", lock=False)  # not locked yet
    left_by_old_version = scratch(scratch_root, "training-file-0ld0", lock=False, age=7200)
    (scratch_root / "training-file-notes.txt").write_text("not a folder")

    owner = UserFactory()
    assert build(owner, enriched_conversation(created_by=owner)) == "active"

    assert sorted(p.name for p in scratch_root.iterdir()) == sorted(
        [building.name, starting.name, "training-file-notes.txt"]
    )
    assert not killed.exists() and not left_by_old_version.exists()


def test_a_failed_build_leaves_no_scratch(scratch_root, media_root):
    owner = UserFactory()
    conversation = enriched_conversation(created_by=owner)
    (media_root / conversation.enriched_file_path).write_bytes(b"not a training document")

    assert build(owner, conversation) == "failed"
    assert list(scratch_root.iterdir()) == []
