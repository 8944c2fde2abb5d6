"""Two reviewers at once through the API (the owner, and a user with the permission to
review others' conversations): the next conversation each claims is never the other's,
even when both ask at the same moment; and when both act on one conversation the second
is told what the first did (409 naming the holder or the status it has now), or, when it
overrides without saying what it expected, the history keeps both actions."""

import threading

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from rest_framework.test import APIClient

from conversations.models import Conversation, ReviewAction
from tests.factories import UserFactory, enriched_conversation

NEXT = "/api/review/next"


def _reviewers():
    owner = UserFactory(username="dana")
    reviewer = UserFactory(username="ravi")
    reviewer.user_permissions.add(Permission.objects.get(codename="review_others_conversations"))
    clients = []
    for user in (owner, reviewer):
        client = APIClient()
        client.force_login(user)
        clients.append(client)
    return owner, reviewer, clients


@pytest.mark.django_db(transaction=True)
def test_reviewers_asking_at_the_same_moment_never_get_the_same_conversation(
    relaxed_throttles,
):
    owner, _, clients = _reviewers()
    conversations = [enriched_conversation(created_by=owner) for _ in range(16)]
    start = threading.Barrier(len(clients))
    taken: dict[str, list[str]] = {"dana": [], "ravi": []}
    answers: list[int] = []

    def work(name: str, client: APIClient) -> None:
        try:
            start.wait()
            while True:
                claimed = client.post(NEXT, format="json")
                answers.append(claimed.status_code)
                row = claimed.json()["data"]
                if row is None:
                    return
                taken[name].append(row["id"])
                reviewed = client.post(
                    f"/api/conversations/{row['id']}/review",
                    {"action": "approved", "expectedStatus": "pending_review"},
                    format="json",
                )
                answers.append(reviewed.status_code)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, args=(name, client))
        for name, client in zip(taken, clients, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # No conflict at all: each was claimed by one reviewer and reviewed once.
    assert set(answers) == {200}
    everything = taken["dana"] + taken["ravi"]
    assert sorted(everything) == sorted(str(c.pk) for c in conversations)
    assert ReviewAction.objects.count() == len(conversations)
    assert set(Conversation.objects.values_list("review_status", flat=True)) == {"approved"}
    assert not Conversation.objects.filter(review_claimed_by__isnull=False).exists()


@pytest.mark.django_db
def test_the_second_reviewer_sees_the_first_reviewers_claim_and_action(relaxed_throttles):
    owner, _, (dana, ravi) = _reviewers()
    for _ in range(3):
        enriched_conversation(created_by=owner)

    first = dana.post(NEXT, format="json").json()["data"]
    second = ravi.post(NEXT, format="json").json()["data"]

    assert first["claimedBy"] == "dana"
    assert second["claimedBy"] == "ravi"
    assert first["id"] != second["id"]
    # Asked again, each keeps the one it holds.
    assert dana.post(NEXT, format="json").json()["data"]["id"] == first["id"]
    # The queue says who holds what.
    rows = {row["id"]: row["claimedBy"] for row in ravi.get("/api/review/queue").json()["data"]}
    assert (rows[first["id"]], rows[second["id"]]) == ("dana", "ravi")

    url = f"/api/conversations/{first['id']}/review"
    while_claimed = ravi.post(url, {"action": "approved"}, format="json")
    assert while_claimed.status_code == 409
    assert while_claimed.json()["code"] == "claimed"
    assert while_claimed.json()["claimedBy"] == "dana"
    assert "dana is reviewing this conversation right now" in while_claimed.json()["error"]

    rejected = dana.post(url, {"action": "rejected", "reasons": ["safety"]}, format="json")
    assert rejected.status_code == 200, rejected.json()

    stale = ravi.post(
        url, {"action": "approved", "expectedStatus": "pending_review"}, format="json"
    )
    assert stale.status_code == 409
    assert (stale.json()["code"], stale.json()["reviewStatus"]) == ("review_changed", "rejected")
    # Acting without saying what it saw overrides, and the history shows both actions.
    override = ravi.post(url, {"action": "approved", "comment": "Fine after all."}, format="json")
    assert override.status_code == 200, override.json()
    history = [(a["reviewer"], a["action"]) for a in override.json()["reviewHistory"]]
    assert history == [("ravi", "approved"), ("dana", "rejected")]

    # Skipping gives the claim back: the other reviewer can now be offered it.
    skipped = ravi.post(NEXT, {"skip": [second["id"]]}, format="json").json()["data"]
    assert skipped["id"] not in (first["id"], second["id"])
    assert (
        dana.post(NEXT, {"skip": [first["id"]]}, format="json").json()["data"]["id"]
        == (second["id"])
    )


@pytest.mark.django_db
def test_next_refuses_bad_input_in_the_api_shape(api):
    bad_filter = api.post(f"{NEXT}?sort=random", format="json")
    bad_skip = api.post(NEXT, {"skip": ["not-an-id"]}, format="json")
    unknown = api.post(NEXT, {"skipp": []}, format="json")

    assert bad_filter.status_code == 400
    assert "sort" in bad_filter.json()["details"]
    assert bad_skip.status_code == 400
    assert "skip" in bad_skip.json()["details"]
    assert unknown.status_code == 400
    assert unknown.json()["details"]["skipp"] == ["Unknown field."]
    assert api.post(NEXT, format="json").json() == {"success": True, "data": None}
