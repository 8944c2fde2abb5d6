"""Reviewing conversations: a person's action (approve, reject, request a revision) on
one conversation or many, and the claims that keep two reviewers off the same one.

Every action locks the conversation's row, checks who may act and what the row says
now, then changes its status and adds to its history in one transaction: two reviewers
acting at once are put one after the other, and the second one is told what the first
did when it asked for the state it saw (``expected_status``) or the first still holds
its claim.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from conversations.models import (
    STATUS_AFTER,
    Conversation,
    ReviewAction,
    ReviewActionKind,
    ReviewReason,
    ReviewStatus,
)
from core.errors import Conflict, DomainError, NotFound

from .queue import QueueFilters, claim_is_live, may_review_others, queue

ACTIONS = [str(kind) for kind in STATUS_AFTER]
REASONS = ReviewReason.values
MAX_COMMENT = 5000


class InvalidReview(DomainError):
    """A review the service refuses on its content (a rejection that gives no reason)."""

    code = "invalid_review"

    def fields(self) -> dict:
        return {"details": {"reasons": [self.message]}}


class ReviewForbidden(DomainError):
    status = 403
    code = "review_forbidden"


class NotReviewable(Conflict):
    """Not enriched (yet): there is nothing to review."""

    code = "not_reviewable"


class ReviewConflict(Conflict):
    """Someone else holds it, or reviewed it since the caller looked."""

    def __init__(self, message: str, *, code: str, conversation: Conversation) -> None:
        super().__init__(message)
        self.code = code
        self.review_status = conversation.review_status
        self.claimed_by = _username(conversation.review_claimed_by)

    def fields(self) -> dict:
        fields = {"reviewStatus": self.review_status}
        if self.claimed_by:
            fields["claimedBy"] = self.claimed_by
        return fields


def _username(user) -> str:
    return user.get_username() if user is not None else ""


def claim_expiry(now=None):
    return (now or timezone.now()) + timedelta(seconds=settings.REVIEW_CLAIM_SECONDS)


def check_review(
    action: str, comment: str, reasons: Sequence[str], *, say_why: bool = True
) -> list[str]:
    """The reasons, deduplicated in the fixed list's order; ``InvalidReview`` when the
    action is unknown, a reason is not on the list, or (``say_why``: a person on a page)
    a rejection or a revision request says neither why (a reason) nor what (a comment).
    The API takes a bare rejection from a script, whose schema cannot ask for either."""
    if action not in ACTIONS:
        raise InvalidReview(f"Unknown action “{action}”: use one of {', '.join(ACTIONS)}.")
    unknown = sorted(set(reasons) - set(REASONS))
    if unknown:
        raise InvalidReview(
            f"Unknown reason{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: "
            f"use {', '.join(REASONS)}."
        )
    if len(comment) > MAX_COMMENT:
        raise InvalidReview(f"The comment is longer than {MAX_COMMENT} characters.")
    if say_why and action != ReviewActionKind.APPROVED and not (reasons or comment.strip()):
        raise InvalidReview("Say why: give at least one reason or a comment.")
    return [reason for reason in REASONS if reason in reasons]


def may_review(user, conversation: Conversation) -> bool:
    return conversation.created_by_id == user.pk or may_review_others(user)


def review(
    conversation: Conversation | uuid.UUID,
    user,
    action: str,
    comment: str = "",
    reasons: Sequence[str] = (),
    *,
    expected_status: str | None = None,
    say_why: bool = True,
) -> Conversation:
    """Record ``user``'s action on the conversation and set its review status; the row
    (as updated) is returned. Raises ``InvalidReview``, ``ReviewForbidden``,
    ``NotReviewable``, ``NotFound`` or ``ReviewConflict`` (code ``claimed``: another
    reviewer holds it; ``review_changed``: it is not in ``expected_status`` any more)."""
    reasons = check_review(action, comment, reasons, say_why=say_why)
    pk = conversation.pk if isinstance(conversation, Conversation) else conversation
    now = timezone.now()
    with transaction.atomic():
        row = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("review_claimed_by")
            .filter(pk=pk, is_active=True)
            .first()
        )
        if row is None:
            raise NotFound("Conversation not found.", missing=[str(pk)])
        if not may_review(user, row):
            raise ReviewForbidden(
                "Only its owner, or a user with the permission to review others' "
                "conversations, may review this conversation."
            )
        if row.review_status is None:
            raise NotReviewable(
                "This conversation is not enriched yet, so there is nothing to review "
                f"(enrichment status: {row.enrichment_status})."
            )
        if claim_is_live(row, now) and row.review_claimed_by_id != user.pk:
            raise ReviewConflict(
                f"{_username(row.review_claimed_by)} is reviewing this conversation right now.",
                code="claimed",
                conversation=row,
            )
        if expected_status is not None and row.review_status != expected_status:
            now_is = row.get_review_status_display().lower()
            raise ReviewConflict(
                f"It changed meanwhile: it is {now_is} now (enriched again, or a new revision)."
                if row.review_status == ReviewStatus.PENDING
                else f"It was reviewed meanwhile: it is {now_is} now.",
                code="review_changed",
                conversation=row,
            )
        row.review_status = STATUS_AFTER[ReviewActionKind(action)]
        if action == ReviewActionKind.APPROVED:
            row.approved_by, row.approved_at = user, now
        else:
            row.approved_by, row.approved_at = None, None
        row.reviewer_notes = comment
        row.review_claimed_by, row.review_claimed_until = None, None
        row.save(
            update_fields=[
                "review_status",
                "approved_by",
                "approved_at",
                "reviewer_notes",
                "review_claimed_by",
                "review_claimed_until",
                "updated_at",
            ]
        )
        ReviewAction.objects.create(
            conversation=row,
            reviewer=user,
            action=action,
            comment=comment,
            reasons=reasons,
            created_at=now,
        )
    return row


@dataclass(frozen=True)
class ReviewResult:
    """One conversation's result in a bulk review."""

    pk: uuid.UUID
    conversation_id: uuid.UUID
    sent_id: str
    reviewed: bool
    review_status: str | None
    code: str = ""
    error: str = ""


