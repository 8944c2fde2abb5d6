"""A storage that refuses to write (a full disk: the kernel's ENOSPC through /dev/full; an
object store whose bucket is gone) is the server's fault: 503 with Retry-After and a code,
on the upload page, the intake API and downloads, never a 500 or a 400; nothing is kept."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conversations.models import BatchItem, BatchJob, Conversation
from tests.factories import ConversationFactory, conversation_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_disk(settings, media_root):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "tests.full_disk.FullDiskStorage"},
    }
    return media_root


@pytest.fixture
def bucket_gone(s3_storage):
    """Object storage whose bucket was deleted: every write answers NoSuchBucket."""
    s3_storage.client.delete_bucket(Bucket=s3_storage.name)
    return s3_storage


def stored_files(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file())


def a_file(name: str) -> SimpleUploadedFile:
    content = json.dumps(conversation_document(session_context=name)).encode()
    return SimpleUploadedFile(name, content, content_type="application/json")


def assert_retry_later(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "60"


def test_the_upload_page_on_a_full_disk_says_so_and_to_retry(user_client, full_disk):
    files = [a_file("one.json"), a_file("two.json")]

    response = user_client.post("/batch-jobs/new/", {"files": files, "tier": "template"})

    assert_retry_later(response)
    body = response.content.decode()
    assert "The file storage failed while storing one.json as " in body
    assert "No space left on device" in body
    assert (BatchJob.objects.count(), Conversation.objects.count()) == (0, 0)
    assert stored_files(full_disk) == []


@pytest.mark.parametrize("storage", ["full_disk", "bucket_gone"])
def test_the_intake_api_answers_503_with_its_code_and_keeps_nothing(api, request, storage):
    request.getfixturevalue(storage)
    job = api.post("/api/batch-jobs", {"name": "run"}, format="json").json()

    response = api.post(
        f"/api/batch-jobs/{job['id']}/items",
        {"items": [{"conversation": conversation_document()}]},
        format="json",
    )

    assert_retry_later(response)
    body = response.json()
    assert body["code"] == "storage_unavailable"
    assert body["error"].startswith("The file storage failed while storing item-1 as ")
    assert (BatchItem.objects.count(), Conversation.objects.count()) == (0, 0)


def test_a_download_from_a_bucket_that_fails_answers_503(api, user, s3_storage):
    conversation = ConversationFactory(created_by=user)
    s3_storage.client.delete_object(Bucket=s3_storage.name, Key=conversation.file_path)
    s3_storage.client.delete_bucket(Bucket=s3_storage.name)

    response = api.get(f"/api/conversations/{conversation.pk}/download/raw")

    assert_retry_later(response)
    assert response.json()["code"] == "storage_unavailable"
