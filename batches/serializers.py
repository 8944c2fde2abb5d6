"""Response shapes of the batch API: what the views answer and the schema documents."""

from rest_framework import serializers

from .models import BatchItemStatus, BatchJobStatus


class ItemSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    queued = serializers.IntegerField()
    processing = serializers.IntegerField()


class BatchItemSerializer(serializers.Serializer):
    """One item, with the original's column names (its client reads them): the one place
    the API answers in snake_case."""

    id = serializers.UUIDField()
    position = serializers.IntegerField()
    topic = serializers.CharField()
    status = serializers.ChoiceField(choices=BatchItemStatus.choices)
    conversation_id = serializers.UUIDField(allow_null=True, help_text="The conversation row id.")
    conversation_business_id = serializers.UUIDField(
        source="conversation.conversation_id", allow_null=True, default=None
    )
    enrichment_status = serializers.CharField(
        source="conversation.enrichment_status", allow_null=True, default=None
    )
    error_message = serializers.SerializerMethodField()

    def get_error_message(self, item) -> str | None:
        return item.error_message or None


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
    """A job's stored conversation counts (``BatchJob.conversations_*``)."""

    conversations = serializers.IntegerField(source="conversations_total")
    completed = serializers.IntegerField(source="conversations_enriched")
    failed = serializers.IntegerField(source="conversations_failed")
    inProgress = serializers.IntegerField(source="conversations_in_progress")  # noqa: N815
    notEnriched = serializers.SerializerMethodField()  # noqa: N815
    countedAt = serializers.DateTimeField(  # noqa: N815
        source="conversations_counted_at", allow_null=True
    )
    current = serializers.BooleanField(
        source="counts_are_current", help_text="False while they are being counted again."
    )

    def get_notEnriched(self, job) -> int:  # noqa: N802
        return (
            job.conversations_total
            - job.conversations_enriched
            - job.conversations_failed
            - job.conversations_in_progress
        )


class BatchStatusResponseSerializer(serializers.Serializer):
    """A job's progress and the enrichment counts of its conversations."""

    success = serializers.SerializerMethodField()
    jobId = serializers.UUIDField(source="pk")  # noqa: N815
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
