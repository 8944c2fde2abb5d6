"""The training-file API's contract for the OpenAPI schema: response serializers (the
views answer with the dicts of ``training.serializers``), hand-written request schemas and
the documented error answers."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from core.api.errors import ERROR_RESPONSES as AUTH_RESPONSES
from core.api.errors import (
    ErrorSerializer,
    InvalidRequestSerializer,
    NotFoundSerializer,
)
from core.api.fields import StrictUUIDField
from core.api.pages import PaginationSerializer

from ..exports import QualityTier
from ..models import TrainingFileStatus


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


class SplitPartSerializer(serializers.Serializer):
    conversations = serializers.IntegerField()
    trainingPairs = serializers.IntegerField()  # noqa: N815
    files = FilesSerializer()


class SplitSerializer(serializers.Serializer):
    validationFraction = serializers.FloatField()  # noqa: N815
    train = SplitPartSerializer()
    validation = SplitPartSerializer()


class TrainingFileSerializer(serializers.Serializer):
    id = StrictUUIDField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    approvedOnly = serializers.BooleanField(  # noqa: N815
        help_text="Only conversations a person approved may be members."
    )
    minQualityTier = serializers.ChoiceField(  # noqa: N815
        choices=QualityTier.values,
        allow_null=True,
        help_text="Only conversations of this quality tier or better may be members.",
    )
    validationFraction = serializers.FloatField(  # noqa: N815
        allow_null=True, help_text="The share of members in the validation split."
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
    split = SplitSerializer(
        allow_null=True,
        help_text="The train and validation files of the last build (null without a split).",
    )
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
        help_text="Conversations chosen but not added: not completed, or not meeting the "
        "file's requirements (approved only, minimum quality tier)."
    )
    leftOutReasons = serializers.DictField(  # noqa: N815
        child=serializers.IntegerField(),
        help_text="How many were left out for each reason: not_completed, not_approved, "
        "below_min_quality_tier.",
    )


class IneligibleSerializer(serializers.Serializer):
    conversationId = serializers.CharField(help_text="The id as you sent it.")  # noqa: N815
    businessConversationId = StrictUUIDField()  # noqa: N815
    enrichmentStatus = serializers.CharField()  # noqa: N815
    reason = serializers.ChoiceField(
        choices=["not_completed", "no_enriched_file", "not_approved", "below_min_quality_tier"]
    )
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
_MIN_QUALITY_TIER = {
    "type": "string",
    "nullable": True,
    "enum": [*QualityTier.values, None],
    "default": None,
    "description": "Only conversations of this quality tier or better (experimental: score "
    "≥ 2.5 or none; production: ≥ 3.5; seed_dataset: ≥ 4.5), now and whenever more are "
    "added: by id, any other is refused (reason below_min_quality_tier); by batch job, the "
    "others are left out.",
}
_VALIDATION_FRACTION = {
    "type": "number",
    "nullable": True,
    "minimum": 0,
    "exclusiveMinimum": True,
    "maximum": 1,
    "exclusiveMaximum": True,
    "default": None,
    "description": "Also build the files split into train and validation (download with "
    "?split=); a conversation is in validation when the first 8 bytes of the SHA-256 of "
    "its business id, as an integer / 2**64, are below this fraction.",
}
CREATE_REQUEST_SCHEMA = _one_selector(
    {
        "name": _NAME,
        "description": _TEXT,
        "approvedOnly": _APPROVED_ONLY,
        "minQualityTier": _MIN_QUALITY_TIER,
        "validationFraction": _VALIDATION_FRACTION,
    },
    ["name"],
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
