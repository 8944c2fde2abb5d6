"""Background enrichment runs and their items."""

import uuid
from functools import cached_property

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from conversations.models import BatchJob, Conversation, ErrorCategory
from core.background import live_workers
from core.constraints import check_choices

from .skips import skipped_text


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

    def of_batch_job(self, job_id: uuid.UUID) -> "EnrichmentRunQuerySet":
        return self.filter(batch_job_id=job_id)


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
    # The batch job the run enriches, when it is over one ("Enrich All", auto-enrich): at
    # most one unfinished run per job. Runs outlive the jobs they were over.
    batch_job = models.ForeignKey(
        BatchJob,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="enrichment_runs",
    )
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
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EnrichmentRunQuerySet.as_manager()

    class Meta:
        db_table = "enrichment_runs"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status"], name="enrichment_run_status_idx"),
            models.Index(fields=["batch_job", "-created_at"], name="enrichment_run_job_idx"),
        ]
        constraints = [
            # A second "enrich this batch job" while one runs finds this one instead, from
            # whichever entry point and however the two requests race.
            models.UniqueConstraint(
                fields=["batch_job"],
                condition=Q(
                    status__in=[RunStatus.QUEUED, RunStatus.RUNNING], batch_job__isnull=False
                ),
                name="enrichment_runs_one_active_per_job",
            ),
            models.CheckConstraint(
                condition=check_choices("status", RunStatus), name="enrichment_runs_status_valid"
            ),
            models.CheckConstraint(
                condition=check_choices("source", RunSource), name="enrichment_runs_source_valid"
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

    @cached_property
    def skip_reasons(self) -> dict[str | None, int]:
        """How many of its items were skipped for each reason (a query, only when some
        were)."""
        if not self.skipped:
            return {}
        rows = (
            self.items.filter(outcome=ItemOutcome.SKIPPED)
            .values_list("reason")
            .annotate(count=models.Count("pk"))
            .order_by()
        )
        return dict(rows)

    @property
    def skipped_text(self) -> str:
        """The skipped count with why: "2 (2 already enriched)"."""
        return skipped_text(self.skipped, self.skip_reasons)

    @property
    def remaining(self) -> int:
        return max(self.total - self.processed, 0)

    @property
    def progress_percent(self) -> int:
        return round(100 * self.processed / self.total) if self.total else 100

    @property
    def is_finished(self) -> bool:
        return self.status in RunStatus.finished()

    @cached_property
    def waiting_for_worker(self) -> bool:
        """Unfinished while no worker runs: nothing works on it until one starts."""
        return not self.is_finished and live_workers() == 0

    def eta_seconds(self, now=None) -> int | None:
        """Remaining time at the rate so far; None until there is a rate, and while no
        worker runs (the rate so far says nothing then)."""
        if self.is_finished or not self.started_at or not self.processed:
            return None
        if self.waiting_for_worker:
            return None
        elapsed = ((now or timezone.now()) - self.started_at).total_seconds()
        return round(elapsed / self.processed * self.remaining)


class EnrichmentRunItemQuerySet(models.QuerySet["EnrichmentRunItem"]):
    def pending(self) -> "EnrichmentRunItemQuerySet":
        return self.filter(outcome=ItemOutcome.PENDING)

    def claimable(self) -> "EnrichmentRunItemQuerySet":
        """Pending and not held by a job of the run (twin: ``EnrichmentRunItem.is_claimable``)."""
        return self.pending().filter(claim_token__isnull=True)

    def held_by(self, token) -> "EnrichmentRunItemQuerySet":
        return self.filter(claim_token=token)


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
    error_category = models.CharField(
        max_length=20, choices=ErrorCategory.choices, null=True, blank=True
    )
    reason = models.CharField(max_length=30, null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    # The try of the job working on the item (``core.background.attempt_token``): the next
    # try of the same job gives it back if that worker died.
    claim_token = models.UUIDField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = EnrichmentRunItemQuerySet.as_manager()

    class Meta:
        db_table = "enrichment_run_items"
        ordering = ["run", "position"]
        indexes = [
            models.Index(fields=["run", "outcome", "position"], name="run_item_outcome_idx"),
            # A run's items in order, a page at a time (the run items API).
            models.Index(fields=["run", "position"], name="run_item_position_idx"),
            models.Index(fields=["claim_token"], name="run_item_claim_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["run", "conversation"], name="run_items_unique"),
            models.CheckConstraint(
                condition=check_choices("outcome", ItemOutcome), name="run_items_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} #{self.position}"

    @property
    def is_claimable(self) -> bool:
        return self.outcome == ItemOutcome.PENDING and self.claim_token is None
