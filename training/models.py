"""Training files: named, growing sets of enriched conversations aggregated into
fine-tuning datasets (DOMAIN.md §9).

Table and column names are the original's (``training_files``,
``training_file_conversations``); the columns it lacked (the chat-format file, build
progress and the failure reason) are added next to them.
"""

import uuid
from collections.abc import Sequence
from functools import cached_property

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from conversations.models import Conversation
from core.background import live_workers

STORAGE_FOLDER = "training-files"


class TrainingFileStatus(models.TextChoices):
    PROCESSING = "processing", "Building"
    ACTIVE = "active", "Active"
    FAILED = "failed", "Failed"
    ARCHIVED = "archived", "Archived"


class QualityTier(models.TextChoices):
    """The tiers a file may require at least, lowest first (``rejected`` is below all;
    ``exports`` says which scores each takes)."""

    EXPERIMENTAL = "experimental", "Experimental or better (score ≥ 2.5, or none)"
    PRODUCTION = "production", "Production or better (score ≥ 3.5)"
    SEED_DATASET = "seed_dataset", "Seed dataset (score ≥ 4.5)"


class FileFormat(models.TextChoices):
    """The formats a training file is downloaded in (``?format=``)."""

    JSON = "json", "Full JSON (brightrun-lora-v4)"
    JSONL = "jsonl", "Training pairs (JSONL)"
    CHAT_JSONL = "chat-jsonl", "Chat messages (JSONL)"


def empty_distribution() -> dict:
    return {"personas": {}, "emotional_arcs": {}, "training_topics": {}}


class TrainingFileQuerySet(models.QuerySet["TrainingFile"]):
    def visible_to(self, user) -> "TrainingFileQuerySet":
        """Files the user may see and act on: their own, or everything for staff."""
        if user.is_staff:
            return self.all()
        return self.filter(created_by=user)


def note_workers(files: Sequence["TrainingFile"]) -> None:
    """Set ``waiting_for_worker`` on a page of files, with one query (none when no file
    of the page is being built)."""
    alive = live_workers() > 0 if any(f.is_processing for f in files) else True
    for training_file in files:
        training_file.__dict__["waiting_for_worker"] = training_file.is_processing and not alive


def count_members(files: Sequence["TrainingFile"]) -> None:
    """Set ``member_count`` on a page of files, in one query. Counting in the list's own
    query (``annotate(Count(...))``) groups every visible file's members before the page
    is cut, and its paginator's count groups them all again."""
    counts = dict(
        TrainingFileConversation.objects.filter(training_file__in=[f.pk for f in files])
        .order_by()
        .values_list("training_file")
        .annotate(count=models.Count("pk"))
    )
    for training_file in files:
        training_file.member_count = counts.get(training_file.pk, 0)


