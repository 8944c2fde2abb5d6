"""Conversations and the scaffolding they were generated from.

Table and column names mirror the original system's tables (DOMAIN.md §1), so the
app could be pointed at them.
"""

import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ScaffoldingRow(models.Model):
    """Columns every scaffolding table shares; the rest of a row stays in ``data``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class Persona(ScaffoldingRow):
    persona_key = models.SlugField(max_length=100, unique=True)
    archetype = models.CharField(max_length=255, blank=True)
    demographics = models.JSONField(null=True, blank=True)
    financial_background = models.TextField(blank=True)

    class Meta:
        db_table = "personas"
        ordering = ["name"]


class EmotionalArc(ScaffoldingRow):
    arc_key = models.SlugField(max_length=100, unique=True)
    starting_emotion = models.CharField(max_length=100, blank=True)
    ending_emotion = models.CharField(max_length=100, blank=True)

    class Meta:
        db_table = "emotional_arcs"
        ordering = ["name"]


class TrainingTopic(ScaffoldingRow):
    topic_key = models.SlugField(max_length=100, unique=True)
    category = models.CharField(max_length=100, blank=True)
    complexity_level = models.CharField(max_length=50, blank=True)

    class Meta:
        db_table = "training_topics"
        ordering = ["name"]


class PromptTemplate(ScaffoldingRow):
    name = models.CharField(max_length=255, db_column="template_name", unique=True)
    category = models.CharField(max_length=100, blank=True)
    tier = models.CharField(max_length=20, blank=True)
    emotional_arc_type = models.CharField(max_length=100, blank=True, db_index=True)
    suitable_personas = models.JSONField(default=list, blank=True)
    suitable_topics = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "prompt_templates"
        ordering = ["name"]

    @property
    def template_name(self) -> str:
        return self.name


class Tier(models.TextChoices):
    TEMPLATE = "template", "Template"
    SCENARIO = "scenario", "Scenario"
    EDGE_CASE = "edge_case", "Edge case"


class ProcessingStatus(models.TextChoices):
    RAW_STORED = "raw_stored", "Raw stored"
    COMPLETED = "completed", "Parsed"
    PARSE_FAILED = "parse_failed", "Parse failed"


class EnrichmentStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    VALIDATION_FAILED = "validation_failed", "Validation failed"
    VALIDATED = "validated", "Validated"
    IN_PROGRESS = "enrichment_in_progress", "Enriching"
    ENRICHED = "enriched", "Enriched (not stored)"
    NORMALIZATION_FAILED = "normalization_failed", "Normalization failed"
    ENRICHMENT_FAILED = "enrichment_failed", "Enrichment failed"
    COMPLETED = "completed", "Completed"

    @classmethod
    def failed(cls) -> list[str]:
        return [cls.VALIDATION_FAILED, cls.NORMALIZATION_FAILED, cls.ENRICHMENT_FAILED]


class ErrorCategory(models.TextChoices):
    VALIDATION = "validation", "Validation"
    NORMALIZATION = "normalization", "Normalization"
    MISSING_INPUT = "missing_input", "Missing input"
    STORAGE = "storage", "Storage"
    INTERNAL = "internal", "Internal error"


def _check_choices(field: str, choices: type[models.TextChoices], *, nullable: bool = False) -> Q:
    condition = Q(**{f"{field}__in": choices.values})
    if nullable:
        condition |= Q(**{f"{field}__isnull": True})
    return condition


class ConversationQuerySet(models.QuerySet["Conversation"]):
    def visible_to(self, user) -> "ConversationQuerySet":
        """Rows the user may see and act on: their own, or everything for staff."""
        active = self.filter(is_active=True)
        if user.is_staff:
            return active
        return active.filter(created_by=user)

    def with_ids(self, ids: Iterable[uuid.UUID | str]) -> "ConversationQuerySet":
        """Match either id form (row id or business ``conversation_id``) in one query."""
        ids = list(ids)
        return self.filter(Q(pk__in=ids) | Q(conversation_id__in=ids))

    def claimable(self, now=None) -> "ConversationQuerySet":
        """Not completed, and not held by a live lease."""
        now = now or timezone.now()
        return self.exclude(enrichment_status=EnrichmentStatus.COMPLETED).exclude(
            enrichment_status=EnrichmentStatus.IN_PROGRESS, enrichment_lease_expires_at__gt=now
        )

    def failed(self) -> "ConversationQuerySet":
        return self.filter(enrichment_status__in=EnrichmentStatus.failed())

    def eligible_for_training(self) -> "ConversationQuerySet":
        """Completed with an enriched file: what a training file may hold."""
        return self.filter(enrichment_status=EnrichmentStatus.COMPLETED).exclude(
            enriched_file_path=""
        )


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
        help_text="Owner; empty for rows created by the system.",
    )
    is_active = models.BooleanField(default=True)

    persona = models.ForeignKey(Persona, null=True, blank=True, on_delete=models.SET_NULL)
    emotional_arc = models.ForeignKey(
        EmotionalArc, null=True, blank=True, on_delete=models.SET_NULL
    )
    training_topic = models.ForeignKey(
        TrainingTopic, null=True, blank=True, on_delete=models.SET_NULL
    )
    template = models.ForeignKey(PromptTemplate, null=True, blank=True, on_delete=models.SET_NULL)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.TEMPLATE)

    conversation_name = models.CharField(max_length=255, blank=True)
    turn_count = models.PositiveIntegerField(default=0)
    quality_score = models.FloatField(null=True, blank=True)

    raw_response_path = models.CharField(max_length=500, blank=True)
    raw_response_size = models.PositiveBigIntegerField(null=True, blank=True)
    file_path = models.CharField(max_length=500, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    enriched_file_path = models.CharField(max_length=500, blank=True)
    enriched_file_size = models.PositiveBigIntegerField(null=True, blank=True)
    processing_status = models.CharField(
        max_length=20, choices=ProcessingStatus.choices, default=ProcessingStatus.RAW_STORED
    )

    enrichment_status = models.CharField(
        max_length=30, choices=EnrichmentStatus.choices, default=EnrichmentStatus.NOT_STARTED
    )
    validation_report = models.JSONField(null=True, blank=True)
    normalization_report = models.JSONField(null=True, blank=True)
    enrichment_error = models.TextField(null=True, blank=True)
    enrichment_error_category = models.CharField(
        max_length=20, choices=ErrorCategory.choices, null=True, blank=True
    )
    enrichment_lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Which claim holds the row: outcome writes are conditional on it, so a caller whose
    # lease expired and was taken over cannot overwrite the newer outcome.
    enrichment_claim_token = models.UUIDField(null=True, blank=True, editable=False)
    # The status the claim replaced, set in the same UPDATE, so a claim given back
    # unprocessed restores exactly what was there.
    enrichment_status_before_claim = models.CharField(max_length=30, blank=True, editable=False)
    enriched_at = models.DateTimeField(null=True, blank=True)
    enrichment_version = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        db_table = "conversations"
        ordering = ["-created_at", "-id"]
        permissions = [("enrich_conversation", "Can run enrichment on conversations")]
        indexes = [
            models.Index(fields=["enrichment_status"], name="conv_enrichment_status_idx"),
            models.Index(fields=["created_by", "enrichment_status"], name="conv_owner_status_idx"),
            models.Index(fields=["created_by", "-created_at"], name="conv_owner_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=_check_choices("enrichment_status", EnrichmentStatus),
                name="conversations_enrichment_status_valid",
            ),
            models.CheckConstraint(
                condition=_check_choices("processing_status", ProcessingStatus),
                name="conversations_processing_status_valid",
            ),
            models.CheckConstraint(
                condition=_check_choices("tier", Tier), name="conversations_tier_valid"
            ),
            models.CheckConstraint(
                condition=_check_choices("enrichment_error_category", ErrorCategory, nullable=True),
                name="conversations_error_category_valid",
            ),
            models.CheckConstraint(
                condition=Q(quality_score__isnull=True)
                | Q(quality_score__gte=0, quality_score__lte=5),
                name="conversations_quality_score_range",
            ),
        ]

    def __str__(self) -> str:
        return self.conversation_name or f"Conversation {self.conversation_id}"

    @property
    def display_name(self) -> str:
        return self.conversation_name or "Untitled"

    @property
    def owner_segment(self) -> str:
        """The ``<owner>`` part of storage paths: owner id, nil UUID for system rows."""
        return str(self.created_by_id) if self.created_by_id else str(uuid.UUID(int=0))

    @property
    def is_completed(self) -> bool:
        return self.enrichment_status == EnrichmentStatus.COMPLETED

    @property
    def is_eligible_for_training(self) -> bool:
        """The instance twin of ``ConversationQuerySet.eligible_for_training``."""
        return self.is_completed and bool(self.enriched_file_path)

    @property
    def needs_retry(self) -> bool:
        return self.enrichment_status in EnrichmentStatus.failed()

    def lease_is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.enrichment_status == EnrichmentStatus.IN_PROGRESS
            and self.enrichment_lease_expires_at is not None
            and self.enrichment_lease_expires_at > now
        )

    @property
    def can_enrich(self) -> bool:
        return not self.is_completed and not self.lease_is_live()


def lease_expiry(now=None):
    return (now or timezone.now()) + timedelta(seconds=settings.ENRICHMENT_LEASE_SECONDS)


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"

    @classmethod
    def finished(cls) -> list[str]:
        return [cls.COMPLETED, cls.CANCELLED, cls.FAILED]


class RunSource(models.TextChoices):
    API = "api", "API"
    PAGE = "page", "Page"
    ADMIN = "admin", "Admin"
    CLI = "cli", "Command line"
    AUTO = "auto", "Automatic"


class ItemOutcome(models.TextChoices):
    PENDING = "pending", "Pending"
    ENRICHED = "enriched", "Enriched"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class EnrichmentRunQuerySet(models.QuerySet["EnrichmentRun"]):
    def visible_to(self, user) -> "EnrichmentRunQuerySet":
        if user.is_staff:
            return self.all()
        return self.filter(created_by=user)

    def unfinished(self) -> "EnrichmentRunQuerySet":
        return self.exclude(status__in=RunStatus.finished())


class EnrichmentRun(models.Model):
    """A background enrichment of any number of conversations, with stored progress."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="enrichment_runs",
    )
    source = models.CharField(max_length=10, choices=RunSource.choices)
    # A plain id, not a foreign key: the enrichment app never depends on batches.
    batch_job_id = models.UUIDField(null=True, blank=True, db_index=True)
    description = models.CharField(max_length=255, blank=True)
    force = models.BooleanField(default=False)
    retry_failed = models.BooleanField(
        default=True, help_text="Re-enrich conversations that failed before (else skip them)."
    )
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    enriched = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EnrichmentRunQuerySet.as_manager()

    class Meta:
        db_table = "enrichment_runs"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"], name="enrichment_run_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=_check_choices("status", RunStatus), name="enrichment_runs_status_valid"
            ),
            models.CheckConstraint(
                condition=_check_choices("source", RunSource), name="enrichment_runs_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    enriched__lte=models.F("total") - models.F("failed") - models.F("skipped")
                ),
                name="enrichment_runs_counts_within_total",
            ),
        ]

    def __str__(self) -> str:
        return self.description or f"Enrichment run {self.pk}"

    @property
    def processed(self) -> int:
        return self.enriched + self.failed + self.skipped

    @property
    def remaining(self) -> int:
        return max(self.total - self.processed, 0)

    @property
    def progress_percent(self) -> int:
        return round(100 * self.processed / self.total) if self.total else 100

    @property
    def is_finished(self) -> bool:
        return self.status in RunStatus.finished()

    def eta_seconds(self, now=None) -> int | None:
        """Remaining time at the rate so far; None until there is a rate."""
        if self.is_finished or not self.started_at or not self.processed:
            return None
        elapsed = ((now or timezone.now()) - self.started_at).total_seconds()
        return round(elapsed / self.processed * self.remaining)


class EnrichmentRunItem(models.Model):
    """One conversation of a run and what happened to it."""

    run = models.ForeignKey(EnrichmentRun, on_delete=models.CASCADE, related_name="items")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="run_items"
    )
    position = models.PositiveIntegerField()
    outcome = models.CharField(
        max_length=10, choices=ItemOutcome.choices, default=ItemOutcome.PENDING
    )
    enrichment_status = models.CharField(max_length=30, blank=True)
    error = models.TextField(null=True, blank=True)
    error_category = models.CharField(max_length=20, null=True, blank=True)
    reason = models.CharField(max_length=30, null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    # A worker's hold on the item; once it expires another worker may take the item over.
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "enrichment_run_items"
        ordering = ["run", "position"]
        indexes = [
            models.Index(fields=["run", "outcome", "position"], name="run_item_outcome_idx"),
            models.Index(fields=["claim_token"], name="run_item_claim_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["run", "conversation"], name="run_items_unique"),
            models.CheckConstraint(
                condition=_check_choices("outcome", ItemOutcome), name="run_items_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} #{self.position}"
