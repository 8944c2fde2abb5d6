"""Request validation and response shapes of the enrichment API.

Response serializers document the contract for the OpenAPI schema; the views build the
spec'd dicts directly (the shapes are pinned by tests).
"""

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers

from .models import EnrichmentStatus, RunStatus
from .pipeline.run import ENRICHED, FAILED, SKIPPED


class StrictBooleanField(serializers.BooleanField):
    """Only JSON true/false: "yes" or 1 are wrong types, not booleans."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


class StrictCharField(serializers.CharField):
    """Only JSON strings: a number is a wrong type, not text. Any string is accepted (NUL
    characters included: the caller decides what an impossible value means)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class BulkEnrichRequestSerializer(serializers.Serializer):
    conversationIds = serializers.ListField(  # noqa: N815 (the public contract's casing)
        child=serializers.UUIDField(format="hex_verbose"),
        allow_empty=False,
        min_length=1,
        max_length=settings.ENRICHMENT_BULK_LIMIT,
        error_messages={
            "max_length": "At most {max_length} conversation ids per request. For more, "
            "start a background run: POST /api/enrichment-runs."
        },
        help_text="Row ids or business conversation ids (1 to 100; duplicates count once).",
    )
    userId = StrictCharField(  # noqa: N815
        required=False,
        min_length=1,
        help_text="The user to act for: your own id or username; staff may name anyone.",
    )
    sequential = StrictBooleanField(
        required=False,
        default=True,
        help_text="true: one after another; false: several at once (identical results).",
    )

    def validate_conversationIds(self, value: list) -> list:  # noqa: N802
        limit = settings.ENRICHMENT_BULK_LIMIT
        if len(value) > limit:
            raise serializers.ValidationError(
                f"At most {limit} conversation ids per request (got {len(value)}). "
                "For more, start a background run: POST /api/enrichment-runs."
            )
        return value


class EnrichmentResultSerializer(serializers.Serializer):
    conversationId = serializers.CharField(help_text="The id as you sent it.")  # noqa: N815
    businessConversationId = serializers.UUIDField()  # noqa: N815
    status = serializers.ChoiceField(choices=[ENRICHED, FAILED, SKIPPED])
    enrichmentStatus = serializers.CharField()  # noqa: N815
    error = serializers.CharField(required=False)
    errorCategory = serializers.CharField(required=False)  # noqa: N815
    reason = serializers.ChoiceField(
        choices=["already_enriched", "in_progress", "previously_failed", "inactive"], required=False
    )


class BulkSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    successful = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()


class BulkEnrichResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    summary = BulkSummarySerializer()
    results = EnrichmentResultSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=False)
    error = serializers.CharField()


class InvalidRequestSerializer(ErrorSerializer):
    details = serializers.JSONField()


class NotFoundSerializer(ErrorSerializer):
    missing = serializers.ListField(child=serializers.CharField(), required=False)


class EnrichmentStatusSerializer(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    enrichment_status = serializers.CharField()
    can_enrich = serializers.BooleanField()
    needs_retry = serializers.BooleanField()
    enrichment_error = serializers.CharField(allow_null=True)
    error_category = serializers.CharField(allow_null=True)
    enriched_at = serializers.DateTimeField(allow_null=True)


class ValidationReportResponseSerializer(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    enrichment_status = serializers.CharField()
    validation_report = serializers.JSONField(allow_null=True)
    normalization_report = serializers.JSONField(allow_null=True)
    enrichment_error = serializers.CharField(allow_null=True)
    error_category = serializers.CharField(allow_null=True)


class StartRunRequestSerializer(serializers.Serializer):
    conversationIds = serializers.ListField(  # noqa: N815
        child=serializers.UUIDField(format="hex_verbose"),
        required=False,
        allow_empty=False,
        min_length=1,
        help_text="Any number of conversation ids (either form).",
    )
    batchJobId = serializers.UUIDField(required=False)  # noqa: N815
    status = serializers.ListField(
        child=serializers.ChoiceField(choices=EnrichmentStatus.values),
        required=False,
        allow_empty=False,
        min_length=1,
        help_text="Every visible conversation in one of these enrichment statuses.",
    )
    force = StrictBooleanField(required=False, default=False)

    def to_internal_value(self, data):
        if isinstance(data, dict) and isinstance(data.get("status"), str):
            data = {**data, "status": [data["status"]]}
        return super().to_internal_value(data)

    def validate(self, attrs: dict) -> dict:
        chosen = [key for key in ("conversationIds", "batchJobId", "status") if key in attrs]
        if len(chosen) != 1:
            raise serializers.ValidationError(
                "Give exactly one of conversationIds, batchJobId or status."
            )
        return attrs


class RunSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=RunStatus.choices)
    source = serializers.CharField()
    description = serializers.CharField()
    batchJobId = serializers.UUIDField(allow_null=True)  # noqa: N815
    force = serializers.BooleanField()
    retryFailed = serializers.BooleanField()  # noqa: N815
    retryOf = serializers.UUIDField(allow_null=True)  # noqa: N815
    total = serializers.IntegerField()
    processed = serializers.IntegerField(help_text="enriched + failed + skipped")
    enriched = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    remaining = serializers.IntegerField()
    progressPercent = serializers.IntegerField()  # noqa: N815
    etaSeconds = serializers.IntegerField(allow_null=True)  # noqa: N815
    createdAt = serializers.DateTimeField()  # noqa: N815
    startedAt = serializers.DateTimeField(allow_null=True)  # noqa: N815
    finishedAt = serializers.DateTimeField(allow_null=True)  # noqa: N815
    url = serializers.CharField()


class RunItemSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    conversationId = serializers.UUIDField()  # noqa: N815
    outcome = serializers.CharField()
    enrichmentStatus = serializers.CharField()  # noqa: N815
    error = serializers.CharField(allow_null=True)
    errorCategory = serializers.CharField(allow_null=True)  # noqa: N815
    reason = serializers.CharField(allow_null=True)
    durationMs = serializers.FloatField(allow_null=True)  # noqa: N815


class RunItemsResponseSerializer(serializers.Serializer):
    run = RunSerializer()
    data = RunItemSerializer(many=True)
    nextOffset = serializers.IntegerField(allow_null=True)  # noqa: N815


_FORCE_SCHEMA = {"type": "boolean", "default": False, "description": "Re-enrich completed ones."}
_STATUS_SCHEMA = {"type": "string", "enum": EnrichmentStatus.values}

# One selector per request: written by hand because a serializer cannot say "exactly one".
START_RUN_REQUEST_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "title": "By conversation ids",
            "required": ["conversationIds"],
            "properties": {
                "conversationIds": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string", "format": "uuid"},
                },
                "force": _FORCE_SCHEMA,
            },
            "additionalProperties": False,
        },
        {
            "type": "object",
            "title": "By batch job (its completed items)",
            "required": ["batchJobId"],
            "properties": {
                "batchJobId": {"type": "string", "format": "uuid"},
                "force": _FORCE_SCHEMA,
            },
            "additionalProperties": False,
        },
        {
            "type": "object",
            "title": "By enrichment status",
            "required": ["status"],
            "properties": {
                "status": {
                    "oneOf": [
                        _STATUS_SCHEMA,
                        {"type": "array", "minItems": 1, "items": _STATUS_SCHEMA},
                    ]
                },
                "force": _FORCE_SCHEMA,
            },
            "additionalProperties": False,
        },
    ]
}
