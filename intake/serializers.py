"""Response shapes of the batch API: what the views answer and the schema documents."""

from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from django.urls import reverse
from drf_spectacular.drainage import set_override
from rest_framework import serializers

from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus, Priority, Tier
from core.api.errors import ErrorSerializer, shows_subject
from core.api.fields import StrictUUIDField
from core.api.pages import PaginationSerializer
from core.sections import Section, sections
from enrichment.serializers import (
    RequestBodySerializer,
    RunSerializer,
    StrictBooleanField,
    StrictCharField,
)
from intake.schema import NAME_PATTERN


class ItemSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField(
        help_text="Items that ended without being generated: their job was cancelled."
    )
    queued = serializers.IntegerField()
    processing = serializers.IntegerField()


class BatchItemSerializer(serializers.Serializer):
    """One item, with the original's column names (its client reads them): the one place
    the API answers in snake_case."""

    id = StrictUUIDField()
    position = serializers.IntegerField()
    topic = serializers.CharField()
    status = serializers.ChoiceField(choices=BatchItemStatus.choices)
    conversation_id = StrictUUIDField(allow_null=True, help_text="The conversation row id.")
    conversation_business_id = StrictUUIDField(
        source="conversation.conversation_id", allow_null=True, default=None
    )
    enrichment_status = serializers.CharField(
        source="conversation.enrichment_status", allow_null=True, default=None
    )
    error_message = serializers.SerializerMethodField()

    def get_error_message(self, item) -> str | None:
        return item.error_message or None


class BatchItemsResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    jobId = StrictUUIDField()  # noqa: N815
    summary = ItemSummarySerializer()
    data = BatchItemSerializer(many=True)
    pagination = PaginationSerializer()


class EnrichmentCountsSerializer(serializers.Serializer):
    """A job's stored conversation counts (``BatchJob.conversations_*``)."""

    conversations = serializers.IntegerField(source="conversations_total")
    completed = serializers.IntegerField(source="conversations_enriched")
    failed = serializers.IntegerField(source="conversations_failed")
    notEnriched = serializers.SerializerMethodField()  # noqa: N815

    def get_notEnriched(self, job) -> int:  # noqa: N802
        return job.conversations_total - job.conversations_enriched - job.conversations_failed


class BatchStatusResponseSerializer(serializers.Serializer):
    """A job's progress and the enrichment counts of its conversations."""

    success = serializers.SerializerMethodField()
    jobId = StrictUUIDField(source="pk")  # noqa: N815
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=BatchJobStatus.choices)
    totalItems = serializers.IntegerField(source="total_items")  # noqa: N815
    completedItems = serializers.IntegerField(source="completed_items")  # noqa: N815
    successfulItems = serializers.IntegerField(source="successful_items")  # noqa: N815
    failedItems = serializers.IntegerField(source="failed_items")  # noqa: N815
    remainingItems = serializers.IntegerField(source="remaining_items")  # noqa: N815
    progressPercent = serializers.IntegerField(source="progress_percent")  # noqa: N815
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)  # noqa: N815
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)  # noqa: N815
    estimatedTimeRemaining = serializers.IntegerField(  # noqa: N815
        source="estimated_time_remaining", allow_null=True
    )
    enrichment = EnrichmentCountsSerializer(source="*")

    def get_success(self, job) -> bool:
        return True


# Intake: batch jobs fed through the API (``api_intake``) ------------------------------------


class TextField(StrictCharField):
    """A JSON string that fits a text column: NUL characters are refused (400)."""

    def __init__(self, **kwargs) -> None:
        # Kept as sent (the schema cannot say what stripping would make blank).
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators.append(ProhibitNullCharactersValidator())


class CreateBatchJobRequestSerializer(RequestBodySerializer):
    name = TextField(
        max_length=255,
        validators=[RegexValidator(NAME_PATTERN, "Give the job a name (not only spaces).")],
        help_text="What the job is called on every page.",
    )
    autoEnrich = StrictBooleanField(  # noqa: N815
        required=False,
        default=True,
        help_text="Enrich the job's conversations in the background once it is finished.",
    )
    tier = serializers.ChoiceField(choices=Tier.choices, required=False, default=Tier.TEMPLATE)
    priority = serializers.ChoiceField(
        choices=Priority.choices, required=False, default=Priority.NORMAL
    )


