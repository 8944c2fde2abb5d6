"""Response shapes of the batch API, for the OpenAPI schema."""

from rest_framework import serializers

from .models import BatchItemStatus, BatchJobStatus


class ItemSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    queued = serializers.IntegerField()
    processing = serializers.IntegerField()


class BatchItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    position = serializers.IntegerField()
    topic = serializers.CharField()
    status = serializers.ChoiceField(choices=BatchItemStatus.choices)
    conversation_id = serializers.UUIDField(allow_null=True, help_text="The conversation row id.")
    conversation_business_id = serializers.UUIDField(allow_null=True)
    enrichment_status = serializers.CharField(allow_null=True)
    error_message = serializers.CharField(allow_null=True)


class PaginationSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    nextOffset = serializers.IntegerField(allow_null=True)  # noqa: N815


class BatchItemsResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    jobId = serializers.UUIDField()  # noqa: N815
    summary = ItemSummarySerializer()
    data = BatchItemSerializer(many=True)
    pagination = PaginationSerializer()


class EnrichmentCountsSerializer(serializers.Serializer):
    conversations = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    not_enriched = serializers.IntegerField()


class BatchStatusResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    jobId = serializers.UUIDField()  # noqa: N815
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=BatchJobStatus.choices)
    totalItems = serializers.IntegerField()  # noqa: N815
    completedItems = serializers.IntegerField()  # noqa: N815
    successfulItems = serializers.IntegerField()  # noqa: N815
    failedItems = serializers.IntegerField()  # noqa: N815
    remainingItems = serializers.IntegerField()  # noqa: N815
    progressPercent = serializers.IntegerField()  # noqa: N815
    startedAt = serializers.DateTimeField(allow_null=True)  # noqa: N815
    completedAt = serializers.DateTimeField(allow_null=True)  # noqa: N815
    estimatedTimeRemaining = serializers.IntegerField(allow_null=True)  # noqa: N815
    enrichment = EnrichmentCountsSerializer()
