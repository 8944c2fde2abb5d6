"""Replace and retry: corrected files for several failed conversations of a batch job at
once, named by conversation id, on the job's page and through the API."""

import json

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from conversations.models import ConversationRevision, EnrichmentStatus
from enrichment.models import EnrichmentRun
from enrichment.selection import select_batch_job
from enrichment.services import enrich
from tests.factories import ConversationFactory, UserFactory, conversation_document
from tests.jobs import run_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(make_job, user):
    """A finished job with 1 enriched and 3 failed (truncated) conversations."""
    job = make_job(user, valid=1, invalid=3)
    enrich(select_batch_job(job, user=user), user=user, source="api", background=False)
    return job


def conversations(job):
    return [item.conversation for item in job.items.order_by("position")]


def test_the_api_replaces_the_failed_ones_and_refuses_the_rest_by_id(api, job):
    good, first, second, third = conversations(job)
    stranger = ConversationFactory(created_by=job.created_by)
    fixed = conversation_document(turns=4)
    body = {
        "documents": {
            str(first.conversation_id): fixed,
            str(second.pk): fixed,  # the row id works too
            str(good.pk): fixed,  # did not fail
            str(stranger.pk): fixed,  # not the job's
            str(third.pk): [1, 2],  # not a document
        }
    }

    response = api.post(f"/api/batch-jobs/{job.pk}/replacements", body, format="json")

    assert response.status_code == 200, response.json()
    results = {r["conversationId"]: r for r in response.json()["results"]}
    assert response.json()["success"] is False
    assert results[str(first.conversation_id)]["status"] == "replaced"
    assert results[str(first.conversation_id)]["revision"] == 2
    assert results[str(second.pk)]["status"] == "replaced"
    assert "did not fail" in results[str(good.pk)]["error"]
    assert "Not a conversation of this batch job" in results[str(stranger.pk)]["error"]
    assert "must be a JSON object" in results[str(third.pk)]["error"]
    run = EnrichmentRun.objects.get(pk=response.json()["runId"])
    assert run.total == 2
    assert not ConversationRevision.objects.filter(
        conversation__in=[good, third, stranger], number=2
    ).exists()

    run_jobs()

    for conversation in (first, second):
        conversation.refresh_from_db()
        assert conversation.enrichment_status == EnrichmentStatus.COMPLETED
        assert conversation.revision == 2
    third.refresh_from_db()
    assert third.enrichment_status == EnrichmentStatus.VALIDATION_FAILED


def test_the_api_refuses_bad_bodies_and_others_jobs(api, job):
    other = UserFactory()
    url = f"/api/batch-jobs/{job.pk}/replacements"

    assert api.post(url, {"documents": {}}, format="json").status_code == 400
    # A key that is no conversation id is refused in its result; nothing is stored.
    named = api.post(url, {"documents": {"not-an-id": {}}}, format="json")
    assert named.status_code == 200, named.json()
    assert named.json()["success"] is False
    assert named.json()["results"] == [
        {
            "conversationId": "not-an-id",
            "status": "refused",
            "revision": None,
            "error": "Not a conversation id: name each document by its conversation's id.",
        }
    ]
    assert named.json()["runId"] is None
    api.force_login(other)
    refused = api.post(url, {"documents": {str(conversations(job)[1].pk): {}}}, format="json")
    assert refused.status_code == 404
    assert not ConversationRevision.objects.filter(number=2).exists()


def test_the_job_page_replaces_files_named_by_conversation_id(user_client, job):
    _, first, second, _ = conversations(job)
    fixed = json.dumps(conversation_document(turns=4)).encode()
    page = user_client.get(f"/batch-jobs/{job.pk}/").content.decode()
    assert 'id="replace-failed"' in page

    response = user_client.post(
        f"/batch-jobs/{job.pk}/replace-failed/",
        {
            "files": [
                SimpleUploadedFile(f"{first.conversation_id}.json", fixed),
                SimpleUploadedFile(f"{second.pk}.json", b'{"turns": ['),
                SimpleUploadedFile("notes.txt", b"hello"),
            ]
        },
        follow=True,
    )

    body = response.content.decode()
    assert "1 file replaced" in body
    assert f"{second.pk}.json: The file is not valid JSON" in body
    assert "notes.txt: Not named" in body
    revision = first.revisions.get(number=2)
    assert (revision.source, default_storage.open(revision.path).read()) == ("replace", fixed)
    assert not second.revisions.filter(number=2).exists()
