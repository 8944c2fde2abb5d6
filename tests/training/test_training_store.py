"""Storing a build's files keeps the build beating, however long the storage takes over
one file (an object storage over a slow link): a slow upload is not a dead worker."""

import signal
import time

import pytest

from enrichment.storage import AtomicFileSystemStorage
from tests.factories import UserFactory, enriched_conversation
from tests.training.helpers import queued
from training import builds

pytestmark = pytest.mark.django_db

SLOW_SECONDS = 3.0
saves: list[tuple[str, float, float]] = []


class SlowUploads(AtomicFileSystemStorage):
    """Local files, but storing a training file's full JSON file takes ``SLOW_SECONDS``
    (and says when)."""

    def _save(self, name, content):
        started = time.monotonic()
        if name.endswith("/training.json"):
            time.sleep(SLOW_SECONDS)
        saved = super()._save(name, content)
        saves.append((name, started, time.monotonic()))
        return saved


@pytest.fixture
def slow_storage(settings, media_root):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": f"{__name__}.SlowUploads"},
    }
    saves.clear()
    yield
    saves.clear()


def test_a_build_beats_while_the_storage_takes_seconds_over_a_file(slow_storage):
    owner = UserFactory()
    conversation = enriched_conversation(created_by=owner)
    training_file = queued(owner, [conversation], name="Slow")
    beats = []

    outcome = builds.run_build(
        training_file.pk,
        training_file.build_generation,
        on_progress=lambda *args: beats.append(time.monotonic()),
    )

    assert outcome == "active"
    stored = [save for save in saves if save[0].startswith("training-files/")]
    assert [name.rsplit("/", 1)[1] for name, _, _ in stored] == [
        "training.json",
        "training.jsonl",
        "training.chat.jsonl",
    ]
    _, start, end = stored[0]
    during = [beat for beat in beats if start < beat < end]
    assert len(during) >= 2, f"{len(during)} beats in {end - start:.1f} s of saving"


class TimingOut(AtomicFileSystemStorage):
    """Local files, but storing a training file fails the way a socket that timed out
    does (``TimeoutError``, an ``OSError``)."""

    def _save(self, name, content):
        if name.startswith("training-files/"):
            raise TimeoutError("timed out")
        return super()._save(name, content)


def test_a_save_that_times_out_fails_the_build_with_the_reason(settings, media_root):
    owner = UserFactory()
    conversation = enriched_conversation(created_by=owner)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.TimingOut"}}
    training_file = queued(owner, [conversation], name="Timing out")

    def stuck(*args):
        raise AssertionError("the build was still going after 30 s")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(30)
    try:
        outcome = builds.run_build(training_file.pk, training_file.build_generation)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)

    training_file.refresh_from_db()
    assert (outcome, training_file.status) == ("failed", "failed")
    assert training_file.error == "The files could not be stored: timed out"
