"""GET /api/conversations: the conversations you may see, filtered by batch job,
enrichment status and a search, newest first, paged like every list."""

import uuid

import pytest

from conversations.models import EnrichmentStatus
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    PersonaFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/conversations"


def names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["name"] for row in response.json()["data"]]


def test_lists_your_active_conversations_newest_first(api, user):
    older = ConversationFactory(created_by=user, conversation_name="Older")
    ConversationFactory(created_by=user, conversation_name="Newer")
    ConversationFactory(created_by=user, conversation_name="Gone", is_active=False)
    ConversationFactory(created_by=UserFactory(), conversation_name="Theirs")
    job = BatchJobFactory(created_by=user, name="Monday")
    BatchItemFactory(batch_job=job, conversation=older)

    response = api.get(URL)

    assert names(response) == ["Newer", "Older"]
    row = response.json()["data"][1]
    assert row["id"] == str(older.pk)
    assert row["conversationId"] == str(older.conversation_id)
    assert row["enrichmentStatus"] == "not_started"
    assert row["batchJobs"] == [{"id": str(job.pk), "name": "Monday"}]
    assert response.json()["pagination"] == {"limit": 50, "offset": 0, "nextOffset": None}


def test_staff_list_everyones(staff_api):
    ConversationFactory(conversation_name="Someone's")
    ConversationFactory(conversation_name="Another's")

    assert sorted(names(staff_api.get(URL))) == ["Another's", "Someone's"]


def test_filters_by_enrichment_status_and_any_failure(api, user):
    ConversationFactory(created_by=user, conversation_name="Done", enrichment_status="completed")
    ConversationFactory(
        created_by=user, conversation_name="Invalid", enrichment_status="validation_failed"
    )
    ConversationFactory(
        created_by=user, conversation_name="Broke", enrichment_status="enrichment_failed"
    )
    ConversationFactory(created_by=user, conversation_name="Waiting")

    assert names(api.get(URL, {"status": "completed"})) == ["Done"]
    assert names(api.get(URL, {"status": "failed"})) == ["Broke", "Invalid"]


def test_filters_by_batch_job(api, user):
    job = BatchJobFactory(created_by=user)
    for name in ("First", "Second"):
        BatchItemFactory(
            batch_job=job, conversation=ConversationFactory(created_by=user, conversation_name=name)
        )
    ConversationFactory(created_by=user, conversation_name="Elsewhere")

    assert names(api.get(URL, {"batchJobId": str(job.pk)})) == ["Second", "First"]


def test_searches_names_persona_names_and_ids(api, user):
    persona = PersonaFactory(name="Marcus Chen - The Overwhelmed Avoider")
    ConversationFactory(created_by=user, conversation_name="Loan worries")
    ConversationFactory(created_by=user, conversation_name="Budget", persona=persona)
    by_id = ConversationFactory(created_by=user, conversation_name="Retirement")

    assert names(api.get(URL, {"search": "LOAN"})) == ["Loan worries"]
    assert names(api.get(URL, {"search": "marcus"})) == ["Budget"]
    assert names(api.get(URL, {"search": str(by_id.conversation_id)})) == ["Retirement"]
    assert api.get(URL, {"search": "Budget"}).json()["data"][0]["persona"] == persona.name


def test_a_batch_job_you_cannot_see_is_404(api):
    theirs = BatchJobFactory(created_by=UserFactory())

    for job_id in (theirs.pk, uuid.uuid4()):
        response = api.get(URL, {"batchJobId": str(job_id)})

        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert response.json()["missing"] == [str(job_id)]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "done"}, "status"),
        ({"status": ""}, "status"),
        ({"batchJobId": "7"}, "batchJobId"),
        ({"search": " "}, "search"),
        ({"search": "x" * 201}, "search"),
        ({"search": "a\x00b"}, "search"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(api, query, field):
    response = api.get(URL, query)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["details"]) == [field]


def test_listing_needs_credentials(client):
    assert client.get(URL).status_code == 401


def test_the_enrichment_status_filter_takes_every_status(api, user):
    for status in EnrichmentStatus.values:
        ConversationFactory(created_by=user, conversation_name=status, enrichment_status=status)

    for status in EnrichmentStatus.values:
        assert names(api.get(URL, {"status": status})) == [status]
