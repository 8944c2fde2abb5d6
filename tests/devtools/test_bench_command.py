"""The benchmark command runs end to end and leaves nothing behind."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from enrichment.models import Conversation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_bench_prints_every_measurement_and_cleans_up(media_root):
    out = io.StringIO()

    call_command("bench_enrichment", repeat=1, stdout=out)

    text = out.getvalue()
    for pattern in (
        r"pure pipeline, 100 conversations: median [\d.]+ ms",
        r"bulk-enrich over HTTP, 100, sequential: median [\d.]+ ms = [\d.]+x",
        r"bulk-enrich over HTTP, 100, parallel: median [\d.]+ ms = [\d.]+x",
        r"storing the 100 enriched files alone: median [\d.]+ ms",
        r"single endpoint x100 over HTTP: median [\d.]+ ms; bulk is [\d.]+x faster",
        r"SQL queries per bulk call, sequential: .*\(fixed \d+ \+ 1 per conversation\)",
        r"SQL queries per bulk call, parallel: .*\(fixed \d+ \+ 0 per conversation\)",
    ):
        assert re.search(pattern, text), pattern
    assert not Conversation.objects.exists()
    assert not get_user_model().objects.filter(username__startswith="bench-").exists()
    owner_folders = list(media_root.iterdir()) if media_root.exists() else []
    assert owner_folders == []


def test_bench_serve_prints_the_median_of_each_call_per_server(
    on_postgres, media_root, tmp_path, monkeypatch
):
    # As bin/bench runs it: the servers load the service's own settings.
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "config.settings")
    out = io.StringIO()

    call_command("bench_serve", requests=3, stdout=out)

    text = out.getvalue()
    for call in ("POST …/enrich", r"GET …/enrich \(status\)"):
        for server in ("connection per request", "persistent connections", r"pool \(default\)"):
            pattern = rf"{call}, {server}: median [\d.]+ ms = [\d.]+x of connection per request"
            assert re.search(pattern, text), pattern
    assert not Conversation.objects.exists()
    assert not get_user_model().objects.filter(username__startswith="bench-").exists()
