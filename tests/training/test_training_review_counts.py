"""Training files count the members a person approved, and list each member's review
status."""

import json

import pytest

from review import services as review
from tests.factories import UserFactory, enriched_conversation
from tests.training.helpers import stored
from training import services
from training.builders import Member, Summary
from training.eligibility import select_ids

pytestmark = pytest.mark.django_db


def test_the_v4_metadata_counts_the_approved_members():
    owner = UserFactory()
    approved, rejected, pending = (enriched_conversation(created_by=owner) for _ in range(3))
    review.review(approved, owner, "approved")
    review.review(rejected, owner, "rejected", "Off tone.", ["tone"])

    selection = select_ids(
        [str(c.conversation_id) for c in (approved, rejected, pending)], user=owner
    )
    training_file = services.create_training_file(
        name="Reviewed", user=owner, selection=selection
    ).training_file
    training_file.refresh_from_db()

    document = json.loads(stored(training_file.json_file_path))
    summary = document["training_file_metadata"]["quality_summary"]
    assert (summary["human_reviewed_count"], summary["human_reviewed_percentage"]) == (1, 33.33)
    assert [c["conversation_metadata"]["review_status"] for c in document["conversations"]] == [
        "approved",
        "rejected",
        "pending_review",
    ]
    assert training_file.human_reviewed_count == 1


def test_a_file_of_approved_members_only_is_100_percent_reviewed():
    summary = Summary()
    for _ in range(2):
        summary.add(
            Member(conversation_id="1", created_at=None, review_status="approved"), pairs=[]
        )

    assert summary.quality_summary()["human_reviewed_count"] == 2
    assert summary.quality_summary()["human_reviewed_percentage"] == 100
