"""Concurrent changes to training files over real HTTP requests, on PostgreSQL (SQLite
serialises every write, so it proves nothing about row-level races)."""

import json
import threading
import urllib.error
import urllib.request
from collections import Counter

import pytest

from core.tokens import create_token
from tests.factories import UserFactory, enriched_conversation
from training.models import TrainingFile

pytestmark = [pytest.mark.django_db(transaction=True)]


def post(url: str, token: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def race(count: int, call) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(count)
    answers: list[tuple[int, dict]] = []

    def one(n: int) -> None:
        barrier.wait()
        answers.append(call(n))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_racing_additions_put_each_conversation_in_once(live_server):
    owner = UserFactory()
    token = create_token(owner, name="test")[1]
    first = enriched_conversation(created_by=owner)
    status, created = post(
        f"{live_server.url}/api/training-files",
        token,
        {"name": "Shared", "conversationIds": [str(first.pk)]},
    )
    assert status == 201
    url = f"{live_server.url}{created['trainingFile']['url']}/add-conversations"
    ids = [str(enriched_conversation(created_by=owner).pk) for _ in range(8)]

    answers = race(4, lambda n: post(url, token, {"conversationIds": ids[n * 2 :] + ids[: n * 2]}))

    assert [status for status, _ in answers] == [200] * 4
    added = Counter(cid for _, body in answers for cid in body["added"])
    assert set(added.values()) == {1}
    assert len(added) == 8
    assert sum(len(body["alreadyIncluded"]) for _, body in answers) == 8 * 3
    training_file = TrainingFile.objects.get()
    assert training_file.memberships.count() == 9
    assert (training_file.status, training_file.conversation_count) == ("active", 9)


def test_racing_creations_of_one_name_make_one_file(live_server):
    owner = UserFactory()
    token = create_token(owner, name="test")[1]
    ids = [str(enriched_conversation(created_by=owner).pk)]

    answers = race(
        3,
        lambda n: post(
            f"{live_server.url}/api/training-files", token, {"name": "Once", "conversationIds": ids}
        ),
    )

    assert sorted(status for status, _ in answers) == [201, 409, 409]
    refused = [body for status, body in answers if status == 409]
    assert (
        refused
        == [
            {
                "success": False,
                "error": "You already have a training file named “Once”.",
                "code": "name_taken",
            }
        ]
        * 2
    )
    assert TrainingFile.objects.count() == 1
