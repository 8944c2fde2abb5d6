"""Batch jobs: sets of conversations generated together (DOMAIN.md §7)."""

import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q

from .conversations import Conversation, Tier


class BatchJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"

    @classmethod
    def finished(cls) -> list[str]:
        return [cls.COMPLETED, cls.FAILED, cls.CANCELLED]


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"


class BatchItemStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    # Ended without being generated: its job was cancelled before it was (generation).
    CANCELLED = "cancelled", "Cancelled"

    @classmethod
    def ended(cls) -> list[str]:
        """An item has ended once it is completed, failed or cancelled."""
        return [cls.COMPLETED, cls.FAILED, cls.CANCELLED]


class BatchJobQuerySet(models.QuerySet["BatchJob"]):
    def visible_to(self, user) -> "BatchJobQuerySet":
        if user.is_staff:
            return self.all()
        return self.filter(created_by=user)

    def holding_conversations_of(self, user) -> "BatchJobQuerySet":
        """Jobs with at least one conversation ``user`` may see (a few index probes per job,
        where a join from the conversations would read all of them)."""
        visible = Conversation.objects.visible_to(user).filter(pk=OuterRef("conversation_id"))
        holding = BatchItem.objects.filter(batch_job=OuterRef("pk")).filter(Exists(visible))
        return self.filter(Exists(holding))


def jobs_of(conversation_pks: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[tuple]]:
    """The batch jobs each conversation belongs to, ``(id, name)`` oldest first, in one
    query."""
    rows = (
        BatchItem.objects.filter(conversation_id__in=list(conversation_pks))
        .order_by("batch_job__created_at", "position")
        .values_list("conversation_id", "batch_job_id", "batch_job__name")
    )
    jobs: dict[uuid.UUID, list[tuple]] = {}
    for conversation_id, job_id, name in rows:
        listed = jobs.setdefault(conversation_id, [])
        if all(job[0] != job_id for job in listed):
            listed.append((job_id, name))
    return jobs


# A job's conversation counts (see the fields).
COUNT_FIELDS = ("conversations_total", "conversations_enriched", "conversations_failed")


class BatchJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    job_type = models.CharField(max_length=30, default="generation")
    status = models.CharField(
        max_length=20, choices=BatchJobStatus.choices, default=BatchJobStatus.QUEUED
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    total_items = models.PositiveIntegerField("items", default=0)
    completed_items = models.PositiveIntegerField(
        default=0, help_text="Items ended so far: successful, failed or cancelled."
    )
    successful_items = models.PositiveIntegerField("successful", default=0)
    failed_items = models.PositiveIntegerField(
        "generation failed", default=0, help_text="Items whose generation failed."
    )
    duplicate_items = models.PositiveIntegerField(
        default=0, help_text="Items left out because the same content was imported before."
    )
    tier = models.CharField(max_length=20, choices=Tier.choices, blank=True)
    shared_parameters = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="batch_jobs",
    )
    auto_enrich = models.BooleanField(
        default=True,
        help_text="Enrich the job's successful conversations in the background when it ends.",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    estimated_time_remaining = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The job's successful conversations (active ones, each once) by enrichment state,
    # changed in the same transaction as whatever changes them (``conversations.counts``),
    # so that no page counts a big job's rows.
    conversations_total = models.PositiveIntegerField(default=0, editable=False)
    conversations_enriched = models.PositiveIntegerField(default=0, editable=False)
    conversations_failed = models.PositiveIntegerField(default=0, editable=False)

    objects = BatchJobQuerySet.as_manager()

    class Meta:
        db_table = "batch_jobs"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="batch_job_owner_created_idx"),
            models.Index(fields=["status"], name="batch_job_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=BatchJobStatus.values), name="batch_jobs_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=Priority.values), name="batch_jobs_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(tier__in=[*Tier.values, ""]), name="batch_jobs_tier_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, update_fields=None, **kwargs):
        """Only ``conversations.counts`` writes the counts, in SQL: saving a job read before
        they changed leaves them alone instead of writing its old ones back."""
        if update_fields is None and not self._state.adding:
            update_fields = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in COUNT_FIELDS
            ]
        super().save(*args, update_fields=update_fields, **kwargs)

    @property
    def remaining_items(self) -> int:
        return max(self.total_items - self.completed_items, 0)

    @property
    def cancelled_items(self) -> int:
        """Items that ended without being generated (their generation job was cancelled)."""
        return max(self.completed_items - self.successful_items - self.failed_items, 0)

    @property
    def progress_percent(self) -> int:
        if not self.total_items:
            return 0
        return round(100 * self.completed_items / self.total_items)

    @property
    def is_finished(self) -> bool:
        return self.status in BatchJobStatus.finished()


class BatchItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    batch_job = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    topic = models.CharField(max_length=255, blank=True)
    tier = models.CharField(max_length=20, choices=Tier.choices, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20, choices=BatchItemStatus.choices, default=BatchItemStatus.QUEUED
    )
    conversation = models.ForeignKey(
        Conversation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="batch_items",
    )
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "batch_items"
        ordering = ["batch_job", "position"]
        indexes = [
            models.Index(fields=["batch_job", "status"], name="batch_item_job_status_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["batch_job", "position"], name="batch_items_unique_position"
            ),
            models.CheckConstraint(condition=Q(position__gte=1), name="batch_items_position_1"),
            models.CheckConstraint(
                condition=Q(status__in=BatchItemStatus.values), name="batch_items_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(tier__in=[*Tier.values, ""]), name="batch_items_tier_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch_job} #{self.position}"
