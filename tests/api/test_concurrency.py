"""Concurrent bulk-enrich requests over the same ids enrich each conversation once.

Real HTTP requests against the threaded live server, on PostgreSQL (SQLite serialises
every write, so it proves nothing about row-level races).
"""

import json
import threading
import urllib.request
from collections import Counter

import pytest
from django.db import connection

from conversations.models import Conversation, EnrichmentStatus
from core.tokens import create_token
from enrichment.pipeline.run import enrich_conversations
from tests.factories import ConversationFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True)]


def post_bulk(url: str, token: str, ids: list[str], sequential: bool) -> dict:
    request = urllib.request.Request(
        f"{url}/api/conversations/bulk-enrich",
        data=json.dumps({"conversationIds": ids, "sequential": sequential}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


@pytest.mark.parametrize("sequential", [True, False])
def test_concurrent_bulk_requests_enrich_each_conversation_once(live_server, sequential):
    user = UserFactory()
    token = create_token(user, name="test")[1]
    ids = [str(ConversationFactory(created_by=user).pk) for _ in range(30)]
    requests = 4
    barrier = threading.Barrier(requests)
    bodies: list[dict] = []

    def worker(offset: int) -> None:
        # Each request sends the same ids in a different order to maximise overlap.
        rotated = ids[offset * 7 :] + ids[: offset * 7]
        barrier.wait()
        bodies.append(post_bulk(live_server.url, token, rotated, sequential))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(bodies) == requests
    enriched = Counter(
        r["conversationId"] for body in bodies for r in body["results"] if r["status"] == "enriched"
    )
    assert sorted(enriched) == sorted(ids)
    assert set(enriched.values()) == {1}
    skipped = [r for body in bodies for r in body["results"] if r["status"] == "skipped"]
    assert len(skipped) == 30 * (requests - 1)
    assert {r["reason"] for r in skipped} <= {"in_progress", "already_enriched"}
    for body in bodies:
        summary = body["summary"]
        assert summary["successful"] + summary["failed"] + summary["skipped"] == summary["total"]
    assert Conversation.objects.filter(enrichment_status=EnrichmentStatus.COMPLETED).count() == 30


def test_a_request_racing_the_runner_enriches_each_conversation_once(live_server):
    user = UserFactory()
    token = create_token(user, name="test")[1]
    ids = [str(ConversationFactory(created_by=user).pk) for _ in range(30)]
    barrier = threading.Barrier(2)
    outcomes = []
    bodies = []

    def direct() -> None:
        barrier.wait()
        try:
            outcomes.extend(enrich_conversations(list(reversed(ids))))
        finally:
            connection.close()

    def http() -> None:
        barrier.wait()
        bodies.append(post_bulk(live_server.url, token, ids, True))

    threads = [threading.Thread(target=direct), threading.Thread(target=http)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    enriched = Counter(str(o.pk) for o in outcomes if o.status == "enriched")
    enriched.update(r["conversationId"] for r in bodies[0]["results"] if r["status"] == "enriched")
    assert sorted(enriched) == sorted(ids)
    assert set(enriched.values()) == {1}
