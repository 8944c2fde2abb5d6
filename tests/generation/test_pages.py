"""The Generate page and the job page's Generation panel, through Django's test client."""

import pytest
from django.test import Client

from conversations.imports import import_scaffolding
from conversations.models import BatchJob
from devtools.demo.generator import scaffolding_paths
from generation.jobs import GenerationRequest, create_generation_job
from generation.models import ProviderBatch, ProviderBatchStatus
from tests.factories import BatchJobFactory, UserFactory

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Tax season",
    "personas": ["gig_juggler", "late_starter"],
    "arcs": ["dread_to_relief"],
    "topics": ["freelancer_quarterly_taxes"],
    "template": "",
    "repeat": "2",
    "mode": "batch",
    "model": "claude-sonnet-5-5",
    "max_tokens": "8000",
    "budget_usd": "",
    "auto_enrich": "on",
}
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def scaffolding(settings):
    settings.GENERATION_PRICES = {}
    import_scaffolding(scaffolding_paths())


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_list_links_to_the_generate_page_which_lists_the_scaffolding(client, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")

    listing = client.get("/batch-jobs/").content.decode()
    page = client.get("/batch-jobs/generate/")

    assert 'href="/batch-jobs/generate/"' in listing
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="gig_juggler"' in html and 'value="dread_to_relief"' in html
    assert "By arc" in html and "ANTHROPIC_API_KEY is not set" not in html


def test_the_preview_shows_a_prompt_the_problems_and_the_estimate(client):
    good = client.post("/batch-jobs/generate/preview/", FORM, **HTMX).content.decode()
    bad = client.post(
        "/batch-jobs/generate/preview/",
        {**FORM, "arcs": ["dread_to_relief", "embarrassment_to_pride"]},
        **HTMX,
    )
    empty = client.post("/batch-jobs/generate/preview/", {**FORM, "topics": []}, **HTMX)

    assert "4 conversations will be generated" in good
    assert 'id="preview-prompt"' in good and "{{" not in good.split('id="preview-prompt"')[1]
    assert 'id="estimate"' in good
    assert "embarrassment_to_pride" in bad.content.decode()
    assert "nothing can be generated until" in bad.content.decode()
    assert "Training topics:" in empty.content.decode()
    assert not BatchJob.objects.exists()


def test_generate_creates_the_job_and_goes_to_its_page(client, user, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")

    response = client.post("/batch-jobs/generate/", {**FORM, "budget_usd": "5"})

    job = BatchJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/batch-jobs/{job.pk}/"
    assert job.created_by == user and job.total_items == 4
    assert job.generation.budget_usd == 5 and job.generation.max_tokens == 8000


def test_without_the_key_the_page_says_how_to_set_it_and_generate_creates_nothing(
    client, monkeypatch
):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)

    page = client.get("/batch-jobs/generate/").content.decode()
    response = client.post("/batch-jobs/generate/", FORM)

    assert "export ANTHROPIC_API_KEY=" in page
    assert response.status_code == 422
    assert "export ANTHROPIC_API_KEY=" in response.content.decode()
    assert not BatchJob.objects.exists()


def test_problems_and_a_low_budget_are_shown_and_create_nothing(client, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")

    problems = client.post(
        "/batch-jobs/generate/", {**FORM, "arcs": ["dread_to_relief", "embarrassment_to_pride"]}
    )
    budget = client.post("/batch-jobs/generate/", {**FORM, "budget_usd": "0.000001"})

    assert problems.status_code == 422 and "embarrassment_to_pride" in problems.content.decode()
    assert budget.status_code == 422 and "below the estimated cost" in budget.content.decode()
    assert not BatchJob.objects.exists()


def test_the_job_page_shows_the_generation_panel_only_for_generation_jobs(client, user):
    job = create_generation_job(
        user,
        GenerationRequest(
            name="Tax season",
            persona_keys=["gig_juggler"],
            arc_keys=["dread_to_relief"],
            topic_keys=["freelancer_quarterly_taxes"],
            repeat=3,
            mode="batch",
            budget_usd=2,
        ),
    )
    ProviderBatch.objects.create(
        batch_job=job,
        provider_batch_id="msgbatch_0123",
        status=ProviderBatchStatus.IN_PROGRESS,
        requests=3,
        succeeded=2,
    )
    outside = BatchJobFactory(created_by=user)

    html = client.get(f"/batch-jobs/{job.pk}/").content.decode()
    other = client.get(f"/batch-jobs/{outside.pk}/").content.decode()

    assert 'id="generation"' in html and 'id="generation-title"' in html
    assert "msgbatch_0123" in html and "of $2.00 budget" in html
    assert "3 in all: 3 waiting to be sent" in html
    assert 'id="generation-title"' not in other


def test_with_the_demo_provider_the_pages_say_so(client, user, settings):
    job = create_generation_job(
        user,
        GenerationRequest(
            name="Demo",
            persona_keys=["gig_juggler"],
            arc_keys=["dread_to_relief"],
            topic_keys=["freelancer_quarterly_taxes"],
        ),
    )
    assert 'id="demo-provider"' not in client.get("/batch-jobs/generate/").content.decode()

    settings.GENERATION_DEMO_PROVIDER = True

    for url in ("/batch-jobs/generate/", f"/batch-jobs/{job.pk}/"):
        html = client.get(url).content.decode()
        notice = html.split('id="demo-provider"')[1].split("</div>")[0]
        assert "Demo provider." in notice and "not written by a model" in notice
