"""Conversations: the rows enrichment works on, their statuses, and their claims (table
and column names mirror the original system's, DOMAIN.md §1)."""

import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, NullIf
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from core.constraints import check_choices

from .review import REVIEW_INDEXES, ReviewStatus
from .scaffolding import EmotionalArc, Persona, PromptTemplate, TrainingTopic


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


def _live_lease(now) -> Q:
    return Q(enrichment_status=EnrichmentStatus.IN_PROGRESS, enrichment_lease_expires_at__gt=now)


def lease_expiry(now=None):
    return (now or timezone.now()) + timedelta(seconds=settings.ENRICHMENT_LEASE_SECONDS)


class ConversationQuerySet(models.QuerySet["Conversation"]):
    def update(self, **fields) -> int:
        """Every write stamps ``updated_at`` (as ``save()`` does), so that counters kept
        elsewhere (a batch job's) can find the rows changed since they last looked."""
        fields.setdefault("updated_at", timezone.now())
        return super().update(**fields)

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

    def for_list(self) -> "ConversationQuerySet":
        """What a list of conversations shows: the persona joined, the reports (often
        tens of KB each, read only by a conversation's own page) left out."""
        return self.select_related("persona").defer("validation_report", "normalization_report")

    def in_batch_job(self, job_id: uuid.UUID) -> "ConversationQuerySet":
        """Every conversation of one of the job's items."""
        return self.filter(batch_items__batch_job_id=job_id).distinct()

    def of_completed_items(self, job_id: uuid.UUID) -> "ConversationQuerySet":
        """The active conversations of the job's successful items, in item order: what
        "enrich this job" acts on (a conversation in two items comes twice; callers keep
        the first)."""
        return self.filter(
            is_active=True,
            batch_items__batch_job_id=job_id,
            batch_items__status="completed",
        ).order_by("batch_items__position")

    def failed(self) -> "ConversationQuerySet":
        return self.filter(enrichment_status__in=EnrichmentStatus.failed())

    def failed_for_good(self) -> "ConversationQuerySet":
        """Failed in a way a retry repeats: their file is invalid (validation), so only a
        corrected file can change the outcome."""
        return self.filter(enrichment_status=EnrichmentStatus.VALIDATION_FAILED)

    def to_enrich(self) -> "ConversationQuerySet":
        """What an enrichment without ``force`` works on: all but the completed ones."""
        return self.exclude(enrichment_status=EnrichmentStatus.COMPLETED)

    def eligible_for_training(self) -> "ConversationQuerySet":
        """Completed with an enriched file: what a training file may hold."""
        return self.filter(enrichment_status=EnrichmentStatus.COMPLETED).exclude(
            enriched_file_path=""
        )

    # Claims and leases: a claim moves rows to ``enrichment_in_progress`` with a lease
    # (``enrichment_lease_expires_at``) and a token; outcome writes are conditional on the
    # token. A lease is live until it expires (twin: ``Conversation.lease_is_live``).

    def with_live_lease(self, now=None) -> "ConversationQuerySet":
        return self.filter(_live_lease(now or timezone.now()))

    def with_expired_claim(self, now=None) -> "ConversationQuerySet":
        """Held by a claim whose lease expired (its worker died)."""
        return self.filter(enrichment_status=EnrichmentStatus.IN_PROGRESS).exclude(
            _live_lease(now or timezone.now())
        )

    def claimable(self, now=None, *, force: bool = False) -> "ConversationQuerySet":
        """Not held by a live lease and, unless ``force``, not completed."""
        rows = self.exclude(_live_lease(now or timezone.now()))
        return rows if force else rows.exclude(enrichment_status=EnrichmentStatus.COMPLETED)

    def held_by(self, token: uuid.UUID) -> "ConversationQuerySet":
        return self.filter(enrichment_claim_token=token)

    def claim(self, token: uuid.UUID, now) -> int:
        """Claim these rows for ``token`` in one UPDATE; callers narrow them to
        ``claimable()`` first. Concurrent claims on PostgreSQL re-check the conditions
        after waiting for the row lock, so only one of them gets each row."""
        return self.update(
            # SQL reads every right-hand side from the row as it was, so this keeps the
            # old status even though the same statement overwrites it.
            enrichment_status_before_claim=F("enrichment_status"),
            enrichment_status=EnrichmentStatus.IN_PROGRESS,
            enrichment_lease_expires_at=lease_expiry(now),
            enrichment_claim_token=token,
            updated_at=now,
        )

    def release(self, now=None) -> int:
        """Give these claimed rows back in the state their claim found them."""
        return self.update(
            enrichment_status=Coalesce(
                NullIf(F("enrichment_status_before_claim"), Value("")),
                Value(EnrichmentStatus.NOT_STARTED.value),
            ),
            enrichment_lease_expires_at=None,
            enrichment_claim_token=None,
            updated_at=now or timezone.now(),
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
        db_index=False,  # the owner indexes below start with it
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
    revision = models.PositiveIntegerField(default=1)  # of ``file_path`` (``.revisions``)
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
    # SHA-256 of the imported content (``conversations.fingerprints``): finds re-imports.
    content_hash = models.CharField(max_length=64, blank=True, editable=False)
    enrichment_version = models.CharField(max_length=20, blank=True)
    # The latest failed attempt since the latest success. A completed conversation whose
    # re-enrichment fails keeps its status and enriched file, and the failure lands here
    # (for a failed one it repeats ``enrichment_error``); a success clears it.
    last_failure_error = models.TextField(null=True, blank=True)
    last_failure_category = models.CharField(
        max_length=20, choices=ErrorCategory.choices, null=True, blank=True
    )
    last_failed_at = models.DateTimeField(null=True, blank=True)
    # Review (``conversations.models.review``): empty until enriched, then pending.
    review_status = models.CharField(
        max_length=20, choices=ReviewStatus.choices, null=True, blank=True
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="approved_conversations",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    reviewer_notes = models.TextField(blank=True)
    # A reviewer's claim: the queue shows a claimed conversation to no one else until then.
    review_claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    review_claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        db_table = "conversations"
        ordering = ["-created_at", "-id"]
        permissions = [
            ("enrich_conversation", "Can run enrichment on conversations"),
            ("review_others_conversations", "Can review other users' conversations"),
        ]
        # Every list order is (column, created_at, id), all one way or all the other, so
        # one index per column serves both directions (ties on created_at, rare, are put
        # in order as they come), and the filter on that column in the newest-first order
        # too. The newest-first ones hold the id and end with ``is_active``, so that a
        # deep page is an index-only walk. Each index costs every status change a write
        # (see the scale benchmark in docs/benchmarks.md): no more than these. (A trigram
        # index on the name, for searching, is PostgreSQL's alone: see the migration
        # ``0009_list_indexes``.)
        indexes = [
            models.Index(fields=["created_at", "id", "is_active"], name="conv_created_idx"),
            models.Index(
                fields=["enrichment_status", "created_at"], name="conv_status_created_idx"
            ),
            models.Index(
                fields=["created_by", "created_at", "id", "is_active"],
                name="conv_owner_created_idx",
            ),
            models.Index(fields=["created_by", "enrichment_status"], name="conv_owner_status_idx"),
            models.Index(fields=["created_by", "content_hash"], name="conv_owner_content_hash_idx"),
            models.Index(fields=["conversation_name", "created_at"], name="conv_name_idx"),
            models.Index(fields=["tier", "created_at"], name="conv_tier_idx"),
            models.Index(fields=["turn_count", "created_at"], name="conv_turns_idx"),
            # The rows changed since a given time (what counters kept elsewhere look for).
            models.Index(fields=["updated_at"], name="conv_updated_idx"),
            *REVIEW_INDEXES,
        ]
        constraints = [
            models.CheckConstraint(
                condition=check_choices("enrichment_status", EnrichmentStatus),
                name="conversations_enrichment_status_valid",
            ),
            models.CheckConstraint(
                condition=check_choices("processing_status", ProcessingStatus),
                name="conversations_processing_status_valid",
            ),
            models.CheckConstraint(
                condition=check_choices("tier", Tier), name="conversations_tier_valid"
            ),
            models.CheckConstraint(
                condition=check_choices("enrichment_error_category", ErrorCategory, nullable=True),
                name="conversations_error_category_valid",
            ),
            models.CheckConstraint(
                condition=check_choices("last_failure_category", ErrorCategory, nullable=True),
                name="conversations_last_failure_category_valid",
            ),
            models.CheckConstraint(
                condition=check_choices("review_status", ReviewStatus, nullable=True),
                name="conversations_review_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(quality_score__isnull=True)
                | Q(quality_score__gte=0, quality_score__lte=5),
                name="conversations_quality_score_range",
            ),
        ]

    def __str__(self) -> str:
        return self.conversation_name or f"Conversation {self.conversation_id}"

    def get_absolute_url(self) -> str:
        return reverse("conversation-detail", args=[self.pk])

    @property
    def display_name(self) -> str:
        return self.conversation_name or "Untitled"

    def download_name(self, kind: str) -> str:
        """Its name made safe for a file (else its id), for a download of ``kind``."""
        stem = slugify(self.conversation_name)[:80].strip("-") or str(self.conversation_id)
        return f"{stem}.{kind}.json"

    @property
    def owner_segment(self) -> str:
        """The ``<owner>`` part of storage paths: owner id, nil UUID for system rows."""
        return str(self.created_by_id) if self.created_by_id else str(uuid.UUID(int=0))

    @property
    def settled_status(self) -> str:
        """The status it counts in (``conversations.counts``): while claimed, the one the
        claim found."""
        if self.enrichment_status == EnrichmentStatus.IN_PROGRESS:
            return self.enrichment_status_before_claim or EnrichmentStatus.NOT_STARTED
        return self.enrichment_status

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

    @property
    def kept_after_failure(self) -> bool:
        """Completed, with a later attempt that failed (its output was kept)."""
        return self.is_completed and self.last_failed_at is not None

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
