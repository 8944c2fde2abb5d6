"""Review: what a person decided about an enriched conversation, and the history of those
decisions. The status lives on the conversation (``Conversation.review_status``); every
action is kept as a ``ReviewAction``, so a conversation enriched again goes back to
``pending_review`` with its history intact."""

from django.conf import settings
from django.db import models
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
