"""The training-file benchmark runs end to end (with real workers) and leaves nothing
behind."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from conversations.models import Conversation
from training.models import TrainingFile

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.e2e,
]


def test_bench_prints_build_time_and_worker_memory_and_cleans_up(media_root):
    out = io.StringIO()

    call_command("bench_training_file", conversations=30, compare=10, stdout=out)

    text = out.getvalue()
    assert re.search(r"seeded 30 enriched conversations in [\d.]+ s \(\d+ MB", text), text
    for size in (10, 30):
        pattern = (
            rf"training file of {size} conversations, built by 1 db_worker: [\d.]+ s .*"
            r"status active, worker RSS idle \d+ MB, peak \d+ MB; files json \d+ MB"
        )
        assert re.search(pattern, text), text
    assert not Conversation.objects.exists()
    assert not TrainingFile.objects.exists()
    assert not get_user_model().objects.exists()
    assert [path for path in media_root.rglob("*") if path.is_file()] == []
