"""Request validation and response shapes of the enrichment API.

Output serializers are both what the views answer and what the OpenAPI schema documents:
camelCase keys everywhere.
"""

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from conversations.models import EnrichmentStatus, ReviewStatus
from core.api.errors import ErrorSerializer, shows_subject
from core.api.fields import StrictUUIDField
from core.api.pages import PaginationSerializer

from .models import EnrichmentRun, RunStatus
from .pipeline.outcomes import FAILED, OUTCOME_STATUSES, SKIP_REASONS


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


class RequestBodySerializer(serializers.Serializer):
    """A request body: a JSON object, else ``{"body": [...]}`` in the error details. Keys
    it does not know are an error too: a misspelt ``forse`` must not be ignored."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"body": ["The body must be a JSON object."]})
        if unknown := sorted(set(data) - set(self.fields)):
            raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class BulkEnrichRequestSerializer(RequestBodySerializer):
    conversationIds = serializers.ListField(  # noqa: N815 (the public contract's casing)
        child=StrictUUIDField(),
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
        # Taken as sent: "\r" is a (non-existent) user, not a blank field.
        trim_whitespace=False,
        help_text="The user to act for: your own id or username; staff may name anyone.",
    )
    sequential = StrictBooleanField(
        required=False,
        default=True,
        help_text="true: one after another; false: several at once (identical results).",
    )


class OutcomeSerializer(serializers.Serializer):
    """One conversation's result; ``context["sent_ids"]`` maps row ids to the id form the
    caller used. Keys without a value (``error``, ``reason``…) are left out."""

    conversationId = serializers.SerializerMethodField(help_text="The id as you sent it.")  # noqa: N815
    businessConversationId = StrictUUIDField(source="conversation_id")  # noqa: N815
    status = serializers.ChoiceField(choices=OUTCOME_STATUSES)
    enrichmentStatus = serializers.CharField(source="enrichment_status")  # noqa: N815
    error = serializers.CharField(required=False)
    errorCategory = serializers.CharField(source="error_category", required=False)  # noqa: N815
    reason = serializers.ChoiceField(choices=SKIP_REASONS, required=False)

    def get_conversationId(self, outcome) -> str:  # noqa: N802
        sent = self.context.get("sent_ids", {}).get(outcome.pk)
        return sent or str(outcome.conversation_id)

    def to_representation(self, outcome) -> dict:
        data = super().to_representation(outcome)
        return {key: value for key, value in data.items() if value is not None}


class SingleOutcomeSerializer(OutcomeSerializer):
    """The single-conversation answer: one result, with ``success`` (false when it failed,
    answered with 422, so that it too has the API's error shape)."""

    success = serializers.SerializerMethodField()
    # Not an attribute of the outcome: set below, when it failed.
    code = serializers.CharField(
        required=False, help_text="enrichment_failed when it failed (errorCategory says how)."
    )

    def get_success(self, outcome) -> bool:
        return outcome.status != FAILED

    def to_representation(self, outcome) -> dict:
        data = super().to_representation(outcome)
        if outcome.status == FAILED:
            data["code"] = "enrichment_failed"
        return data


class BulkSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    successful = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()


class BulkResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    summary = BulkSummarySerializer()
    results = serializers.SerializerMethodField()

    @extend_schema_field(OutcomeSerializer(many=True))
    def get_results(self, result) -> list[dict]:
        context = {"sent_ids": result.sent_ids}
        return OutcomeSerializer(result.outcomes, many=True, context=context).data


class LastFailureSerializer(serializers.Serializer):
    """The latest failed attempt since the latest success."""

    error = serializers.CharField(source="last_failure_error")
    category = serializers.CharField(source="last_failure_category", allow_null=True)
    at = serializers.DateTimeField(source="last_failed_at")


def last_failure(conversation) -> dict | None:
    if conversation.last_failed_at is None:
        return None
    return LastFailureSerializer(conversation).data


class ReviewActionSerializer(serializers.Serializer):
    action = serializers.CharField()
    reviewer = serializers.SerializerMethodField(help_text="null for the system's actions")
    comment = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815

    def get_reviewer(self, action) -> str | None:
        return action.reviewer.get_username() if action.reviewer else None


class ReviewFieldsSerializer(serializers.Serializer):
    """A conversation's review: its status (null until enriched), the approval, the
    latest reviewer's notes and the history of actions, newest first."""

    reviewStatus = serializers.ChoiceField(  # noqa: N815
        source="review_status", choices=ReviewStatus.choices, allow_null=True
    )
    approvedBy = serializers.SerializerMethodField()  # noqa: N815
    approvedAt = serializers.DateTimeField(source="approved_at", allow_null=True)  # noqa: N815
    reviewerNotes = serializers.CharField(source="reviewer_notes")  # noqa: N815
    reviewHistory = serializers.SerializerMethodField()  # noqa: N815

    def get_approvedBy(self, conversation) -> str | None:  # noqa: N802
        user = conversation.approved_by
        return user.get_username() if user else None

    def get_reviewHistory(self, conversation) -> ReviewActionSerializer(many=True):  # type: ignore[valid-type]  # noqa: N802
        actions = conversation.review_actions.select_related("reviewer")
        return ReviewActionSerializer(actions, many=True).data


class ConversationStatusSerializer(ReviewFieldsSerializer):
    conversationId = StrictUUIDField(source="conversation_id")  # noqa: N815
    enrichmentStatus = serializers.CharField(source="enrichment_status")  # noqa: N815
    revision = serializers.IntegerField(
        help_text="The revision of its document enrichment reads (GET …/revisions)."
    )
    canEnrich = serializers.BooleanField(source="can_enrich")  # noqa: N815
    needsRetry = serializers.BooleanField(source="needs_retry")  # noqa: N815
    enrichmentError = serializers.CharField(source="enrichment_error", allow_null=True)  # noqa: N815
    errorCategory = serializers.CharField(source="enrichment_error_category", allow_null=True)  # noqa: N815
    enrichedAt = serializers.DateTimeField(source="enriched_at", allow_null=True)  # noqa: N815
    lastFailure = serializers.SerializerMethodField(  # noqa: N815
        help_text="The latest failed attempt since the latest success, or null. A completed "
        "conversation whose re-enrichment failed stays completed with its file; the "
        "failure is here."
    )

    def get_lastFailure(self, conversation) -> LastFailureSerializer(allow_null=True):  # type: ignore[valid-type]  # noqa: N802
        return last_failure(conversation)


class ValidationReportSerializer(serializers.Serializer):
    conversationId = StrictUUIDField(source="conversation_id")  # noqa: N815
    enrichmentStatus = serializers.CharField(source="enrichment_status")  # noqa: N815
    validationReport = serializers.JSONField(source="validation_report", allow_null=True)  # noqa: N815
    normalizationReport = serializers.JSONField(source="normalization_report", allow_null=True)  # noqa: N815
    enrichmentError = serializers.CharField(source="enrichment_error", allow_null=True)  # noqa: N815
    errorCategory = serializers.CharField(source="enrichment_error_category", allow_null=True)  # noqa: N815
    lastFailure = serializers.SerializerMethodField()  # noqa: N815

    def get_lastFailure(self, conversation) -> LastFailureSerializer(allow_null=True):  # type: ignore[valid-type]  # noqa: N802
        return last_failure(conversation)


class StartRunRequestSerializer(RequestBodySerializer):
    """Exactly one selector: ``conversationIds``, ``status``, or a registered scope's field
    (``batchJobId``)."""

    conversationIds = serializers.ListField(  # noqa: N815
        child=StrictUUIDField(),
        required=False,
        allow_empty=False,
        min_length=1,
        help_text="Any number of conversation ids (either form).",
    )
    status = serializers.ListField(
        child=serializers.ChoiceField(choices=EnrichmentStatus.values),
        required=False,
        allow_empty=False,
        min_length=1,
        help_text="Every visible conversation in one of these enrichment statuses.",
    )
    batchJobId = StrictUUIDField(  # noqa: N815
        required=False, help_text="The conversations of the job's successful items."
    )
    force = StrictBooleanField(required=False, default=False)

    def to_internal_value(self, data):
        if isinstance(data, dict) and isinstance(data.get("status"), str):
            data = {**data, "status": [data["status"]]}
        return super().to_internal_value(data)

    def validate(self, attrs: dict) -> dict:
        selectors = ["conversationIds", "batchJobId", "status"]
        chosen = [key for key in selectors if key in attrs]
        if len(chosen) != 1:
            raise serializers.ValidationError(f"Give exactly one of {', '.join(selectors)}.")
        return attrs


class ScopeSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="What the run is over, e.g. batchJob.")
    id = StrictUUIDField()


