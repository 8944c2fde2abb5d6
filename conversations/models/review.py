"""Review: what a person decided about an enriched conversation, and the history of those
decisions. The status lives on the conversation (``Conversation.review_status``); every
action is kept as a ``ReviewAction``, so a conversation enriched again goes back to
``pending_review`` with its history intact."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.constraints import check_choices


class ReviewStatus(models.TextChoices):
    PENDING = "pending_review", "Pending review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    NEEDS_REVISION = "needs_revision", "Needs revision"


class ReviewActionKind(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    REVISION_REQUESTED = "revision_requested", "Revision requested"
    # The system's: an enrichment put a reviewed conversation back in the queue.
    MOVED_TO_REVIEW = "moved_to_review", "Moved back to review"


# The status each person's action leaves the conversation in.
STATUS_AFTER = {
    ReviewActionKind.APPROVED: ReviewStatus.APPROVED,
    ReviewActionKind.REJECTED: ReviewStatus.REJECTED,
    ReviewActionKind.REVISION_REQUESTED: ReviewStatus.NEEDS_REVISION,
}


class ReviewReason(models.TextChoices):
    TONE = "tone", "Tone"
    ACCURACY = "accuracy", "Accuracy"
    EMOTIONAL_ARC = "emotional_arc", "Emotional arc"
    PERSONA_DRIFT = "persona_drift", "Persona drift"
    FORMATTING = "formatting", "Formatting"
    SAFETY = "safety", "Safety"
    OTHER = "other", "Other"


class ReviewAction(models.Model):
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="review_actions"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_actions",
        help_text="Empty for the system's actions.",
    )
    action = models.CharField(max_length=30, choices=ReviewActionKind.choices)
    comment = models.TextField(blank=True)
    reasons = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "conversation_review_actions"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="review_action_conv_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=check_choices("action", ReviewActionKind),
                name="review_actions_action_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.conversation_id}"


# The review queue's indexes (on ``conversations``; partial: only enriched rows): one
# status, oldest or lowest quality first (walked backwards: newest first); highest quality
# first with the unscored last; the statistics read from an index alone (owner, status,
# quality and age), and a reviewer's own claims (partial: only claimed rows).
REVIEW_INDEXES = [
    models.Index(
        fields=["review_status", "enriched_at", "id"],
        name="conv_review_idx",
        condition=Q(review_status__isnull=False),
    ),
    models.Index(
        fields=["review_status", "quality_score", "enriched_at", "id"],
        name="conv_review_quality_idx",
        condition=Q(review_status__isnull=False),
    ),
    models.Index(
        F("review_status"),
        F("quality_score").desc(nulls_last=True),
        F("enriched_at").desc(),
        F("id").desc(),
        name="conv_review_quality_desc_idx",
        condition=Q(review_status__isnull=False),
    ),
    models.Index(
        fields=["created_by", "review_status"],
        include=["quality_score", "enriched_at"],
        name="conv_review_stats_idx",
        condition=Q(review_status__isnull=False, is_active=True),
    ),
    models.Index(
        fields=["review_claimed_by"],
        name="conv_review_claim_idx",
        condition=Q(review_claimed_by__isnull=False),
    ),
]
