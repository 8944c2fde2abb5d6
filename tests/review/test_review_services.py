"""Review statuses, actions, history, permissions and claims, on PostgreSQL."""

import psycopg
import pytest
from django.contrib.auth.models import Permission
from django.db import connection

from conversations.models import Conversation, ReviewAction, ReviewStatus
from enrichment.pipeline.run import PARALLEL, enrich_conversations
from review import services
from review.queue import QueueFilters, reviewable, statistics
from tests.factories import (
    TRUNCATED_REPLY,
    ConversationFactory,
    UserFactory,
    enriched_conversation,
)

pytestmark = pytest.mark.django_db


def reviewer_of_others():
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="review_others_conversations"))
    return type(user).objects.get(pk=user.pk)  # a fresh instance: no cached permissions


def test_enrichment_puts_a_conversation_in_the_queue_and_a_failure_does_not():
    waiting = ConversationFactory()
    failing = ConversationFactory(document=TRUNCATED_REPLY)
    assert waiting.review_status is None

    enrich_conversations([waiting.pk, failing.pk])

    waiting.refresh_from_db()
    failing.refresh_from_db()
    assert waiting.review_status == ReviewStatus.PENDING
    assert failing.enrichment_status == "validation_failed"
    assert failing.review_status is None


def test_approving_records_who_and_when_and_keeps_the_history():
    conversation = enriched_conversation()
    owner = conversation.created_by

    row = services.review(conversation, owner, "approved", "Reads well.")

    assert row.review_status == ReviewStatus.APPROVED
    assert row.approved_by == owner and row.approved_at is not None
    assert row.reviewer_notes == "Reads well."
    [action] = services.history(row)
    assert (action.action, action.reviewer, action.comment) == ("approved", owner, "Reads well.")


@pytest.mark.parametrize(
    ("action", "comment", "reasons", "message"),
    [
        ("approve", "", [], "Unknown action"),
        ("rejected", "", [], "Say why"),
        ("revision_requested", "   ", [], "Say why"),
        ("rejected", "", ["tone", "rudeness"], "Unknown reason rudeness"),
    ],
)
def test_a_bad_action_is_refused_and_changes_nothing(action, comment, reasons, message):
    conversation = enriched_conversation()

    with pytest.raises(services.InvalidReview, match=message):
        services.review(conversation, conversation.created_by, action, comment, reasons)

    conversation.refresh_from_db()
    assert conversation.review_status == ReviewStatus.PENDING
    assert not ReviewAction.objects.exists()


def test_reasons_are_kept_in_the_fixed_lists_order_once_each():
    conversation = enriched_conversation()

    services.review(
        conversation, conversation.created_by, "rejected", "", ["safety", "tone", "safety"]
    )

    assert ReviewAction.objects.get().reasons == ["tone", "safety"]
    conversation.refresh_from_db()
    assert conversation.review_status == ReviewStatus.REJECTED
    assert conversation.approved_by is None


def test_a_conversation_not_enriched_has_nothing_to_review():
    conversation = ConversationFactory()

    with pytest.raises(services.NotReviewable):
        services.review(conversation, conversation.created_by, "approved")


def test_only_the_owner_or_a_reviewer_of_others_may_review():
    conversation = enriched_conversation()

    with pytest.raises(services.ReviewForbidden):
        services.review(conversation, UserFactory(is_staff=True), "approved")
    row = services.review(conversation, reviewer_of_others(), "approved")

    assert row.review_status == ReviewStatus.APPROVED
    assert list(reviewable(UserFactory())) == []


@pytest.mark.parametrize("mode", ["one", "many"])
def test_enriched_again_it_goes_back_to_the_queue_with_its_history(mode):
    conversation = enriched_conversation()
    other = enriched_conversation(created_by=conversation.created_by)
    services.review(conversation, conversation.created_by, "approved")
    services.review(other, conversation.created_by, "rejected", "Off tone.", ["tone"])

    pks = [conversation.pk] if mode == "one" else [conversation.pk, other.pk]
    outcomes = enrich_conversations(pks, force=True, mode=PARALLEL)

    assert {o.status for o in outcomes} == {"enriched"}
    conversation.refresh_from_db()
    assert conversation.review_status == ReviewStatus.PENDING
    assert conversation.approved_by is None and conversation.approved_at is None
    assert [a.action for a in services.history(conversation)] == ["moved_to_review", "approved"]
    if mode == "many":
        assert [a.action for a in services.history(other)] == ["moved_to_review", "rejected"]


def test_a_failed_re_enrichment_leaves_the_review_alone():
    conversation = enriched_conversation()
    services.review(conversation, conversation.created_by, "approved")
    Conversation.objects.filter(pk=conversation.pk).update(file_path="missing/file.json")

    [outcome] = enrich_conversations([conversation.pk], force=True)

    assert outcome.status == "failed"
    conversation.refresh_from_db()
    assert conversation.review_status == ReviewStatus.APPROVED
    assert [a.action for a in services.history(conversation)] == ["approved"]


