"""A new revision undoes a person's review decision: the conversation is back in the
review queue at once (not only once the revision is enriched), its history saying what
the earlier decision was; an approved-only training file no longer takes it."""

import pytest

from conversations.models import EnrichmentStatus, ReviewStatus, RevisionSource
from enrichment.models import EnrichmentRun, RunSource
from enrichment.pipeline.run import enrich_conversations
from enrichment.revisions import save_revision
from enrichment.runs import lanes
from review import services
from tests.factories import (
    TRUNCATED_REPLY,
    ConversationFactory,
    conversation_document,
    enriched_conversation,
)
from training.eligibility import NotEligible, meeting_requirements, select_ids

pytestmark = pytest.mark.django_db


def failing_document() -> dict:
    document = conversation_document(turns=4)
    document["turns"][1]["emotional_context"]["intensity"] = 1.5
    return document


def edit(conversation, document: dict, source=RevisionSource.EDIT):
    return save_revision(
        conversation,
        document,
        user=conversation.created_by,
        source=source,
        run_source=RunSource.PAGE,
    )


@pytest.mark.parametrize("decision", ["approved", "rejected", "revision_requested"])
def test_a_reviewed_conversation_edited_into_a_failure_is_pending_review(decision):
    conversation = enriched_conversation()
    reasons = [] if decision == "approved" else ["tone"]
    services.review(conversation, conversation.created_by, decision, "", reasons)
    conversation.refresh_from_db()
    before = conversation.review_status

    saved = edit(conversation, failing_document())

    conversation.refresh_from_db()
    assert conversation.review_status == ReviewStatus.PENDING
    assert conversation.approved_by is None and conversation.approved_at is None
    [moved, earlier] = services.history(conversation)
    assert (moved.action, earlier.action) == ("moved_to_review", decision)
    assert moved.reviewer is None
    assert moved.comment == f"Revision 2 saved (edit); the earlier decision was {before}."
    # Enriched, the revision fails validation: still pending, and no second note.
    lanes.process_run(saved.run.pk)
    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.VALIDATION_FAILED
    assert conversation.review_status == ReviewStatus.PENDING
    assert len(services.history(conversation)) == 2


def test_an_approved_only_training_file_no_longer_takes_an_edited_conversation():
    conversation = enriched_conversation()
    services.review(conversation, conversation.created_by, "approved")
    selection = select_ids([conversation.pk], user=conversation.created_by)
    assert meeting_requirements(selection, approved_only=True).pks == [conversation.pk]

    saved = edit(conversation, conversation_document(turns=6))
    lanes.process_run(saved.run.pk)  # enriched again, fine: but no one approved it

    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED
    assert conversation.review_status == ReviewStatus.PENDING
    selection = select_ids([conversation.pk], user=conversation.created_by)
    with pytest.raises(NotEligible):
        meeting_requirements(selection, approved_only=True)
    assert [a.action for a in services.history(conversation)] == ["moved_to_review", "approved"]


def test_a_replaced_file_of_a_failed_reviewed_conversation_also_goes_back_to_review():
    conversation = enriched_conversation()
    services.review(conversation, conversation.created_by, "rejected", "Off.", ["tone"])
    # Enriched again into a failure (its decision stays: the output it judged is kept).
    edit(conversation, failing_document())
    lanes.process_run(EnrichmentRun.objects.latest("created_at").pk)
    services.review(conversation, conversation.created_by, "rejected", "Still off.", ["tone"])

    edit(conversation, conversation_document(turns=4), source=RevisionSource.REPLACE)

    conversation.refresh_from_db()
    assert conversation.review_status == ReviewStatus.PENDING
    moved = services.history(conversation)[0]
    assert moved.comment == "Revision 3 saved (replacement); the earlier decision was rejected."


def test_pending_and_never_enriched_conversations_keep_their_status_and_history():
    pending = enriched_conversation()
    never = ConversationFactory(document=TRUNCATED_REPLY)
    enrich_conversations([never.pk])  # fails: never enriched, nothing to review

    edit(pending, conversation_document(turns=6))
    saved = edit(never, conversation_document(turns=4), source=RevisionSource.REPLACE)

    pending.refresh_from_db()
    never.refresh_from_db()
    assert pending.review_status == ReviewStatus.PENDING
    assert services.history(pending) == []
    assert never.review_status is None  # nothing to review until it is enriched
    lanes.process_run(saved.run.pk)
    never.refresh_from_db()
    assert never.review_status == ReviewStatus.PENDING
    assert services.history(never) == []
