"""Ids are UUIDs written as strings, in any letter case, in bodies and in paths; anything
else in an id list is a 400 naming the field, never a lookup of a made-up UUID."""

import pytest

from tests.factories import BatchJobFactory, ConversationFactory

pytestmark = pytest.mark.django_db

NOT_A_UUID = ["Must be a valid UUID."]


@pytest.mark.parametrize("value", [1, True, 0, 1.5, ["a"], {"id": 1}])
@pytest.mark.parametrize(
    "url, extra",
    [
        ("/api/conversations/bulk-enrich", {}),
        ("/api/enrichment-runs", {}),
        ("/api/training-files", {"name": "set"}),
    ],
)
def test_an_id_list_with_anything_but_a_string_is_refused_naming_the_field(api, url, extra, value):
    response = api.post(url, {"conversationIds": [value], **extra}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["error"]) == ("invalid", "Invalid request")
    assert body["details"] == {"conversationIds": {"0": NOT_A_UUID}}


@pytest.mark.parametrize(
    "url, extra", [("/api/enrichment-runs", {}), ("/api/training-files", {"name": "set"})]
)
def test_a_batch_job_id_that_is_a_number_is_refused_naming_the_field(api, url, extra):
    response = api.post(url, {"batchJobId": 7, **extra}, format="json")

    assert response.status_code == 400
    assert response.json()["details"] == {"batchJobId": NOT_A_UUID}


def test_an_uppercase_id_in_a_body_is_the_same_conversation(api, user):
    conversation = ConversationFactory(created_by=user)

    response = api.post(
        "/api/training-files",
        {"name": "set", "conversationIds": [str(conversation.pk).upper()]},
        format="json",
    )

    # Found (a missing one would be a 404 listing it), then refused for its state.
    assert response.status_code == 409
    assert response.json()["details"]["conversationIds"][0].startswith(str(conversation.pk))


def test_an_uppercase_id_in_an_api_path_finds_the_object(api, user):
    conversation = ConversationFactory(created_by=user)
    job = BatchJobFactory(created_by=user)

    status = api.get(f"/api/conversations/{str(conversation.pk).upper()}/enrich")
    items = api.get(f"/api/conversations/batch/{str(job.pk).upper()}/items")

    assert status.status_code == 200
    assert status.json()["conversationId"] == str(conversation.conversation_id)
    assert items.status_code == 200


def test_an_uppercase_id_in_a_page_path_finds_the_object(user_client, user):
    conversation = ConversationFactory(created_by=user)
    job = BatchJobFactory(created_by=user)

    page = user_client.get(f"/conversations/{str(conversation.pk).upper()}/")
    job_page = user_client.get(f"/batch-jobs/{str(job.pk).upper()}/")

    assert page.status_code == job_page.status_code == 200
    assert page.context["conversation"] == conversation
    assert job_page.context["job"] == job
