"""FILE_STORAGE=s3: every file goes to the bucket (moto's standalone S3 server), reads
stream, writes replace an object whole, and failures are storage errors like the disk's."""

import json

import pytest
from botocore.response import StreamingBody
from django.core.files.storage import default_storage

from conversations.models import Conversation, EnrichmentStatus, ErrorCategory
from core import storage
from intake.files import import_conversations
from tests.factories import ConversationFactory, UserFactory, conversation_document
from tests.servers import files_under

pytestmark = pytest.mark.django_db


def test_a_written_file_lands_in_the_bucket_and_reads_back(s3_storage, media_root):
    content = '{\n  "caf\u00e9": 1\n}\n'.encode()

    size = storage.write_file("owner/conversation/enriched.json", content)

    assert size == len(content)
    assert s3_storage.keys() == ["owner/conversation/enriched.json"]
    assert s3_storage.read("owner/conversation/enriched.json") == content
    assert storage.read_file("owner/conversation/enriched.json") == content
    head = s3_storage.client.head_object(
        Bucket=s3_storage.name, Key="owner/conversation/enriched.json"
    )
    assert head["ContentType"] == "application/json"
    assert files_under(media_root) == []


def test_a_write_replaces_the_object_whole(s3_storage):
    storage.write_file("a/enriched.json", b"old content that is longer")

    storage.write_file("a/enriched.json", b"new")

    assert s3_storage.keys() == ["a/enriched.json"]
    assert storage.read_file("a/enriched.json") == b"new"


def test_reading_a_missing_object_is_file_not_found(s3_storage):
    with pytest.raises(FileNotFoundError, match="missing/conversation.json"):
        storage.read_file("missing/conversation.json")


def test_an_opened_file_streams_from_the_bucket_with_its_size(s3_storage):
    content = bytes(range(256)) * 4096  # 1 MiB
    storage.write_file("big/enriched.json", content)

    with default_storage.open("big/enriched.json", "rb") as handle:
        # The HTTP body itself, read as it is consumed: nothing was downloaded ahead.
        assert isinstance(handle.file, StreamingBody)
        assert handle.size == len(content)
        first = handle.read(1000)
        rest = b"".join(iter(lambda: handle.read(65536), b""))

    assert first == content[:1000]
    assert first + rest == content


def test_storage_errors_are_os_errors_and_are_recorded_as_storage_failures(s3_storage):
    conversation = ConversationFactory()
    s3_storage.client.delete_object(Bucket=s3_storage.name, Key=conversation.file_path)
    s3_storage.client.delete_bucket(Bucket=s3_storage.name)

    with pytest.raises(OSError, match="NoSuchBucket"):
        storage.write_file("x/enriched.json", b"{}")
    with pytest.raises(OSError, match="NoSuchBucket"):
        storage.read_file(conversation.file_path)

    from enrichment.pipeline.run import enrich_conversations

    [outcome] = enrich_conversations([conversation.pk])
    conversation.refresh_from_db()
    assert outcome.status == "failed"
    assert conversation.enrichment_status == EnrichmentStatus.ENRICHMENT_FAILED
    assert conversation.enrichment_error_category == ErrorCategory.STORAGE
    assert "could not be read" in conversation.enrichment_error
    assert "NoSuchBucket" in conversation.enrichment_error


def test_import_enrich_and_download_keep_every_file_in_the_bucket(
    s3_storage, media_root, tmp_path, client
):
    owner = UserFactory(username="dana")
    source = tmp_path / "windfall.json"
    source.write_text(json.dumps(conversation_document()))
    imported = import_conversations([source], owner=owner, auto_enrich=False)
    [conversation] = imported.conversations
    client.force_login(owner)

    enriched = client.post(f"/api/conversations/{conversation.pk}/enrich")
    download = client.get(f"/api/conversations/{conversation.pk}/download/enriched")

    assert enriched.status_code == 200, enriched.json()
    assert enriched.json()["status"] == "enriched"
    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED
    assert download.status_code == 200
    assert download.streaming
    body = b"".join(download.streaming_content)
    assert body == s3_storage.read(conversation.enriched_file_path)
    assert download["Content-Length"] == str(len(body)) == str(conversation.enriched_file_size)
    document = json.loads(body)
    assert document["dataset_metadata"]["dataset_name"] == (
        f"fp_conversation_{conversation.conversation_id}"
    )
    assert s3_storage.keys() == sorted(
        [
            conversation.raw_response_path,
            conversation.file_path,
            conversation.enriched_file_path,
        ]
    )
    assert files_under(media_root) == []
    assert Conversation.objects.count() == 1