class RunSerializer(serializers.Serializer):
    id = StrictUUIDField()
    status = serializers.ChoiceField(choices=RunStatus.choices)
    source = serializers.CharField()
    description = serializers.CharField()
    scope = serializers.SerializerMethodField()
    force = serializers.BooleanField()
    retryFailed = serializers.BooleanField(source="retry_failed")  # noqa: N815
    retryOf = StrictUUIDField(source="retry_of_id", allow_null=True)  # noqa: N815
    total = serializers.IntegerField()
    processed = serializers.IntegerField(help_text="enriched + failed + skipped")
    enriched = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    remaining = serializers.IntegerField()
    progressPercent = serializers.IntegerField(source="progress_percent")  # noqa: N815
    etaSeconds = serializers.IntegerField(  # noqa: N815
        source="eta_seconds",
        allow_null=True,
        help_text="null until there is a rate, and while no worker runs",
    )
    waitingForWorker = serializers.BooleanField(  # noqa: N815
        source="waiting_for_worker",
        help_text="Unfinished while no worker runs: nothing works on it until one starts "
        "(bin/worker).",
    )
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)  # noqa: N815
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)  # noqa: N815
    url = serializers.SerializerMethodField()

    def get_scope(self, run) -> ScopeSerializer(allow_null=True):  # type: ignore[valid-type]
        if run.batch_job_id is None:
            return None
        return {"kind": "batchJob", "id": str(run.batch_job_id)}

    def get_url(self, run) -> str:
        return f"/api/enrichment-runs/{run.pk}"


