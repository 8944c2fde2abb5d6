"""Request validation and response shapes of the training-file API (camelCase keys).

Response serializers document the contract for the OpenAPI schema; the views answer with
the dicts ``training_file_payload`` and ``change_payload`` build (pinned by tests).
"""

from rest_framework import serializers

from core.api.errors import (
    shows_subject,
)
from core.api.fields import StrictUUIDField
from enrichment.serializers import RequestBodySerializer, StrictBooleanField

from .exports import QualityTier, Split
from .models import FileFormat, TrainingFile
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


class ValidationFractionField(serializers.FloatField):
    """A JSON number strictly between 0 and 1 ("0.1", true and 1 are refused)."""

    default_error_messages = {"range": "Must be a number greater than 0 and less than 1."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("range")
        value = super().to_internal_value(data)
        if not 0 < value < 1:
            self.fail("range")
        return value


class CreateRequestSerializer(SelectionSerializer):
    name = StrictTextField(max_length=255)
    description = StrictTextField(
        required=False, allow_blank=True, default="", trim_whitespace=True
    )
    approvedOnly = StrictBooleanField(required=False, default=False)  # noqa: N815
    minQualityTier = serializers.ChoiceField(  # noqa: N815
        choices=QualityTier.values, required=False, allow_null=True, default=None
    )
    validationFraction = ValidationFractionField(  # noqa: N815
        required=False, allow_null=True, default=None
    )


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
            for key, file_format in FILE_KEYS
        }
    return {
        "id": str(training_file.pk),
        "name": training_file.name,
        "description": training_file.description,
        "approvedOnly": training_file.approved_only,
        "minQualityTier": training_file.min_quality_tier or None,
        "validationFraction": training_file.validation_fraction,
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
        "split": _split_payload(training_file, url),
        "lastUpdatedAt": _iso(training_file.last_updated_at),
        "createdAt": _iso(training_file.created_at),
        "updatedAt": _iso(training_file.updated_at),
        "createdBy": training_file.created_by.get_username() if training_file.created_by else None,
        "url": url,
    }


FILE_KEYS = (("json", FileFormat.JSON), ("jsonl", FileFormat.JSONL), ("chatJsonl", "chat-jsonl"))


def _split_payload(training_file: TrainingFile, url: str) -> dict | None:
    """The split files of the last build (null when it made none)."""
    splits = training_file.splits or {}
    if not splits:
        return None
    payload: dict = {"validationFraction": training_file.validation_fraction}
    for split in Split.values:
        built = splits.get(split, {})
        payload[split] = {
            "conversations": built.get("conversations", 0),
            "trainingPairs": built.get("training_pairs", 0),
            "files": {
                key: {
                    "size": built.get("sizes", {}).get(file_format),
                    "url": f"{url}/download?format={file_format}&split={split}",
                }
                for key, file_format in FILE_KEYS
            },
        }
    return payload


def change_payload(change: Change) -> dict:
    return {
        "success": True,
        "trainingFile": training_file_payload(change.training_file),
        "added": change.added,
        "alreadyIncluded": change.already_included,
        "removed": change.removed,
        "notIncluded": change.not_included,
        "leftOut": change.left_out,
        "leftOutReasons": change.left_out_reasons,
    }


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None
