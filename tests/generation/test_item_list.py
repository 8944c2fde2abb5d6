"""``GET /api/batch-jobs/<id>/items``: a job's items in camelCase with the scaffolding
keys they were made from, and for generated items their attempts, the last stop reason
and parse method, and why they failed."""

import pytest
from rest_framework.test import APIClient

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus
from devtools.demo.generator import scaffolding_paths
from generation.jobs import GenerationRequest, create_generation_job
from generation.models import GenerationAttempt
from generation.results import take_in_answer, take_in_failure
from intake.items import NewItem, add_items, create_batch_job
from tests.factories import UserFactory
from tests.generation.test_results import send

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def api(owner) -> APIClient:
    client = APIClient()
    client.force_login(owner)
    return client


@pytest.fixture
def job(settings, fake_anthropic, owner):
    settings.GENERATION_PRICES = {}
    import_scaffolding(scaffolding_paths())
    return create_generation_job(
        owner,
        GenerationRequest(
            name="Tax season",
            persona_keys=["gig_juggler"],
            arc_keys=["dread_to_relief"],
            topic_keys=["freelancer_quarterly_taxes", "emergency_fund_rebuild"],
            repeat=2,
            mode="realtime",
            max_tokens=8000,
        ),
    )


def attempt(job, position: int, number: int = 1) -> GenerationAttempt:
    return GenerationAttempt.objects.get(
        item__batch_job=job, item__position=position, number=number
    )


def rows(api, job, query: str = "") -> list[dict]:
    response = api.get(f"/api/batch-jobs/{job.pk}/items{query}")
    assert response.status_code == 200, response.content
    return response.json()["data"]


def test_generated_items_show_their_attempts_stop_reason_and_parse_method(api, job):
    take_in_answer(attempt(job, 1).pk, send(attempt(job, 1)))
    take_in_answer(attempt(job, 2).pk, send(attempt(job, 2), marker="\n[[fake:repairable]]"))
    take_in_answer(attempt(job, 3).pk, send(attempt(job, 3), marker="\n[[fake:truncate]]"))
    take_in_failure(attempt(job, 4).pk, "errored", "overloaded_error: Overloaded")

    data = rows(api, job)

    assert [row["position"] for row in data] == [1, 2, 3, 4]
    first, repaired, truncated, errored = data
    assert first["personaKey"] == "gig_juggler"
    assert first["emotionalArcKey"] == "dread_to_relief"
    assert {first["trainingTopicKey"], truncated["trainingTopicKey"]} == {
        "freelancer_quarterly_taxes",
        "emergency_fund_rebuild",
    }
    assert (first["status"], first["attempts"], first["stopReason"], first["parseMethod"]) == (
        "completed",
        1,
        "end_turn",
        "direct",
    )
    assert first["conversationId"] == str(attempt(job, 1).conversation_id)
    assert first["error"] is None
    assert (repaired["parseMethod"], repaired["status"]) == ("repaired", "completed")
    assert (truncated["status"], truncated["stopReason"], truncated["parseMethod"]) == (
        "failed",
        "max_tokens",
        None,
    )
    assert "cut off" in truncated["error"]
    assert truncated["conversationId"] is not None  # the truncated text is kept
    # An errored result is an attempt; the item waits for its next one.
    assert (errored["status"], errored["attempts"], errored["stopReason"]) == (
        "queued",
        1,
        None,
    )
    assert attempt(job, 4, number=2).status == "pending"


def test_the_list_filters_by_status_and_pages(api, job):
    take_in_answer(attempt(job, 3).pk, send(attempt(job, 3)))

    completed = rows(api, job, "?status=completed")
    assert [row["position"] for row in completed] == [3]
    response = api.get(f"/api/batch-jobs/{job.pk}/items?limit=2&offset=2")
    body = response.json()
    assert [row["position"] for row in body["data"]] == [3, 4]
    assert body["pagination"] == {"limit": 2, "offset": 2, "nextOffset": None}
    unknown = api.get(f"/api/batch-jobs/{job.pk}/items?status=done")
    assert unknown.status_code == 400
    assert unknown.json()["success"] is False
    assert "status" in unknown.json()["details"]


def test_items_fed_from_outside_have_no_generation_fields(api, owner):
    job = create_batch_job(owner=owner, name="Imported")
    add_items(job, [NewItem(error="the generator crashed", topic="Budgets")])

    (row,) = rows(api, job)

    assert (row["status"], row["error"], row["conversationId"]) == (
        BatchItemStatus.FAILED,
        "the generator crashed",
        None,
    )
    assert (row["attempts"], row["stopReason"], row["parseMethod"], row["personaKey"]) == (
        None,
        None,
        None,
        None,
    )


def test_another_users_job_is_not_found(job):
    stranger = APIClient()
    stranger.force_login(UserFactory())

    response = stranger.get(f"/api/batch-jobs/{job.pk}/items")

    assert response.status_code == 404


def test_the_job_page_shows_stop_reasons_and_the_items_worth_a_look(client, owner, job):
    take_in_answer(attempt(job, 1).pk, send(attempt(job, 1)))
    take_in_answer(attempt(job, 2).pk, send(attempt(job, 2), marker="\n[[fake:repairable]]"))
    take_in_answer(attempt(job, 3).pk, send(attempt(job, 3), marker="\n[[fake:truncate]]"))
    client.force_login(owner)

    response = client.get(f"/batch-jobs/{job.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    outcomes = html.split('id="generation-outcomes"')[1].split("</p>")[0]
    assert "2 <code>end_turn</code>, 1 <code>max_tokens</code>" in outcomes
    assert "1 direct, 1 not parsed, 1 repaired" in outcomes
    rows = html.split('id="generation-items"')[1].split("</table>")[0]
    assert 'id="generated-item-1"' not in rows  # parsed directly at the first answer
    repaired = rows.split('id="generated-item-2"')[1].split("</tr>")[0]
    assert "repaired" in repaired and "Completed" in repaired
    truncated = rows.split('id="generated-item-3"')[1].split("</tr>")[0]
    assert "<code>max_tokens</code>" in truncated and "cut off" in truncated