def test_two_reviewers_are_given_different_conversations():
    owner = UserFactory()
    first, second = (enriched_conversation(created_by=owner) for _ in range(2))
    alice, bob = reviewer_of_others(), reviewer_of_others()

    mine = services.next_for_review(alice, QueueFilters())
    theirs = services.next_for_review(bob, QueueFilters())
    again = services.next_for_review(alice, QueueFilters())

    assert {mine.pk, theirs.pk} == {first.pk, second.pk}
    assert again.pk == mine.pk  # her own claim comes back first
    assert services.next_for_review(UserFactory(), QueueFilters()) is None


def test_a_claimed_conversation_cannot_be_reviewed_by_another():
    conversation = enriched_conversation()
    alice, bob = reviewer_of_others(), reviewer_of_others()
    services.next_for_review(alice, QueueFilters())

    with pytest.raises(services.ReviewConflict) as refused:
        services.review(conversation, bob, "approved")

    assert refused.value.code == "claimed"
    assert refused.value.fields()["claimedBy"] == alice.username
    services.review(conversation, alice, "approved")  # her action releases the claim
    conversation.refresh_from_db()
    assert conversation.review_claimed_by is None


def test_an_expired_claim_is_taken_over(settings):
    settings.REVIEW_CLAIM_SECONDS = 0
    conversation = enriched_conversation()
    alice, bob = reviewer_of_others(), reviewer_of_others()

    services.next_for_review(alice, QueueFilters())
    taken = services.next_for_review(bob, QueueFilters())

    assert taken.pk == conversation.pk and taken.review_claimed_by == bob


def test_acting_on_a_state_that_changed_is_refused_with_what_it_is_now():
    conversation = enriched_conversation()
    owner = conversation.created_by
    services.review(conversation, owner, "rejected", "Wrong numbers.", ["accuracy"])

    with pytest.raises(services.ReviewConflict) as refused:
        services.review(conversation, owner, "approved", expected_status="pending_review")

    assert refused.value.code == "review_changed"
    assert refused.value.fields() == {"reviewStatus": "rejected"}


def test_skipping_gives_the_claim_back_and_moves_on():
    owner = UserFactory()
    first, second = (enriched_conversation(created_by=owner) for _ in range(2))

    shown = services.next_for_review(owner, QueueFilters())
    assert services.release(shown.pk, owner)
    following = services.next_for_review(owner, QueueFilters(), skip=[shown.pk])

    assert {shown.pk, following.pk} == {first.pk, second.pk}
    assert Conversation.objects.get(pk=shown.pk).review_claimed_by is None


def test_queue_filters_sort_and_statistics():
    owner = UserFactory()
    low, high, unscored = (enriched_conversation(created_by=owner) for _ in range(3))
    Conversation.objects.filter(pk=low.pk).update(quality_score=2.5)
    Conversation.objects.filter(pk=high.pk).update(quality_score=4.5)
    Conversation.objects.filter(pk=unscored.pk).update(quality_score=None)
    services.review(high, owner, "approved")
    Conversation.objects.filter(pk=high.pk).update(review_status="pending_review")

    from review.queue import queue

    assert list(queue(owner, QueueFilters(sort="quality"))) == [low, high, unscored]
    assert list(queue(owner, QueueFilters(sort="-quality"))) == [high, low, unscored]
    assert list(queue(owner, QueueFilters(quality_min=3))) == [high]
    assert list(queue(owner, QueueFilters(quality_max=3))) == [low]
    services.review(low, owner, "rejected", "No.")
    numbers = statistics(owner, QueueFilters())
    assert (numbers.pending, numbers.rejected, numbers.approved) == (2, 1, 0)
    assert numbers.average_quality == pytest.approx(4.5)
    assert numbers.oldest_pending_at == Conversation.objects.get(pk=high.pk).enriched_at


@pytest.mark.django_db(transaction=True)
def test_a_row_being_claimed_elsewhere_is_skipped_not_waited_for():
    owner = UserFactory()
    first, second = (enriched_conversation(created_by=owner) for _ in range(2))
    oldest = services.next_for_review(owner, QueueFilters())
    services.release(oldest.pk, owner)
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as other:
        # Another reviewer's transaction holds the oldest row while it claims it.
        other.execute("SELECT 1 FROM conversations WHERE id = %s FOR UPDATE", [oldest.pk])

        given = services.next_for_review(UserFactory(is_superuser=True), QueueFilters())

        assert given.pk == ({first.pk, second.pk} - {oldest.pk}).pop()
