"""Revisions of a conversation's document: the first is what came in, each later one an
edit or a replacement, stored at a path of its own. Nothing is overwritten: every
revision stays downloadable byte for byte. The conversation's ``revision`` is the one
enrichment reads (its ``file_path``)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.constraints import check_choices


class RevisionSource(models.TextChoices):
    INTAKE = "intake", "Intake"
    EDIT = "edit", "Edit"
    REPLACE = "replace", "Replacement"


class ConversationRevision(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="revisions"
    )
    number = models.PositiveIntegerField()
    # Where its bytes are stored (the first: the reply as it came, ``raw_response_path``).
    path = models.CharField(max_length=500)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    # What a download says it is: JSON, or text for a reply that came in unparseable.
    content_type = models.CharField(max_length=100, default="application/json")
    source = models.CharField(max_length=20, choices=RevisionSource.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who made it; empty for what came in through intake.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "conversation_revisions"
        ordering = ["conversation", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "number"], name="conversation_revision_unique"
            ),
            models.CheckConstraint(
                condition=check_choices("source", RevisionSource),
                name="conversation_revision_source_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Revision {self.number} of {self.conversation_id}"
