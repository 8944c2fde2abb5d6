"""The "New batch job" page: conversation files uploaded in the browser are previewed, then
imported as one batch job, all or nothing, with the checks of `import_conversations`."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conversations.models import BatchItemStatus, BatchJob, Conversation, ProcessingStatus
from enrichment.models import EnrichmentRun
from tests.factories import TRUNCATED_REPLY, conversation_document

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def a_file(name: str, content: bytes | dict) -> SimpleUploadedFile:
    if isinstance(content, dict):
        content = json.dumps(content, indent=2).encode()
    return SimpleUploadedFile(name, content, content_type="application/json")


def three_files() -> list[SimpleUploadedFile]:
    return [
        a_file("first-chat.json", conversation_document(session_context="First.")),
        a_file("cut-off.json", TRUNCATED_REPLY),
        a_file("second_chat.json", conversation_document(session_context="Second.")),
    ]


def stored_files(media_root) -> list:
    return sorted(p for p in media_root.rglob("*") if p.is_file())


def test_the_page_offers_a_drop_zone_and_the_options(user_client):
    response = user_client.get("/batch-jobs/new/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>New batch job</h1>" in body
    assert 'enctype="multipart/form-data"' in body
    assert "data-dropzone" in body
    assert 'type="file" name="files"' in body
    assert "multiple" in body
    assert 'name="auto_enrich"' in body and "checked" in body
    assert 'href="/api/docs/#/batch-jobs"' in body


def test_the_batch_jobs_list_leads_to_the_page(user_client):
    body = user_client.get("/batch-jobs/").content.decode()

    assert '<a class="button button--primary" href="/batch-jobs/new/">New batch job</a>' in body


def test_importing_files_creates_a_completed_job_and_opens_it(user_client, user, media_root):
    response = user_client.post(
        "/batch-jobs/new/",
        {"files": three_files(), "name": "June upload", "tier": "scenario", "auto_enrich": "on"},
        follow=True,
    )

    job = BatchJob.objects.get()
    assert response.redirect_chain == [(f"/batch-jobs/{job.pk}/", 302)]
    body = response.content.decode()
    assert (
        "Imported 3 conversations into “June upload”. 1 is not valid JSON: kept, and enrichment "
        "will report why. Enrichment runs in the background."
    ) in body
    assert (job.name, job.status, job.created_by, job.tier) == (
        "June upload",
        "completed",
        user,
        "scenario",
    )
    items = list(job.items.order_by("position").select_related("conversation"))
    assert [i.conversation.conversation_name for i in items] == [
        "First chat",
        "Cut off",
        "Second chat",
    ]
    assert [i.status for i in items] == [BatchItemStatus.COMPLETED] * 3
    assert items[1].conversation.processing_status == ProcessingStatus.PARSE_FAILED
    run = EnrichmentRun.objects.get()
    assert (run.batch_job_id, run.total) == (job.pk, 3)
    assert len(stored_files(media_root)) == 5


def test_a_job_without_a_name_is_named_after_the_upload_and_may_skip_auto_enrich(user_client):
    user_client.post("/batch-jobs/new/", {"files": three_files()[:1], "tier": "template"})

    job = BatchJob.objects.get()
    assert job.name.startswith("Upload 20")
    assert job.auto_enrich is False
    assert EnrichmentRun.objects.count() == 0


def test_duplicates_are_skipped_and_said(user_client):
    document = conversation_document()
    user_client.post(
        "/batch-jobs/new/", {"files": [a_file("a.json", document)], "tier": "template"}
    )

    response = user_client.post(
        "/batch-jobs/new/",
        {
            "files": [a_file("again.json", document), a_file("new.json", TRUNCATED_REPLY)],
            "tier": "template",
        },
        follow=True,
    )

    assert "Imported 1 conversation into" in response.content.decode()
    assert "1 duplicate file skipped." in response.content.decode()
    newest = BatchJob.objects.order_by("-created_at").first()
    assert (newest.total_items, newest.duplicate_items) == (1, 1)
    assert Conversation.objects.count() == 2


def test_an_upload_of_only_duplicates_imports_nothing_and_says_so(user_client):
    document = conversation_document()
    user_client.post(
        "/batch-jobs/new/", {"files": [a_file("a.json", document)], "tier": "template"}
    )

    response = user_client.post(
        "/batch-jobs/new/", {"files": [a_file("a.json", document)], "tier": "template"}
    )

    assert response.status_code == 422
    assert "every file was imported before" in response.content.decode()
    assert BatchJob.objects.count() == 1


def test_one_bad_file_refuses_the_whole_upload_and_names_it(user_client, media_root):
    files = [*three_files(), a_file("nothing.json", b"  \n")]

    response = user_client.post("/batch-jobs/new/", {"files": files, "tier": "template"})

    assert response.status_code == 422
    body = response.content.decode()
    assert "1 of 4 files cannot be imported, so nothing will be." in body
    assert "nothing.json: is empty (a generation that produced nothing)" in body
    assert BatchJob.objects.count() == 0
    assert Conversation.objects.count() == 0
    assert stored_files(media_root) == []


def test_an_import_posted_with_htmx_answers_with_the_preview_or_opens_the_job(user_client):
    refused = user_client.post(
        "/batch-jobs/new/",
        {"files": [*three_files(), a_file("nothing.json", b"")], "tier": "template"},
        **HX,
    )
    no_files = user_client.post("/batch-jobs/new/", {"tier": "template"}, **HX)
    imported = user_client.post(
        "/batch-jobs/new/", {"files": three_files(), "tier": "template"}, **HX
    )

    assert refused.status_code == 422
    body = refused.content.decode()
    assert body.lstrip().startswith('<div id="preview"')
    assert 'data-leave-out="3" aria-label="Leave out nothing.json"' in body
    assert no_files.status_code == 422
    assert "Choose at least one conversation file." in no_files.content.decode()
    job = BatchJob.objects.get()
    assert imported["HX-Redirect"] == f"/batch-jobs/{job.pk}/"
    assert job.items.count() == 3


def test_no_files_is_a_clear_error(user_client):
    response = user_client.post("/batch-jobs/new/", {"tier": "template"})

    assert response.status_code == 422
    assert "Choose at least one conversation file." in response.content.decode()
    assert BatchJob.objects.count() == 0


@pytest.mark.parametrize(
    ("url", "headers"), [("/batch-jobs/new/", {}), ("/batch-jobs/new/preview/", HX)]
)
def test_too_many_files_is_a_clear_error(user, settings, url, headers):
    # As a browser sends it: the CSRF check reads the body before any view can.
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    token = browser.get("/batch-jobs/new/").context["csrf_token"]

    response = browser.post(
        url, {"files": three_files(), "tier": "template", "csrfmiddlewaretoken": token}, **headers
    )

    assert response.status_code == 422
    assert "At most 2 files per upload: import them in parts." in response.content.decode()
    assert BatchJob.objects.count() == 0


def test_the_preview_says_what_each_file_will_become_and_imports_nothing(user_client):
    document = conversation_document(turns=6)
    user_client.post(
        "/batch-jobs/new/", {"files": [a_file("old.json", document)], "tier": "template"}
    )

    response = user_client.post(
        "/batch-jobs/new/preview/",
        {"files": [*three_files(), a_file("old-again.json", document)], "tier": "template"},
        **HX,
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="preview"')
    assert "3 conversations will be imported</strong>, 1 of them not valid JSON" in body
    assert "1 duplicate will be skipped" in body
    assert body.count('class="preview-row preview-row--conversation"') == 2
    assert body.count('class="preview-row preview-row--unparseable"') == 1
    assert "old-again.json: same content as “Old” (batch job " in body
    assert "Jordan Lee - The Careful Builder" in body
    assert BatchJob.objects.count() == 1


def test_the_preview_without_htmx_goes_back_to_the_page(user_client):
    response = user_client.post("/batch-jobs/new/preview/", {"files": three_files()})

    assert response.status_code == 302
    assert response["Location"] == "/batch-jobs/new/"
    assert BatchJob.objects.count() == 0


def test_the_page_needs_a_login(client):
    response = client.get("/batch-jobs/new/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/batch-jobs/new/"