@shows_subject(EnrichmentRun, "run")
def run_payload(run: EnrichmentRun) -> dict:
    return RunSerializer(run).data


class RunListSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    data = RunSerializer(many=True)
    pagination = PaginationSerializer()


class RunConflictSerializer(ErrorSerializer):
    """A 409 about a run: the error, and the run as it is now."""

    run = RunSerializer(help_text="The run as it is now.")


class NotEnrichedSerializer(ErrorSerializer):
    enrichmentStatus = serializers.CharField(help_text="The conversation's status now.")  # noqa: N815


class RunItemSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    conversationId = StrictUUIDField(source="conversation.conversation_id")  # noqa: N815
    outcome = serializers.CharField()
    enrichmentStatus = serializers.CharField(source="enrichment_status")  # noqa: N815
    error = serializers.CharField(allow_null=True)
    errorCategory = serializers.CharField(source="error_category", allow_null=True)  # noqa: N815
    reason = serializers.CharField(allow_null=True)
    durationMs = serializers.FloatField(source="duration_ms", allow_null=True)  # noqa: N815


class RunItemsResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    run = RunSerializer()
    data = RunItemSerializer(many=True)
    pagination = PaginationSerializer()


_FORCE_SCHEMA = {"type": "boolean", "default": False, "description": "Re-enrich completed ones."}
_STATUS_SCHEMA = {"type": "string", "enum": EnrichmentStatus.values}


def start_run_request_schema() -> dict:
    """One selector per request: written by hand because a serializer cannot say "exactly
    one"."""

    def selector(title: str, name: str, schema: dict) -> dict:
        return {
            "type": "object",
            "title": title,
            "required": [name],
            "properties": {name: schema, "force": _FORCE_SCHEMA},
            "additionalProperties": False,
        }

    uuid_schema = {"type": "string", "format": "uuid"}
    ids = {"type": "array", "minItems": 1, "items": uuid_schema}
    statuses = {
        "oneOf": [_STATUS_SCHEMA, {"type": "array", "minItems": 1, "items": _STATUS_SCHEMA}]
    }
    return {
        "oneOf": [
            selector("By conversation ids", "conversationIds", ids),
            selector("By batch job (what enriching it acts on)", "batchJobId", uuid_schema),
            selector("By enrichment status", "status", statuses),
        ]
    }
