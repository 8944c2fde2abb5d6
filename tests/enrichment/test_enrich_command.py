import os
import signal
import subprocess
import sys
import time
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from conversations.models import Conversation, EnrichmentStatus
from devtools.workers import current_database_url
from enrichment.models import EnrichmentRun, RunSource
from tests.factories import BatchItemFactory, BatchJobFactory, ConversationFactory

ROOT = Path(__file__).resolve().parents[2]


def enrich(*args) -> tuple[str, int]:
    out = StringIO()
    try:
        call_command("enrich", *args, stdout=out, stderr=StringIO())
    except SystemExit as exit_:
        return out.getvalue(), exit_.code
    return out.getvalue(), 0


@pytest.mark.django_db
def test_enrich_by_ids_prints_a_summary_line():
    first, second = ConversationFactory(), ConversationFactory()

    output, code = enrich(str(first.conversation_id), str(second.pk))

    assert code == 0
    assert output.startswith("Enriched: 2, Failed: 0, Skipped: 0 (total 2) in ")
    assert Conversation.objects.filter(enrichment_status="completed").count() == 2


@pytest.mark.django_db
def test_enrich_exits_1_when_a_conversation_failed():
    ConversationFactory(document=b"{")
    ConversationFactory()

    output, code = enrich("--status", "not_started")

    assert code == 1
    assert output.startswith("Enriched: 1, Failed: 1, Skipped: 0 (total 2)")


@pytest.mark.django_db
def test_enrich_a_batch_job_skips_completed_ones_unless_forced():
    job = BatchJobFactory()
    items = [BatchItemFactory(batch_job=job) for _ in range(2)]
    BatchItemFactory()  # another job's conversation

    first, _ = enrich("--batch", str(job.pk))
    again, _ = enrich("--batch", str(job.pk))
    forced, _ = enrich("--batch", str(job.pk), "--force")

    assert first.startswith("Enriched: 2, Failed: 0, Skipped: 0 (total 2)")
    assert again.startswith("Enriched: 0, Failed: 0, Skipped: 2 (2 already enriched) (total 2)")
    assert forced.startswith("Enriched: 2, Failed: 0, Skipped: 0 (total 2)")
    assert {i.conversation.pk for i in items} == set(
        Conversation.objects.filter(enrichment_status="completed").values_list("pk", flat=True)
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Choose conversations"),
        (("nonsense",), "Not a conversation id"),
        (
            (str(uuid.UUID(int=7)),),
            "Unknown conversation ids: 00000000-0000-0000-0000-000000000007",
        ),
        (("--batch", str(uuid.UUID(int=9))), "no such batch job"),
    ],
)
def test_enrich_rejects_a_bad_selection(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("enrich", *args, stdout=StringIO())


@pytest.mark.django_db
def test_enrich_background_detach_starts_a_run_and_returns():
    conversations = [ConversationFactory() for _ in range(3)]

    output, code = enrich(*[str(c.pk) for c in conversations], "--background", "--detach")

    run = EnrichmentRun.objects.get()
    assert code == 0
    assert f"Started run {run.pk} over 3 conversations." in output
    assert (run.source, run.total, run.status) == (RunSource.CLI, 3, "queued")
    assert not Conversation.objects.filter(enrichment_status="completed").exists()


@pytest.mark.django_db(transaction=True)
def test_ctrl_c_stops_following_a_background_run_without_cancelling_it(beating_worker):
    conversation = ConversationFactory()
    follower = subprocess.Popen(
        [sys.executable, "manage.py", "enrich", str(conversation.pk), "--background"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": current_database_url()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not EnrichmentRun.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # now following (the worker seen beating here takes no job)

    follower.send_signal(signal.SIGINT)
    stdout, _ = follower.communicate(timeout=30)

    run = EnrichmentRun.objects.get()
    assert follower.returncode == 0
    assert f"Stopped following; run {run.pk} goes on in the background" in stdout
    assert run.status == "queued"
    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.NOT_STARTED


@pytest.mark.django_db
def test_following_a_run_while_no_worker_runs_says_so_instead_of_waiting_forever():
    from conversations.models import BatchItem, BatchJob
    from intake.lifecycle import finish_batch_job

    conversation = ConversationFactory()
    job = BatchJob.objects.create(name="Nightly", status="processing")
    BatchItem.objects.create(
        batch_job=job, position=1, status="completed", conversation=conversation
    )
    auto = finish_batch_job(job)  # its automatic run is queued
    out, err = StringIO(), StringIO()

    with pytest.raises(SystemExit) as exit_:
        call_command("enrich", "--batch", str(job.pk), "--background", stdout=out, stderr=err)

    assert exit_.value.code == 3
    assert f"Run {auto.pk} (" in out.getvalue()
    assert "following it instead of starting another" in out.getvalue()
    assert err.getvalue().strip() == (
        f"No worker is running: run {auto.pk} waits until one starts (bin/worker), and goes "
        "on from there. Not following it."
    )
