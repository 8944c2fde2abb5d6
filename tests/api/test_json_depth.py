"""One nesting limit for every JSON taken from outside (core.strict_json.MAX_DEPTH): the
API's bodies and the uploaded files, refused with a reason, never a RecursionError."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conversations.models import BatchItem, BatchJob, Conversation
from core.strict_json import MAX_DEPTH
from tests.factories import conversation_document

pytestmark = pytest.mark.django_db


def deep_conversation(depth: int) -> bytes:
    """A conversation whose one extra field nests ``depth`` levels in all."""
    document = json.dumps(conversation_document()).encode()
    inner = b"[" * (depth - 1) + b"]" * (depth - 1)
    return document[:-1] + b', "extra": ' + inner + b"}"


def items_body(depth: int) -> bytes:
    """An items body nesting ``depth`` levels in all (body, items, item, conversation)."""
    return b'{"items": [{"conversation": ' + deep_conversation(depth - 3) + b"}]}"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 950, 1024, 2000])
def test_an_item_nested_past_the_limit_is_refused_with_its_code(api, media_root, depth):
    job = api.post("/api/batch-jobs", {"name": "deep"}, format="json").json()
    body = items_body(depth)

    response = api.post(f"/api/batch-jobs/{job['id']}/items", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "Invalid request",
        "code": "too_deep",
        "details": {"body": [f"The body is nested deeper than {MAX_DEPTH} levels."]},
    }
    assert BatchItem.objects.count() == 0


def test_an_item_at_the_limit_is_taken(api, media_root):
    job = api.post("/api/batch-jobs", {"name": "deep"}, format="json").json()
    body = items_body(MAX_DEPTH)

    response = api.post(f"/api/batch-jobs/{job['id']}/items", body, content_type="application/json")

    assert response.status_code == 200, response.json()
    assert BatchItem.objects.count() == 1


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 950, 1024])
def test_an_uploaded_file_nested_past_the_limit_is_refused_naming_it(
    user_client, media_root, depth
):
    upload = SimpleUploadedFile("deep.json", deep_conversation(depth), "application/json")

    response = user_client.post("/batch-jobs/new/", {"files": [upload], "tier": "template"})

    assert response.status_code == 422
    assert (
        f"deep.json: cannot be imported: nested deeper than {MAX_DEPTH} levels"
        in response.content.decode()
    )
    assert BatchJob.objects.count() == 0
    assert Conversation.objects.count() == 0