class ItemParametersSerializer(serializers.Serializer):
    """Scaffolding keys the item was generated from (they link the conversation)."""

    personaKey = TextField(required=False, allow_blank=True, max_length=255)  # noqa: N815
    emotionalArcKey = TextField(required=False, allow_blank=True, max_length=255)  # noqa: N815
    trainingTopicKey = TextField(required=False, allow_blank=True, max_length=255)  # noqa: N815
    templateName = TextField(required=False, allow_blank=True, max_length=255)  # noqa: N815

    def to_internal_value(self, data):
        if isinstance(data, dict) and (unknown := sorted(set(data) - set(self.fields))):
            allowed = ", ".join(self.fields)
            raise serializers.ValidationError(
                {key: [f"Not a parameter; use {allowed}."] for key in unknown}
            )
        return super().to_internal_value(data)


ITEM_KINDS = ("conversation", "raw", "error")
EMPTY_RAW = "Empty: for a generation that produced nothing, send its error instead."


class NewItemSerializer(serializers.Serializer):
    conversation = serializers.DictField(
        required=False, help_text="The conversation document (parsed or raw model output)."
    )
    raw = StrictCharField(
        required=False,
        trim_whitespace=False,
        error_messages={"blank": EMPTY_RAW},
        validators=[RegexValidator(NAME_PATTERN, EMPTY_RAW)],
        help_text="The model's reply as it came; text that is not JSON makes a failed item.",
    )
    error = TextField(required=False, help_text="Why the generation of this item failed.")
    topic = TextField(required=False, allow_blank=True, max_length=255)
    name = TextField(required=False, allow_blank=True, max_length=255)
    parameters = ItemParametersSerializer(required=False)

    def validate(self, attrs: dict) -> dict:
        given = [kind for kind in ITEM_KINDS if kind in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(f"Give exactly one of {', '.join(ITEM_KINDS)}.")
        return attrs


class AddItemsRequestSerializer(RequestBodySerializer):
    items = NewItemSerializer(many=True, allow_empty=False, min_length=1, max_length=100)
    allowDuplicates = StrictBooleanField(  # noqa: N815
        required=False,
        default=False,
        help_text="Store items whose content you imported before (default: skip them).",
    )


class SectionField(serializers.Field):
    """A section another app adds to the job's JSON (``core.sections``)."""

    def __init__(self, section: Section) -> None:
        super().__init__(source="*", read_only=True)
        self.section = section
        set_override(self, "field", section.schema)

    def to_representation(self, job):
        return self.section.render(job)


class BatchJobItemSerializer(serializers.Serializer):
    """One item of a job, in the API's camelCase, with the sections other apps add to it
    (``generation``: its attempts, stop reason and parse method, null for items fed from
    outside)."""

    id = StrictUUIDField()
    position = serializers.IntegerField()
    status = serializers.ChoiceField(choices=BatchItemStatus.choices)
    conversationId = StrictUUIDField(  # noqa: N815
        source="conversation_id", allow_null=True, help_text="The item's conversation, if any."
    )
    personaKey = serializers.SerializerMethodField()  # noqa: N815
    emotionalArcKey = serializers.SerializerMethodField()  # noqa: N815
    trainingTopicKey = serializers.SerializerMethodField()  # noqa: N815
    error = serializers.SerializerMethodField(help_text="Why the item failed; null if not.")

    def get_fields(self) -> dict:
        fields = super().get_fields()
        for section in sections("batch_item"):
            fields[section.name] = SectionField(section)
        return fields

    def _key(self, item, key: str, relation: str, field: str) -> str | None:
        # Generated items carry their keys; imported ones have their conversation's links.
        if item.parameters.get(key):
            return item.parameters[key]
        linked = getattr(item.conversation, relation, None) if item.conversation else None
        return getattr(linked, field) if linked else None

    def get_personaKey(self, item) -> str | None:  # noqa: N802
        return self._key(item, "personaKey", "persona", "persona_key")

    def get_emotionalArcKey(self, item) -> str | None:  # noqa: N802
        return self._key(item, "emotionalArcKey", "emotional_arc", "arc_key")

    def get_trainingTopicKey(self, item) -> str | None:  # noqa: N802
        return self._key(item, "trainingTopicKey", "training_topic", "topic_key")

    def get_error(self, item) -> str | None:
        return item.error_message or None


class BatchJobItemsResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    data = BatchJobItemSerializer(many=True)
    pagination = PaginationSerializer()


class BatchJobSerializer(serializers.Serializer):
    """A batch job, with the sections other apps add to it (``generation``: how its
    conversations are generated, null for jobs fed from outside)."""

    id = StrictUUIDField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=BatchJobStatus.choices)
    autoEnrich = serializers.BooleanField(source="auto_enrich")  # noqa: N815
    tier = serializers.CharField()
    priority = serializers.CharField()
    totalItems = serializers.IntegerField(source="total_items")  # noqa: N815
    completedItems = serializers.IntegerField(  # noqa: N815
        source="completed_items", help_text="Items ended: completed, failed or cancelled."
    )
    successfulItems = serializers.IntegerField(source="successful_items")  # noqa: N815
    failedItems = serializers.IntegerField(  # noqa: N815
        source="failed_items", help_text="Items whose generation failed."
    )
    duplicateItems = serializers.IntegerField(  # noqa: N815
        source="duplicate_items", help_text="Items skipped: their content was imported before."
    )
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)  # noqa: N815
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)  # noqa: N815
    url = serializers.SerializerMethodField()
    pageUrl = serializers.SerializerMethodField()  # noqa: N815

    def get_fields(self) -> dict:
        fields = super().get_fields()
        for section in sections("batch_job"):
            fields[section.name] = SectionField(section)
        return fields

    def get_url(self, job) -> str:
        return f"/api/batch-jobs/{job.pk}"

    def get_pageUrl(self, job) -> str:  # noqa: N802
        return reverse("batch-job-detail", args=[job.pk])


