"""Request validation and response shapes of the review API (camelCase keys)."""

from django.conf import settings
from rest_framework import serializers

from conversations.models import ReviewStatus
from core.api.pages import PaginationSerializer
from enrichment.serializers import (
    RequestBodySerializer,
    ReviewFieldsSerializer,
    StrictCharField,
    StrictUUIDField,
)

from .services import ACTIONS, MAX_COMMENT, REASONS


class ReviewRequestSerializer(RequestBodySerializer):
    action = serializers.ChoiceField(choices=ACTIONS)
    comment = StrictCharField(
        required=False,
        default="",
        allow_blank=True,
        max_length=MAX_COMMENT,
        help_text="Required (or a reason) to reject or request a revision.",
    )
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=REASONS),
        required=False,
        default=list,
        max_length=len(REASONS) * 2,
    )
    expectedStatus = serializers.ChoiceField(  # noqa: N815
        choices=ReviewStatus.choices,
        required=False,
        help_text="The review status you saw: if it is not that any more (another "
        "reviewer acted), nothing is done and the answer is 409 review_changed.",
    )


class BulkReviewRequestSerializer(ReviewRequestSerializer):
    expectedStatus = serializers.ChoiceField(  # noqa: N815
        choices=ReviewStatus.choices,
        required=False,
        help_text="The review status you saw, for every id: one that is not in it any more "
        "(another reviewer acted, or it was enriched again) is left as it is and skipped "
        "with code review_changed and its reviewStatus now.",
    )
    conversationIds = serializers.ListField(  # noqa: N815
        child=serializers.UUIDField(format="hex_verbose"),
        min_length=1,
        max_length=settings.REVIEW_BULK_LIMIT,
        help_text="Row ids or business conversation ids (1 to 100; duplicates count once).",
    )


class ReviewedSerializer(ReviewFieldsSerializer):
    """The answer to a review: the conversation's review fields."""

    success = serializers.BooleanField(default=True)
    conversationId = serializers.UUIDField(source="conversation_id")  # noqa: N815


class QueueRowSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="pk")
    conversationId = serializers.UUIDField(source="conversation_id")  # noqa: N815
    name = serializers.CharField(source="display_name")
    qualityScore = serializers.FloatField(source="quality_score", allow_null=True)  # noqa: N815
    reviewStatus = serializers.CharField(source="review_status")  # noqa: N815
    enrichedAt = serializers.DateTimeField(source="enriched_at", allow_null=True)  # noqa: N815
    persona = serializers.CharField(source="persona.persona_key", allow_null=True, default=None)
    emotionalArc = serializers.CharField(  # noqa: N815
        source="emotional_arc.arc_key", allow_null=True, default=None
    )
    trainingTopic = serializers.CharField(  # noqa: N815
        source="training_topic.topic_key", allow_null=True, default=None
    )
    claimedBy = serializers.SerializerMethodField(  # noqa: N815
        help_text="The reviewer holding it now, or null."
    )

    def get_claimedBy(self, conversation) -> str | None:  # noqa: N802
        now = self.context["now"]
        until = conversation.review_claimed_until
        if conversation.review_claimed_by_id is None or until is None or until <= now:
            return None
        return conversation.review_claimed_by.get_username()


class NextRequestSerializer(RequestBodySerializer):
    skip = serializers.ListField(
        child=StrictUUIDField(),
        required=False,
        default=list,
        max_length=settings.REVIEW_BULK_LIMIT,
        help_text="Row ids of conversations you pass over (up to 100): your claims on them "
        "are given back and they are not offered again in this call.",
    )


class ClaimedRowSerializer(QueueRowSerializer):
    claimedUntil = serializers.DateTimeField(source="review_claimed_until")  # noqa: N815


class NextSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    data = ClaimedRowSerializer(
        allow_null=True, help_text="The conversation now claimed for you, or null: none left."
    )


class StatisticsSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    averageQuality = serializers.FloatField(source="average_quality", allow_null=True)  # noqa: N815
    oldestPendingAt = serializers.DateTimeField(source="oldest_pending_at", allow_null=True)  # noqa: N815
    approved = serializers.IntegerField()
    rejected = serializers.IntegerField()
    needsRevision = serializers.IntegerField(source="needs_revision")  # noqa: N815


class QueueSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    statistics = StatisticsSerializer()
    data = QueueRowSerializer(many=True)
    pagination = PaginationSerializer()


class ReviewResultSerializer(serializers.Serializer):
    conversationId = serializers.CharField(source="sent_id", help_text="The id as you sent it.")  # noqa: N815
    businessConversationId = serializers.UUIDField(source="conversation_id")  # noqa: N815
    status = serializers.SerializerMethodField()
    reviewStatus = serializers.CharField(source="review_status", allow_null=True)  # noqa: N815
    code = serializers.CharField(required=False, help_text="Why it was skipped.")
    error = serializers.CharField(required=False)

    def get_status(self, result) -> str:
        return "reviewed" if result.reviewed else "skipped"

    def to_representation(self, result) -> dict:
        data = super().to_representation(result)
        if result.reviewed:
            data.pop("code", None)
            data.pop("error", None)
        return data


class BulkReviewSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    reviewed = serializers.IntegerField()
    skipped = serializers.IntegerField()


class BulkReviewSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    summary = BulkReviewSummarySerializer()
    results = ReviewResultSerializer(many=True)
