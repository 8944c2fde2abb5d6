"""manage.py generate: a dry run prints the estimate and one prompt and creates nothing; a
real run creates the job and prints its id and page."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from conversations.imports import import_scaffolding
from conversations.models import BatchJob
from devtools.demo.generator import scaffolding_paths
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

KEYS = [
    "--persona",
    "gig_juggler",
    "late_starter",
    "--arc",
    "dread_to_relief",
    "--topic",
    "freelancer_quarterly_taxes",
]


@pytest.fixture(autouse=True)
def scaffolding(settings):
    settings.GENERATION_PRICES = {}
    settings.GENERATION_MODE = "batch"
    settings.SITE_URL = "https://enrich.example.org"
    import_scaffolding(scaffolding_paths())


def run(*args) -> str:
    out = StringIO()
    call_command("generate", *args, stdout=out)
    return out.getvalue()


def test_a_dry_run_prints_the_estimate_and_one_prompt_and_creates_nothing(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)

    out = run(*KEYS, "--repeat", "2", "--mode", "realtime", "--dry-run")

    assert "Items: 4" in out
    assert "USD in realtime mode" in out and "batch " in out
    assert out.count("--- prompt ---") == 1 and out.count("--- system ---") == 1
    assert "{{" not in out
    assert "nothing was created" in out
    assert not BatchJob.objects.exists()


def test_a_dry_run_with_problems_names_them_and_fails():
    with pytest.raises(CommandError, match="1 problem|problems"):
        run("--persona", "gig_juggler", "--arc", "embarrassment_to_pride", "--topic",
            "freelancer_quarterly_taxes", "--dry-run")  # fmt: skip


def test_generate_creates_the_job_and_prints_its_id_and_page(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")
    owner = UserFactory(username="dana")

    out = run(*KEYS, "--budget", "5", "--owner", "dana", "--template",
              "Demo - Dread → Relief - Avoided Paperwork")  # fmt: skip

    job = BatchJob.objects.get()
    assert job.created_by == owner and job.total_items == 2
    assert job.generation.budget_usd == 5
    assert job.generation.template_name == "Demo - Dread → Relief - Avoided Paperwork"
    assert f"Created generation job {job.pk}" in out
    assert f"https://enrich.example.org/batch-jobs/{job.pk}/" in out


def test_the_only_superuser_owns_it_when_no_owner_is_named(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)

    run(*KEYS)

    assert BatchJob.objects.get().created_by == admin


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--owner", "nobody"], "No user named 'nobody'"),
        (["--repeat", "0"], "--repeat must be at least 1"),
        (["--budget", "0.0000001", "--owner", "dana"], "below the estimated cost"),
        (["--model", "gpt-9", "--owner", "dana"], "GENERATION_PRICES"),
        (["--arc", "no_such_arc", "--owner", "dana"], "no_such_arc"),
    ],
)
def test_bad_requests_say_why_and_create_nothing(monkeypatch, args, message):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")
    UserFactory(username="dana")

    with pytest.raises(CommandError, match=message):
        run(*KEYS, *args)

    assert not BatchJob.objects.exists()


def test_without_the_key_it_says_how_to_set_it_and_creates_nothing(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    UserFactory(username="dana")

    with pytest.raises(CommandError, match="export ANTHROPIC_API_KEY="):
        run(*KEYS, "--owner", "dana")

    assert not BatchJob.objects.exists()
