"""Storing a build's files: through the storage API, from temporary files that have no
name on disk (whatever ends a build, nothing of it is left in the temporary folder)."""

import os
import tempfile

import pytest

from core.storage import AtomicFileSystemStorage
from tests.factories import UserFactory, enriched_conversation
from tests.training.helpers import queued
from training import builds

pytestmark = pytest.mark.django_db


def test_a_build_keeps_nothing_with_a_name_in_the_temporary_folder(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    owner = UserFactory()
    conversations = [enriched_conversation(created_by=owner) for _ in range(3)]
    training_file = queued(owner, conversations, name="Unnamed scratch")
    seen_while_building = []

    outcome = builds.run_build(
        training_file.pk,
        training_file.build_generation,
        on_progress=lambda *args: seen_while_building.append(os.listdir(scratch)),
    )

    assert outcome == "active"
    # The build wrote its three outputs to temporary files, none of them ever named.
    assert seen_while_building and all(entries == [] for entries in seen_while_building)
    assert os.listdir(scratch) == []


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

    outcome = builds.run_build(training_file.pk, training_file.build_generation)

    training_file.refresh_from_db()
    assert (outcome, training_file.status) == ("failed", "failed")
    assert training_file.error == "The files could not be stored: timed out"
