"""manage.py generate: a dry run that prints the estimate and a prompt, a job created only
with a key, and --follow driving it to its end against the fake provider."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus
from devtools.demo.generator import scaffolding_paths
from enrichment.models import EnrichmentRun
from generation.models import GenerationAttempt

pytestmark = pytest.mark.django_db
KEYS = [
    "--persona", "gig_juggler", "late_starter",
    "--arc", "dread_to_relief",
    "--topic", "freelancer_quarterly_taxes",
]  # fmt: skip


@pytest.fixture(autouse=True)
def demo_scaffolding(settings):
    settings.GENERATION_PRICES = {}
    import_scaffolding(scaffolding_paths())


def run(*args) -> str:
    out = StringIO()
    call_command("generate", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_a_dry_run_prints_the_estimate_and_one_prompt_and_creates_nothing(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)

    output = run(*KEYS, "--repeat", "3", "--dry-run")

    assert "items: 6" in output
    assert "USD in batch mode" in output and "USD in realtime mode" in output
    assert output.count("--- prompt (") == 1 and "Tomás Reyes" in output
    assert "{{" not in output
    assert output.rstrip().endswith("dry run: nothing was created")
    assert not BatchJob.objects.exists()


def test_without_a_key_the_command_says_how_to_set_it_and_creates_nothing(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)

    with pytest.raises(CommandError, match="export ANTHROPIC_API_KEY="):
        run(*KEYS)

    assert not BatchJob.objects.exists()


def test_problems_are_listed_and_nothing_is_created(fake_anthropic):
    with pytest.raises(CommandError) as error:
        run(*KEYS, "--arc", "embarrassment_to_pride")

    assert "embarrassment_to_pride" in str(error.value)
    assert not BatchJob.objects.exists()


@pytest.mark.parametrize("mode", ["batch", "realtime"])
def test_follow_drives_the_job_to_its_end_and_starts_its_enrichment(fake_anthropic, mode):
    fake_anthropic.configure(batch_polls=1)
    if mode == "realtime":
        fake_anthropic.fail(429, retry_after=0.1, path="/v1/messages")

    output = run(*KEYS, "--mode", mode, "--max-tokens", "8000", "--follow", "--poll-seconds", "0")

    job = BatchJob.objects.get()
    assert (job.status, job.successful_items, job.total_items) == (BatchJobStatus.COMPLETED, 2, 2)
    assert set(job.items.values_list("status", flat=True)) == {BatchItemStatus.COMPLETED}
    assert EnrichmentRun.objects.count() == 1
    assert f"completed: 2 of 2 generated; enrichment run {EnrichmentRun.objects.get().pk}" in output
    assert GenerationAttempt.objects.filter(number__gt=1).count() == 0
    if mode == "realtime":
        assert "the provider asks to wait 0.1 s" in output
    else:
        assert "sent provider batch msgbatch_fake_" in output


def test_follow_waits_out_server_errors_when_sending_a_batch(fake_anthropic):
    fake_anthropic.fail(529, times=2, path="/v1/messages/batches")

    output = run(*KEYS, "--follow", "--poll-seconds", "0.05", "--max-tokens", "8000")

    assert output.count("trying again in 0.05 s") == 2
    assert BatchJob.objects.get().status == BatchJobStatus.COMPLETED