class TrainingFile(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=TrainingFileStatus.choices, default=TrainingFileStatus.PROCESSING
    )
    # Paths relative to the storage root (they start with ``storage_bucket``); empty
    # until the first build succeeds. Each build writes under a new name, so readers
    # always get one whole build.
    json_file_path = models.CharField(max_length=500, blank=True)
    jsonl_file_path = models.CharField(max_length=500, blank=True)
    chat_jsonl_file_path = models.CharField(max_length=500, blank=True)
    storage_bucket = models.CharField(max_length=100, default=STORAGE_FOLDER)
    json_file_size = models.PositiveBigIntegerField(null=True, blank=True)
    jsonl_file_size = models.PositiveBigIntegerField(null=True, blank=True)
    chat_jsonl_file_size = models.PositiveBigIntegerField(null=True, blank=True)
    # What the stored files hold (the last successful build).
    conversation_count = models.PositiveIntegerField(default=0)
    total_training_pairs = models.PositiveIntegerField(default=0)
    avg_quality_score = models.FloatField(null=True, blank=True)
    min_quality_score = models.FloatField(null=True, blank=True)
    max_quality_score = models.FloatField(null=True, blank=True)
    human_reviewed_count = models.PositiveIntegerField(default=0)
    # Only conversations a person approved may be members (review).
    approved_only = models.BooleanField(default=False)
    # Only conversations of this quality tier or better may be members (blank: any).
    min_quality_tier = models.CharField(
        max_length=20, choices=QualityTier.choices, blank=True, default=""
    )
    # The share of members in the validation split (``exports.split_of``); null: no split.
    validation_fraction = models.FloatField(null=True, blank=True)
    # The split files of the last build: {split: {"conversations", "training_pairs",
    # "paths": {format: path}, "sizes": {format: size}}}; empty without a split.
    splits = models.JSONField(default=dict, blank=True)
    scaffolding_distribution = models.JSONField(default=empty_distribution, blank=True)
    last_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the stored files were last built."
    )
    # Every change of the members (or a rebuild) bumps the generation; a build only
    # records its files if the generation it started from is still current.
    build_generation = models.PositiveIntegerField(default=0, editable=False)
    build_total = models.PositiveIntegerField(default=0)
    build_done = models.PositiveIntegerField(default=0)
    build_started_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Why the last build failed.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="training_files",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TrainingFileQuerySet.as_manager()

    class Meta:
        db_table = "training_files"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "name"], name="training_files_name_unique_per_owner"
            ),
            # Files without an owner (made on the command line) share one namespace.
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(created_by__isnull=True),
                name="training_files_name_unique_without_owner",
            ),
            models.CheckConstraint(
                condition=Q(status__in=TrainingFileStatus.values),
                name="training_files_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(validation_fraction__isnull=True)
                | Q(validation_fraction__gt=0, validation_fraction__lt=1),
                name="training_files_validation_fraction_range",
            ),
            models.CheckConstraint(
                condition=Q(min_quality_tier__in=["", *QualityTier.values]),
                name="training_files_min_quality_tier_valid",
            ),
            models.CheckConstraint(
                condition=Q(build_done__lte=models.F("build_total")),
                name="training_files_build_progress_within_total",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_processing(self) -> bool:
        return self.status == TrainingFileStatus.PROCESSING

    @property
    def is_archived(self) -> bool:
        return self.status == TrainingFileStatus.ARCHIVED

    @cached_property
    def waiting_for_worker(self) -> bool:
        """Being built while no worker runs: nothing builds it until one starts."""
        return self.is_processing and live_workers() == 0

    @property
    def is_built(self) -> bool:
        return bool(self.json_file_path)

    @property
    def build_percent(self) -> int:
        return round(100 * self.build_done / self.build_total) if self.build_total else 0

    def path_for(self, file_format: str) -> str:
        return {
            FileFormat.JSON: self.json_file_path,
            FileFormat.JSONL: self.jsonl_file_path,
            FileFormat.CHAT_JSONL: self.chat_jsonl_file_path,
        }[file_format]

    def size_for(self, file_format: str) -> int | None:
        return {
            FileFormat.JSON: self.json_file_size,
            FileFormat.JSONL: self.jsonl_file_size,
            FileFormat.CHAT_JSONL: self.chat_jsonl_file_size,
        }[file_format]

    def split_path_for(self, split: str, file_format: str) -> str:
        return (self.splits or {}).get(split, {}).get("paths", {}).get(file_format, "")

    @property
    def stored_paths(self) -> list[str]:
        paths = [self.json_file_path, self.jsonl_file_path, self.chat_jsonl_file_path]
        for split in (self.splits or {}).values():
            paths.extend(split.get("paths", {}).values())
        return [path for path in paths if path]


class TrainingFileConversation(models.Model):
    """A conversation in a training file; the row id grows in the order they were added."""

    training_file = models.ForeignKey(
        TrainingFile, on_delete=models.CASCADE, related_name="memberships"
    )
    # The business id, as in the original's column.
    conversation = models.ForeignKey(
        Conversation,
        to_field="conversation_id",
        db_column="conversation_id",
        on_delete=models.CASCADE,
        related_name="training_memberships",
    )
    added_at = models.DateTimeField(default=timezone.now)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        db_table = "training_file_conversations"
        ordering = ["training_file", "id"]
        indexes = [
            models.Index(fields=["training_file", "id"], name="training_member_order_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["training_file", "conversation"],
                name="training_file_conversations_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.training_file_id} ∋ {self.conversation_id}"