@shows_subject(BatchJob, "job")
def batch_job_payload(job: BatchJob) -> dict:
    return BatchJobSerializer(job).data


class JobConflictSerializer(ErrorSerializer):
    """A 409 about a batch job: the error, and the job as it is now."""

    job = BatchJobSerializer(help_text="The job as it is now.")


class BatchJobListSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    data = BatchJobSerializer(many=True)
    pagination = PaginationSerializer()


class DuplicateOfSerializer(serializers.Serializer):
    conversationId = StrictUUIDField(help_text="The conversation row id.")  # noqa: N815
    businessConversationId = StrictUUIDField()  # noqa: N815
    name = serializers.CharField()
    batchJobId = StrictUUIDField(allow_null=True)  # noqa: N815


class ItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's place in your list, from 0.")
    status = serializers.CharField(help_text="completed, failed or skipped.")
    position = serializers.IntegerField(source="item.position", allow_null=True, default=None)
    itemId = StrictUUIDField(source="item.pk", allow_null=True, default=None)  # noqa: N815
    conversationId = StrictUUIDField(  # noqa: N815
        source="conversation.pk", allow_null=True, default=None
    )
    businessConversationId = StrictUUIDField(  # noqa: N815
        source="conversation.conversation_id", allow_null=True, default=None
    )
    error = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True, help_text="Why it was skipped: duplicate.")
    duplicateOf = serializers.SerializerMethodField(  # noqa: N815
        help_text="The conversation imported before whose content this item repeats."
    )
    repeats = serializers.IntegerField(
        allow_null=True, help_text="The index of an earlier item of the call it repeats."
    )
    warnings = serializers.ListField(child=serializers.CharField())

    def get_duplicateOf(self, result) -> DuplicateOfSerializer(allow_null=True):  # type: ignore[valid-type]  # noqa: N802
        original = result.duplicate.original if result.duplicate else None
        return None if original is None else original.as_json()

    def to_representation(self, result) -> dict:
        data = super().to_representation(result)
        data["error"] = data["error"] or None
        data["reason"] = data["reason"] or None
        return data


class AddItemsSummarySerializer(serializers.Serializer):
    added = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()


class AddItemsResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    job = BatchJobSerializer()
    summary = AddItemsSummarySerializer()
    items = ItemResultSerializer(many=True)


class FinishBatchJobResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    job = BatchJobSerializer()
    enrichmentRun = RunSerializer(allow_null=True)  # noqa: N815
