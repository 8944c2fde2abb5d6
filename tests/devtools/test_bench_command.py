"""The benchmark command runs end to end and leaves nothing behind."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from conversations.models import Conversation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


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
        # Each outcome in a transaction of its own, with the counts of any job holding it:
        # BEGIN, the UPDATE, the look for such jobs, COMMIT.
        r"SQL queries per bulk call, sequential: .*\(fixed \d+ \+ 4 per conversation\)",
        r"SQL queries per bulk call, parallel: .*\(fixed \d+ \+ 0 per conversation\)",
        r"bulk-enrich of 100 in-process, sequential .*: total [\d.]+ \([\d.]+\); claim .*"
        r"record_one [\d.]+ \([\d.]+\), the rest",
        r"bulk-enrich of 100 in-process, parallel .*: total [\d.]+ \([\d.]+\); claim .*"
        r"record_many [\d.]+ \([\d.]+\), the rest",
    ):
        assert re.search(pattern, text), pattern
    assert not Conversation.objects.exists()
    assert not get_user_model().objects.filter(username__startswith="bench-").exists()
    owner_folders = list(media_root.iterdir()) if media_root.exists() else []
    assert owner_folders == []


def test_bench_serve_prints_the_median_of_each_call_per_server(media_root, tmp_path, monkeypatch):
    # As bin/bench runs it: the servers load the service's own settings.
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "config.settings")
    out = io.StringIO()

    call_command("bench_serve", requests=3, stdout=out)

    text = out.getvalue()
    for call in ("POST …/enrich", r"GET …/enrich \(status\)"):
        for server in ("connection per request", "persistent connections", r"pool \(default\)"):
            pattern = rf"{call}, {server}: median [\d.]+ ms = [\d.]+x of connection per request"
            assert re.search(pattern, text), pattern


@pytest.mark.worker
def test_bench_memory_prints_both_paths_and_cleans_up(media_root):
    out = io.StringIO()

    # Small conversations: both paths end to end, each enriching what it was given.
    call_command("bench_memory", ids=2, turns=30, turn_bytes=2_000, stdout=out)

    text = out.getvalue()
    assert re.search(
        r"web \(bulk-enrich, sequential: false, 2 ids\): HTTP 200 in [\d.]+ s; "
        r"server peak RSS \d+ MB",
        text,
    ), text
    assert re.search(
        r"db_worker \(a run over 2\): completed in [\d.]+ s \(enriched 2, "
        r"failed 0\); worker peak RSS \d+ MB",
        text,
    ), text
    assert "{('enriched', 'completed'): 2}" in text
    assert not Conversation.objects.exists()
    assert not get_user_model().objects.filter(username__startswith="bench-").exists()
