"""Items posted to one batch job at the same time: every item gets its own position and
the job's counters equal what its items say. Real concurrent HTTP requests against the
threaded live server, on PostgreSQL (SQLite serialises every write, so it proves nothing
about row-level races)."""

import json
import threading
import urllib.error
import urllib.request

import pytest

from conversations.models import BatchItemStatus, BatchJob, Conversation
from core.tokens import create_token
from tests.factories import UserFactory, conversation_document

pytestmark = [pytest.mark.django_db(transaction=True)]


def post(url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def items_for(caller: int, count: int) -> list[dict]:
    """Distinct documents (no duplicates), every fifth one the model's broken text."""
    items = []
    for n in range(count):
        if n % 5 == 4:
            items.append({"raw": f'{{"turns": [ "caller {caller} item {n}'})
        else:
            document = conversation_document(session_context=f"Caller {caller}, item {n}.")
            items.append({"conversation": document, "topic": f"Topic {caller}-{n}"})
    return items


def test_concurrent_item_posts_keep_positions_and_counters_consistent(live_server):
    user = UserFactory()
    token = create_token(user, name="test")[1]
    status, job = post(f"{live_server.url}/api/batch-jobs", token, {"name": "Parallel generator"})
    assert status == 201
    callers, per_call, calls = 6, 20, 2
    barrier = threading.Barrier(callers)
    answers: list[tuple[int, dict]] = []

    def generator(caller: int) -> None:
        barrier.wait()
        for call in range(calls):
            body = {"items": items_for(caller * calls + call, per_call)}
            answers.append(post(f"{live_server.url}/api/batch-jobs/{job['id']}/items", token, body))

    threads = [threading.Thread(target=generator, args=(n,)) for n in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    status, finished = post(f"{live_server.url}/api/batch-jobs/{job['id']}/complete", token)

    total = callers * per_call * calls
    assert [code for code, _ in answers] == [200] * (callers * calls)
    positions = [item["position"] for _, body in answers for item in body["items"]]
    assert sorted(positions) == list(range(1, total + 1))
    stored = BatchJob.objects.get(pk=job["id"])
    statuses = list(stored.items.values_list("status", flat=True))
    assert len(statuses) == total
    assert (stored.total_items, stored.completed_items) == (total, total)
    assert stored.successful_items == statuses.count(BatchItemStatus.COMPLETED) == total * 4 // 5
    assert stored.failed_items == statuses.count(BatchItemStatus.FAILED) == total // 5
    assert stored.duplicate_items == 0
    assert Conversation.objects.filter(batch_items__batch_job=stored).count() == total
    assert status == 200
    assert finished["job"]["totalItems"] == total
    assert finished["job"]["status"] == "completed"


def test_the_same_item_posted_twice_at_once_is_stored_once(live_server):
    user = UserFactory()
    token = create_token(user, name="test")[1]
    _, job = post(f"{live_server.url}/api/batch-jobs", token, {"name": "Retrying generator"})
    body = {"items": [{"conversation": conversation_document()}]}
    barrier = threading.Barrier(4)
    answers: list[dict] = []

    def resend() -> None:
        barrier.wait()
        answers.append(post(f"{live_server.url}/api/batch-jobs/{job['id']}/items", token, body)[1])

    threads = [threading.Thread(target=resend) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(answer["items"][0]["status"] for answer in answers)
    assert statuses == ["completed", "skipped", "skipped", "skipped"]
    stored = BatchJob.objects.get(pk=job["id"])
    assert (stored.total_items, stored.duplicate_items) == (1, 3)
    assert Conversation.objects.count() == 1
