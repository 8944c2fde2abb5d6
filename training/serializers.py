"""Request validation and response shapes of the training-file API (camelCase keys).

Response serializers document the contract for the OpenAPI schema; the views answer with
the dicts ``training_file_payload`` and ``change_payload`` build (pinned by tests).
"""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from core.api.errors import ERROR_RESPONSES as AUTH_RESPONSES
from core.api.errors import (
    ErrorSerializer,
    InvalidRequestSerializer,
    NotFoundSerializer,
    shows_subject,
)
from core.api.fields import StrictUUIDField
from core.api.pages import PaginationSerializer
from enrichment.serializers import RequestBodySerializer, StrictBooleanField

from .models import FileFormat, TrainingFile, TrainingFileStatus
from .services import Change


class StrictTextField(serializers.CharField):
    """Only JSON strings: a number is a wrong type, not text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _conversation_ids(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=StrictUUIDField(),
        allow_empty=False,
        min_length=1,
        help_text="Row ids or business conversation ids (duplicates count once).",
        **kwargs,
    )


class SelectionSerializer(RequestBodySerializer):
    conversationIds = _conversation_ids(required=False)  # noqa: N815 (the public casing)
    batchJobId = StrictUUIDField(  # noqa: N815
        required=False, help_text="The completed conversations of this batch job."
    )

    def validate(self, attrs: dict) -> dict:
        if ("conversationIds" in attrs) == ("batchJobId" in attrs):
            raise serializers.ValidationError("Give exactly one of conversationIds or batchJobId.")
        return attrs


class CreateRequestSerializer(SelectionSerializer):
    name = StrictTextField(max_length=255)
    description = StrictTextField(
        required=False, allow_blank=True, default="", trim_whitespace=True
    )
    approvedOnly = StrictBooleanField(required=False, default=False)  # noqa: N815


class RemoveRequestSerializer(RequestBodySerializer):
    conversationIds = _conversation_ids()  # noqa: N815


@shows_subject(TrainingFile, "trainingFile")
def training_file_payload(training_file: TrainingFile, *, member_count: int | None = None) -> dict:
    """The file as the API shows it. ``conversationCount`` and the quality figures
    describe the stored files; ``memberCount`` the members now."""
    if member_count is None:
        member_count = getattr(training_file, "member_count", None)
    if member_count is None:
        member_count = training_file.memberships.count()
    url = f"/api/training-files/{training_file.pk}"
    distribution = training_file.scaffolding_distribution or {}
    files = None
    if training_file.is_built:
        files = {
            key: {
                "size": training_file.size_for(file_format),
                "url": f"{url}/download?format={file_format}",
            }
            for key, file_format in (
                ("json", FileFormat.JSON),
                ("jsonl", FileFormat.JSONL),
                ("chatJsonl", FileFormat.CHAT_JSONL),
            )
        }
    return {
        "id": str(training_file.pk),
        "name": training_file.name,
        "description": training_file.description,
        "approvedOnly": training_file.approved_only,
        "status": training_file.status,
        "error": training_file.error or None,
        "memberCount": member_count,
        "conversationCount": training_file.conversation_count,
        "totalTrainingPairs": training_file.total_training_pairs,
        "qualitySummary": {
            "avgQualityScore": training_file.avg_quality_score,
            "minQualityScore": training_file.min_quality_score,
            "maxQualityScore": training_file.max_quality_score,
            "humanReviewedCount": training_file.human_reviewed_count,
        },
        "scaffoldingDistribution": {
            "personas": distribution.get("personas", {}),
            "emotionalArcs": distribution.get("emotional_arcs", {}),
            "trainingTopics": distribution.get("training_topics", {}),
        },
        "progress": {
            "total": training_file.build_total,
            "done": training_file.build_done,
            "percent": training_file.build_percent,
            "waitingForWorker": training_file.waiting_for_worker,
        }
        if training_file.is_processing
        else None,
        "files": files,
        "lastUpdatedAt": _iso(training_file.last_updated_at),
        "createdAt": _iso(training_file.created_at),
        "updatedAt": _iso(training_file.updated_at),
        "createdBy": training_file.created_by.get_username() if training_file.created_by else None,
        "url": url,
    }


def change_payload(change: Change) -> dict:
    return {
        "success": True,
        "trainingFile": training_file_payload(change.training_file),
        "added": change.added,
        "alreadyIncluded": change.already_included,
        "removed": change.removed,
        "notIncluded": change.not_included,
        "leftOut": change.left_out,
    }


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


# For the OpenAPI schema --------------------------------------------------------------


class FileLinkSerializer(serializers.Serializer):
    size = serializers.IntegerField(allow_null=True)
    url = serializers.CharField()


class FilesSerializer(serializers.Serializer):
    json = FileLinkSerializer()
    jsonl = FileLinkSerializer()
    chatJsonl = FileLinkSerializer()  # noqa: N815


class QualitySummarySerializer(serializers.Serializer):
    avgQualityScore = serializers.FloatField(allow_null=True)  # noqa: N815
    minQualityScore = serializers.FloatField(allow_null=True)  # noqa: N815
    maxQualityScore = serializers.FloatField(allow_null=True)  # noqa: N815
    humanReviewedCount = serializers.IntegerField()  # noqa: N815


class DistributionSerializer(serializers.Serializer):
    personas = serializers.DictField(child=serializers.IntegerField())
    emotionalArcs = serializers.DictField(child=serializers.IntegerField())  # noqa: N815
    trainingTopics = serializers.DictField(child=serializers.IntegerField())  # noqa: N815


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    percent = serializers.IntegerField()
    waitingForWorker = serializers.BooleanField(  # noqa: N815
        help_text="No worker runs: nothing builds the file until one starts (bin/worker)."
    )


class TrainingFileSerializer(serializers.Serializer):
    id = StrictUUIDField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    approvedOnly = serializers.BooleanField(  # noqa: N815
        help_text="Only conversations a person approved may be members."
    )
    status = serializers.ChoiceField(choices=TrainingFileStatus.choices)
    error = serializers.CharField(allow_null=True, help_text="Why the last build failed.")
    memberCount = serializers.IntegerField()  # noqa: N815
    conversationCount = serializers.IntegerField(help_text="In the stored files.")  # noqa: N815
    totalTrainingPairs = serializers.IntegerField()  # noqa: N815
    qualitySummary = QualitySummarySerializer()  # noqa: N815
    scaffoldingDistribution = DistributionSerializer()  # noqa: N815
    progress = ProgressSerializer(allow_null=True, help_text="While status is processing.")
    files = FilesSerializer(allow_null=True, help_text="Null until a build succeeded.")
    lastUpdatedAt = serializers.DateTimeField(allow_null=True)  # noqa: N815
    createdAt = serializers.DateTimeField()  # noqa: N815
    updatedAt = serializers.DateTimeField()  # noqa: N815
    createdBy = serializers.CharField(allow_null=True)  # noqa: N815
    url = serializers.CharField()


class NotBuiltSerializer(ErrorSerializer):
    trainingFileStatus = serializers.CharField(help_text="The file's status now.")  # noqa: N815


class TrainingFileListSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    data = TrainingFileSerializer(many=True)
    pagination = PaginationSerializer()


class ChangeSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    trainingFile = TrainingFileSerializer()  # noqa: N815
    added = serializers.ListField(child=StrictUUIDField())
    alreadyIncluded = serializers.ListField(child=serializers.CharField())  # noqa: N815
    removed = serializers.ListField(child=StrictUUIDField())
    notIncluded = serializers.ListField(child=serializers.CharField())  # noqa: N815
    leftOut = serializers.IntegerField(  # noqa: N815
        help_text="Conversations of the batch job that are not completed (not added)."
    )


class IneligibleSerializer(serializers.Serializer):
    conversationId = serializers.CharField(help_text="The id as you sent it.")  # noqa: N815
    businessConversationId = StrictUUIDField()  # noqa: N815
    enrichmentStatus = serializers.CharField()  # noqa: N815
    reason = serializers.ChoiceField(choices=["not_completed", "no_enriched_file"])
    message = serializers.CharField()


class FailedBuildSerializer(ErrorSerializer):
    trainingFile = TrainingFileSerializer(required=False)  # noqa: N815


class SelectionConflictSerializer(FailedBuildSerializer):
    details = serializers.JSONField(required=False)
    ineligible = IneligibleSerializer(
        many=True, required=False, help_text="Conversations that cannot go in, each with why."
    )


_UUID = {"type": "string", "format": "uuid"}
_IDS = {"type": "array", "minItems": 1, "items": _UUID}
# No NUL (which no database stores) in any text.
_TEXT = {"type": "string", "pattern": "^[^\\x00]*$"}
_NAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    # At least one character that is a space neither to JavaScript nor to Python (which
    # also counts U+001C-U+001F and U+0085 and strips them from names).
    "pattern": "^[^\\x00]*[^\\s\\x00\\x1c-\\x1f\\x85\\ufeff][^\\x00]*$",
}


def _one_selector(extra: dict, required: list[str]) -> dict:
    return {
        "oneOf": [
            {
                "type": "object",
                "title": "By conversation ids",
                "required": [*required, "conversationIds"],
                "properties": {**extra, "conversationIds": _IDS},
                "additionalProperties": False,
            },
            {
                "type": "object",
                "title": "By batch job (its completed conversations)",
                "required": [*required, "batchJobId"],
                "properties": {**extra, "batchJobId": _UUID},
                "additionalProperties": False,
            },
        ]
    }


_APPROVED_ONLY = {
    "type": "boolean",
    "default": False,
    "description": "Only conversations a person approved, now and whenever more are added: "
    "by id, any other is refused (reason not_approved); by batch job, the others are left "
    "out.",
}
CREATE_REQUEST_SCHEMA = _one_selector(
    {"name": _NAME, "description": _TEXT, "approvedOnly": _APPROVED_ONLY}, ["name"]
)
ADD_REQUEST_SCHEMA = _one_selector({}, [])
REMOVE_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["conversationIds"],
    "properties": {"conversationIds": _IDS},
    "additionalProperties": False,
}

NOT_FOUND = OpenApiResponse(NotFoundSerializer, description="Unknown or not visible to you.")
BAD_BODY = OpenApiResponse(InvalidRequestSerializer, description="Bad body (see details).")
CONFLICT = OpenApiResponse(ErrorSerializer, description="The file cannot take this change now.")
CHANGED = OpenApiResponse(ChangeSerializer, description="Changed and rebuilt in the request.")
QUEUED = OpenApiResponse(ChangeSerializer, description="Changed; the build runs in the background.")
SELECTION_ERRORS = {
    400: BAD_BODY,
    **AUTH_RESPONSES,
    404: OpenApiResponse(
        NotFoundSerializer, description="Conversations or batch job unknown or not yours."
    ),
    409: OpenApiResponse(
        SelectionConflictSerializer,
        description="Conversations not completed with an enriched file (each listed in "
        "ineligible with its reason), name taken, nothing eligible selected, archived, or the "
        "build failed; nothing changed.",
    ),
}