def review_many(
    conversations: Iterable[tuple[Conversation, str]],
    user,
    action: str,
    comment: str = "",
    reasons: Sequence[str] = (),
    *,
    expected_status: str | None = None,
    expected_statuses: Mapping[uuid.UUID, str] | None = None,
    say_why: bool = True,
) -> list[ReviewResult]:
    """The same action on each conversation (given with the id it was sent as), each in
    its own transaction: one that cannot be reviewed (someone else's claim, not enriched,
    not yours) is reported and never stops the others. ``expected_statuses`` (by row id)
    or else ``expected_status`` is the review status the caller saw: a conversation that
    is not in it any more is left as it is and reported (``review_changed``), so that a
    bulk action never silently overrides another reviewer's decision."""
    reasons = check_review(action, comment, reasons, say_why=say_why)
    results = []
    for conversation, sent in conversations:
        expected = (expected_statuses or {}).get(conversation.pk, expected_status)
        try:
            row = review(conversation, user, action, comment, reasons, expected_status=expected)
        except DomainError as exc:
            status = getattr(exc, "review_status", conversation.review_status)
            results.append(
                ReviewResult(
                    conversation.pk,
                    conversation.conversation_id,
                    sent,
                    False,
                    status,
                    exc.code,
                    exc.message,
                )
            )
        else:
            results.append(ReviewResult(row.pk, row.conversation_id, sent, True, row.review_status))
    return results


def _free_for(user, now) -> Q:
    return (
        Q(review_claimed_by__isnull=True)
        | Q(review_claimed_until__lte=now)
        | Q(review_claimed_by=user)
    )


def next_for_review(
    user, filters: QueueFilters, *, skip: Iterable[uuid.UUID] = ()
) -> Conversation | None:
    """Claim the first conversation of ``user``'s queue that no other reviewer holds
    (one the user already holds first) and return it; ``None`` when none is left.

    Rows another transaction is claiming are passed over (``SKIP LOCKED``), so two
    reviewers asking at the same moment get two different conversations."""
    now = timezone.now()
    rows = queue(user, filters).exclude(pk__in=list(skip))
    with transaction.atomic():
        held = rows.filter(review_claimed_by=user, review_claimed_until__gt=now)
        pk = None
        for candidates in (held, rows.filter(_free_for(user, now))):
            pk = (
                candidates.select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)
                .first()
            )
            if pk is not None:
                break
        if pk is None:
            return None
        Conversation.objects.filter(pk=pk).update(
            review_claimed_by=user, review_claimed_until=claim_expiry(now)
        )
    return Conversation.objects.select_related("review_claimed_by").get(pk=pk)


def claim(conversation: Conversation, user) -> Conversation:
    """Claim this conversation for ``user`` unless another reviewer's claim is live; the
    row is returned as it is now (``review_claimed_by`` says who holds it)."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("review_claimed_by")
            .get(pk=conversation.pk)
        )
        free = not claim_is_live(row, now) or row.review_claimed_by_id == user.pk
        if row.review_status is not None and may_review(user, row) and free:
            row.review_claimed_by, row.review_claimed_until = user, claim_expiry(now)
            row.save(update_fields=["review_claimed_by", "review_claimed_until", "updated_at"])
    return row


def release(conversation_pk: uuid.UUID, user) -> bool:
    """Give back ``user``'s claim on the conversation (skipping it); other claims stay."""
    released = Conversation.objects.filter(pk=conversation_pk, review_claimed_by=user).update(
        review_claimed_by=None, review_claimed_until=None
    )
    return released > 0


def history(conversation: Conversation) -> list[ReviewAction]:
    """Its review actions, newest first."""
    return list(conversation.review_actions.select_related("reviewer"))
