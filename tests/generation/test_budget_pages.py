"""Resume with a new budget on the job page's Generation panel, through Django's test
client: the field shows only when the job was paused for its budget, prefilled with the
budget; a bad amount is refused with a warning and changes nothing."""

import re
from decimal import Decimal

import pytest
from django.test import Client

from conversations.imports import import_scaffolding
from devtools.demo.generator import scaffolding_paths
from generation import batches
from generation.jobs import GenerationRequest, create_generation_job
from generation.models import GenerationSettings
from generation.providers import get_provider
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def owner():
    return UserFactory(username="dana")


@pytest.fixture
def client(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def job(owner, settings, fake_anthropic):
    """A job whose budget is too small for its first batch: paused before sending it."""
    settings.GENERATION_PRICES = {}
    import_scaffolding(scaffolding_paths())
    job = create_generation_job(
        owner,
        GenerationRequest(
            name="Tax season",
            persona_keys=["gig_juggler"],
            arc_keys=["dread_to_relief"],
            topic_keys=["freelancer_quarterly_taxes", "emergency_fund_rebuild"],
            mode="batch",
            max_tokens=8000,
        ),
    )
    GenerationSettings.objects.filter(batch_job=job).update(budget_usd=Decimal("0.0001"))
    assert batches.submit(job.pk, get_provider()) == []
    return job


def resume(client, job, **data):
    return client.post(f"/batch-jobs/{job.pk}/generation/resume/", data, **HTMX)


def settings_of(job) -> GenerationSettings:
    return GenerationSettings.objects.get(batch_job=job)


def test_resume_offers_the_budget_of_a_job_paused_for_it_and_sets_the_new_one(client, job):
    page = client.get(f"/batch-jobs/{job.pk}/").content.decode()
    assert "Submission paused:</strong> Budget reached: 0 USD spent of 0.0001" in page
    assert 'name="budget_usd" min="0" step="any"' in page
    assert 'value="0.0001"' in page and "Resume with this budget" in page

    response = resume(client, job, budget_usd="0.5")

    html = response.content.decode()
    assert "Budget: 0.5 USD. Resumed (it was paused: Budget reached" in html
    assert 'name="budget_usd"' not in html
    settings = settings_of(job)
    assert (settings.budget_usd, settings.paused_reason) == (Decimal("0.5"), "")


@pytest.mark.parametrize("amount", ["lots", "-1", "NaN", "Infinity", "1e30"])
def test_a_bad_budget_is_refused_with_a_warning_and_changes_nothing(client, job, amount):
    html = resume(client, job, budget_usd=amount).content.decode()

    assert 'id="generation-notice" class="result result--warning" role="alert"' in html
    assert "The budget must be an amount of USD such as 12.50" in html
    settings = settings_of(job)
    assert settings.budget_usd == Decimal("0.0001")
    assert settings.paused_reason.startswith("Budget reached")


def test_an_empty_budget_removes_it(client, job):
    html = resume(client, job, budget_usd=" ").content.decode()

    assert "No budget any more. Resumed" in html
    assert settings_of(job).budget_usd is None


def test_a_person_paused_job_resumes_without_a_budget_field(client, job):
    GenerationSettings.objects.filter(batch_job=job).update(paused_reason="Paused by dana.")

    page = client.get(f"/batch-jobs/{job.pk}/").content.decode()

    assert 'name="budget_usd"' not in page
    html = resume(client, job).content.decode()
    assert "Resumed (it was paused: Paused by dana.)" in html
    assert settings_of(job).budget_usd == Decimal("0.0001")


def badge(html: str) -> str | None:
    """The generation state's badge text next to the job's status, if any."""
    found = re.search(r'badge--generation-state" title="[^"]*">([^<]+)<', html)
    return found.group(1) if found else None


def test_a_paused_job_shows_paused_on_the_list_and_its_page(client, job, owner):
    other = create_generation_job(
        owner,
        GenerationRequest(
            name="Running",
            persona_keys=["gig_juggler"],
            arc_keys=["dread_to_relief"],
            topic_keys=["freelancer_quarterly_taxes"],
            mode="batch",
        ),
    )
    listed = client.get("/batch-jobs/").content.decode()
    rows = {
        name: row
        for row in listed.split("<tr>")[2:]
        for name in re.findall(r'href="/batch-jobs/[^"]+/">([^<]+)</a>', row)
    }
    assert badge(rows["Tax season"]) == "Paused"
    assert 'title="Budget reached: 0 USD spent of 0.0001' in rows["Tax season"]
    assert badge(rows["Running"]) is None
    page = client.get(f"/batch-jobs/{job.pk}/").content.decode()
    header = page.split("</h1>")[0]
    assert badge(header) == "Paused" and '<span id="generation-state">' in header
    assert badge(client.get(f"/batch-jobs/{other.pk}/").content.decode()) is None

    # Resuming from the panel clears the badge in the page's header, out of band.
    html = resume(client, job, budget_usd="1").content.decode()
    assert '<span id="generation-state" hx-swap-oob="true"></span>' in html
    paused = client.post(f"/batch-jobs/{job.pk}/generation/pause/", **HTMX).content.decode()
    oob = paused.split('<span id="generation-state" hx-swap-oob="true">')[1]
    assert badge(oob) == "Paused" and 'title="Paused by dana."' in oob
    cancelled = client.post(f"/batch-jobs/{job.pk}/generation/cancel/", **HTMX)
    # Nothing was at the provider: the job ended cancelled, and shows no state any more.
    assert cancelled["HX-Refresh"] == "true"
    assert badge(client.get(f"/batch-jobs/{job.pk}/").content.decode().split("</h1>")[0]) is None


def test_the_list_reads_the_generation_states_in_a_constant_number_of_queries(
    client, job, owner, django_assert_max_num_queries
):
    client.get("/batch-jobs/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get("/batch-jobs/")
    for number in range(3):
        create_generation_job(
            owner,
            GenerationRequest(
                name=f"More {number}",
                persona_keys=["gig_juggler"],
                arc_keys=["dread_to_relief"],
                topic_keys=["freelancer_quarterly_taxes"],
                mode="batch",
            ),
        )
    with django_assert_max_num_queries(len(one)):
        listed = client.get("/batch-jobs/").content.decode()
    assert listed.count("More ") == 3
