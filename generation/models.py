"""What generation records: a generation job's settings and running totals (one row per
batch job that generates), the provider's batches it submitted (the intent recorded
before the create call, so that a crash in between never pays twice), and every attempt
of every item (one request the provider answered, or one waiting to be sent).

Money is USD in ``Decimal`` with 9 decimal places: exact for any price per million tokens
given to the cent's hundredth, never rounded.
"""

import uuid

from django.db import models
from django.db.models import Q

from conversations.models import BatchItem, BatchJob, Conversation, PromptTemplate

MONEY = {"max_digits": 20, "decimal_places": 9}


class Mode(models.TextChoices):
    BATCH = "batch", "Batch (half price, within 24 hours)"
    REALTIME = "realtime", "Realtime"


class GenerationSettings(models.Model):
    """How a batch job's conversations are generated, and what it has cost so far."""

    batch_job = models.OneToOneField(
        BatchJob, primary_key=True, on_delete=models.CASCADE, related_name="generation"
    )
    provider = models.CharField(max_length=30, default="anthropic")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.BATCH)
    model = models.CharField(max_length=100)
    max_tokens = models.PositiveIntegerField()
    temperature = models.FloatField(null=True, blank=True)
    # The template asked for by name; null when each arc's own template is used.
    template = models.ForeignKey(
        PromptTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    template_name = models.CharField(max_length=255, blank=True)
    system_prompt = models.TextField(help_text="Sent exactly as the system prompt.")
    repeat = models.PositiveIntegerField(default=1)
    budget_usd = models.DecimalField(**MONEY, null=True, blank=True)
    estimated_cost_usd = models.DecimalField(**MONEY, null=True, blank=True)
    cost_usd = models.DecimalField(**MONEY, default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    # Why submission stopped for the whole job (a rejected key, billing, the budget).
    paused_reason = models.TextField(blank=True)
    # A person cancelled the job (``generation.control``): nothing more is sent, what is at
    # the provider is cancelled there and what it finished is still taken in.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "generation_settings"
        verbose_name = "generation job"
        constraints = [
            models.CheckConstraint(
                condition=Q(mode__in=Mode.values), name="generation_settings_mode_valid"
            ),
            models.CheckConstraint(
                condition=Q(max_tokens__gte=1), name="generation_settings_max_tokens_1"
            ),
            models.CheckConstraint(
                condition=Q(temperature__isnull=True) | Q(temperature__gte=0, temperature__lte=1),
                name="generation_settings_temperature_range",
            ),
            models.CheckConstraint(
                condition=Q(budget_usd__isnull=True) | Q(budget_usd__gte=0),
                name="generation_settings_budget_not_negative",
            ),
            models.CheckConstraint(condition=Q(repeat__gte=1), name="generation_settings_repeat_1"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_job} ({self.mode}, {self.model})"


class ProviderBatchStatus(models.TextChoices):
    # Recorded before the create call: the provider may or may not have the batch.
    SUBMITTING = "submitting", "Submitting"
    IN_PROGRESS = "in_progress", "In progress"
    CANCELING = "canceling", "Canceling"
    ENDED = "ended", "Ended"
    # The create call was refused, or its answer was lost and the provider lists no batch
    # for it (nothing was created at the provider): its attempts are sent again.
    NOT_CREATED = "not_created", "Not created"
    # Found in the provider's list while adopting, and none of its requests is ours: left
    # alone (recorded so that it is not looked at again).
    NOT_OURS = "not_ours", "Not ours"


class ProviderBatch(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    batch_job = models.ForeignKey(
        BatchJob, on_delete=models.CASCADE, related_name="provider_batches"
    )
    # The provider's id; empty until the create call answered (or the batch was adopted).
    provider_batch_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=20, choices=ProviderBatchStatus.choices, default=ProviderBatchStatus.SUBMITTING
    )
    requests = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    errored = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    canceled = models.PositiveIntegerField(default=0)
    # Just before the create call: a batch the provider lists as created after this (and
    # before the call was recorded) may be this one.
    submitting_since = models.DateTimeField(null=True, blank=True)
    # An intent: when the provider's batch list was first searched with its creator gone
    # (a batch created later cannot be its).
    looked_for_at = models.DateTimeField(null=True, blank=True)
    # Found in the provider's batch list after a create call's answer was lost (it may be
    # anyone's until its results name their attempts; see generation.adoption).
    adopted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    results_taken_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        db_table = "generation_provider_batches"
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider_batch_id"],
                condition=~Q(provider_batch_id=""),
                name="generation_provider_batch_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ProviderBatchStatus.values),
                name="generation_provider_batch_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["status"], name="generation_pbatch_status_idx"),
        ]

    def __str__(self) -> str:
        return self.provider_batch_id or f"(submitting {self.pk})"


class AttemptStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SUBMITTED = "submitted", "At the provider"
    SUCCEEDED = "succeeded", "Answered"
    ERRORED = "errored", "Errored"
    EXPIRED = "expired", "Expired"
    CANCELED = "canceled", "Canceled"
    REJECTED = "rejected", "Rejected (bad request)"
    # Never sent: its job was cancelled first (``generation.cancelling``).
    WITHDRAWN = "withdrawn", "Withdrawn (job cancelled)"

    @classmethod
    def answered(cls) -> list[str]:
        """An attempt counts once the provider answered it (any result)."""
        return [cls.SUCCEEDED, cls.ERRORED, cls.EXPIRED, cls.CANCELED, cls.REJECTED]


class ParseMethod(models.TextChoices):
    DIRECT = "direct", "Parsed directly"
    REPAIRED = "repaired", "Repaired"


class GenerationAttempt(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(
        BatchItem, on_delete=models.CASCADE, related_name="generation_attempts"
    )
    number = models.PositiveSmallIntegerField()
    # The number of the first attempt of this round: an item gets up to ``MAX_ATTEMPTS``
    # automatic attempts a round, and a person's retry starts a new round.
    first_of_round = models.PositiveSmallIntegerField(default=1)
    # Names the item and the attempt at the provider (^[a-zA-Z0-9_-]{1,64}$).
    custom_id = models.CharField(max_length=64, unique=True)
    mode = models.CharField(max_length=10, choices=Mode.choices)
    provider_batch = models.ForeignKey(
        ProviderBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attempts",
    )
    status = models.CharField(
        max_length=20, choices=AttemptStatus.choices, default=AttemptStatus.PENDING
    )
    stop_reason = models.CharField(max_length=40, blank=True)
    # parsed, truncated, refused, parse_error, unexpected_stop (generation.parsing), or
    # duplicate (the same document as a conversation its owner has: generation.results).
    outcome = models.CharField(max_length=20, blank=True)
    parse_method = models.CharField(
        max_length=10, choices=ParseMethod.choices, null=True, blank=True
    )
    model = models.CharField(max_length=100)
    template = models.ForeignKey(
        PromptTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The prompt as rendered when the job was created (later template edits do not change
    # what a job sends); the system prompt is the job's.
    prompt = models.TextField()
    prompt_hash = models.CharField(max_length=64, help_text="SHA-256 of the system and prompt.")
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(**MONEY, default=0)
    # Set once the attempt's usage was added to its job's totals (never twice).
    billed = models.BooleanField(default=False)
    message_id = models.CharField(max_length=100, blank=True)
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "generation_attempts"
        ordering = ["item", "number"]
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="generation_attempt_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="generation_attempt_number_1"),
            models.CheckConstraint(
                condition=Q(status__in=AttemptStatus.values),
                name="generation_attempt_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(custom_id__regex=r"^[a-zA-Z0-9_-]{1,64}$"),
                name="generation_attempt_custom_id_shape",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "mode"], name="generation_attempt_status_idx"),
        ]

    def __str__(self) -> str:
        return self.custom_id
