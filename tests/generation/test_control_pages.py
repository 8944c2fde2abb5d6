"""The Generation panel's buttons through Django's test client: only those that apply are
shown, each posts (htmx or a plain form) and answers with a notice, and only the job's
owner or staff may press them."""

import re

import pytest
from django.test import Client

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus, BatchJobStatus
from devtools.demo.generator import scaffolding_paths
from generation.jobs import GenerationRequest, create_generation_job
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def scaffolding(settings):
    settings.GENERATION_PRICES = {}
    import_scaffolding(scaffolding_paths())


@pytest.fixture
def owner():
    return UserFactory(username="dana")


@pytest.fixture
def client(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def job(owner):
    return create_generation_job(
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


def url(job, action: str) -> str:
    return f"/batch-jobs/{job.pk}/generation/{action}/"


def buttons(html: str) -> list[str]:
    """The Generation panel's buttons, in order."""
    panel = html.split('<section id="generation"')[1].split("</section>")[0]
    return re.findall(r"<button[^>]*>([^<(]+?)(?: \(\d+\))?</button>", panel)


def test_a_running_job_offers_pause_and_cancel_and_pausing_swaps_the_panel(client, job):
    page = client.get(f"/batch-jobs/{job.pk}/").content.decode()
    assert buttons(page) == ["Pause", "Cancel generation"]
    assert 'name="csrfmiddlewaretoken"' in page.split('id="generation"')[1]

    response = client.post(url(job, "pause"), **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="generation-notice"' in html and "Paused: nothing more is sent" in html
    assert "Paused by dana." in html
    assert buttons(html) == ["Resume", "Cancel generation"]
    assert response["HX-Trigger"] == "items-added"
    job.generation.refresh_from_db()
    assert job.generation.paused_reason == "Paused by dana."

    resumed = client.post(url(job, "resume"), **HTMX).content.decode()
    assert "Resumed" in resumed and buttons(resumed) == ["Pause", "Cancel generation"]


def test_cancelling_a_job_with_nothing_at_the_provider_reloads_the_page(client, job):
    response = client.post(url(job, "cancel"), **HTMX)

    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    page = client.get(f"/batch-jobs/{job.pk}/").content.decode()
    assert "Job cancelled: 2 items not generated yet cancelled." in page
    assert 'badge--item-cancelled">Cancelled' in page
    assert "<dt>Cancelled</dt><dd>2</dd>" in page
    assert buttons(page) == []
    job.refresh_from_db()
    assert job.status == BatchJobStatus.CANCELLED


def test_without_javascript_a_button_posts_and_redirects_with_the_notice(client, job):
    response = client.post(url(job, "pause"), follow=True)

    assert response.redirect_chain == [(f"/batch-jobs/{job.pk}/", 302)]
    assert "Paused: nothing more is sent" in response.content.decode()


def test_a_refused_action_says_why_in_the_panel(client, job):
    job.items.update(status=BatchItemStatus.COMPLETED)

    response = client.post(url(job, "retry-failed"), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "No item of this job failed generation" in html and 'role="alert"' in html


def test_retry_failed_generations_is_offered_for_failed_items_and_reopens_the_job(client, job):
    from intake.lifecycle import finish_batch_job

    job.items.filter(position=1).update(status=BatchItemStatus.FAILED, error_message="Refused")
    job.items.filter(position=2).update(status=BatchItemStatus.COMPLETED)
    finish_batch_job(job)
    job.refresh_from_db()
    assert job.status == BatchJobStatus.COMPLETED
    page = client.get(f"/batch-jobs/{job.pk}/").content.decode()
    assert buttons(page) == ["Retry failed generations"]
    assert "Retry failed generations (1)" in page

    response = client.post(url(job, "retry-failed"), **HTMX)

    assert response["HX-Refresh"] == "true"
    job.refresh_from_db()
    assert job.status == BatchJobStatus.PROCESSING
    page = client.get(f"/batch-jobs/{job.pk}/").content.decode()
    assert "1 item whose generation failed will be generated again." in page
    assert buttons(page) == ["Pause", "Cancel generation"]


def test_only_the_owner_or_staff_may_press_the_buttons(job):
    stranger = Client()
    stranger.force_login(UserFactory())
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, username="sam"))

    assert stranger.post(url(job, "pause"), **HTMX).status_code == 404
    assert staff.post(url(job, "pause"), **HTMX).status_code == 200
    assert staff.post(url(job, "explode"), **HTMX).status_code == 404
    assert staff.get(url(job, "pause")).status_code == 405
    job.generation.refresh_from_db()
    assert job.generation.paused_reason == "Paused by sam."
