"""REST API for batch jobs: their items and their progress."""

import uuid

from django.db.models import Count, Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from enrichment.api import AUTH_RESPONSES, error, invalid
from enrichment.models import EnrichmentStatus
from enrichment.serializers import ErrorSerializer, InvalidRequestSerializer

from .models import BatchItemStatus, BatchJob
from .serializers import BatchItemsResponseSerializer, BatchStatusResponseSerializer

DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 1000

JOB_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Unknown or not visible to you.")


def _item_counts(job: BatchJob) -> dict:
    counts = job.items.aggregate(
        total=Count("pk"),
        **{
            status: Count("pk", filter=Q(status=status))
            for status in (
                BatchItemStatus.COMPLETED,
                BatchItemStatus.FAILED,
                BatchItemStatus.QUEUED,
                BatchItemStatus.PROCESSING,
            )
        },
    )
    return {key: counts[key] for key in ("total", "completed", "failed", "queued", "processing")}


def _bounded_int(raw: str | None, *, default: int, maximum: int | None, name: str) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise ValueError(f"{name} must be a whole number ≥ 0.")
    value = int(raw)
    if maximum is not None and not 1 <= value <= maximum:
        raise ValueError(f"{name} must be between 1 and {maximum}.")
    return value


@extend_schema(
    operation_id="list_batch_items",
    parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, enum=BatchItemStatus.values),
        OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}),
        OpenApiParameter("offset", {"type": "integer", "minimum": 0}),
    ],
    responses={
        200: BatchItemsResponseSerializer,
        400: OpenApiResponse(InvalidRequestSerializer, description="Bad query parameter."),
        **AUTH_RESPONSES,
        404: JOB_NOT_FOUND,
    },
    description="The job's items in position order, a page at a time (`limit`, `offset`); "
    "`summary` counts all items of the job whatever the page or filter.",
)
@api_view(["GET"])
def batch_items_view(request: Request, job_id: uuid.UUID) -> Response:
    job = BatchJob.objects.visible_to(request.user).filter(pk=job_id).first()
    if job is None:
        return error(404, "Batch job not found.")
    status = request.query_params.get("status")
    if status is not None and status not in BatchItemStatus.values:
        return invalid({"status": [f"Must be one of: {', '.join(BatchItemStatus.values)}."]})
    try:
        limit = _bounded_int(
            request.query_params.get("limit"),
            default=DEFAULT_PAGE_SIZE,
            maximum=MAX_PAGE_SIZE,
            name="limit",
        )
        offset = _bounded_int(
            request.query_params.get("offset"), default=0, maximum=None, name="offset"
        )
    except ValueError as exc:
        return invalid({"pagination": [str(exc)]})
    items = job.items.select_related("conversation").order_by("position")
    if status:
        items = items.filter(status=status)
    # One row beyond the page tells whether there is a next page without a COUNT.
    page = list(items[offset : offset + limit + 1])
    has_more = len(page) > limit
    page = page[:limit]
    return Response(
        {
            "success": True,
            "jobId": str(job.pk),
            "summary": _item_counts(job),
            "data": [
                {
                    "id": str(item.pk),
                    "position": item.position,
                    "topic": item.topic,
                    "status": item.status,
                    "conversation_id": str(item.conversation_id) if item.conversation_id else None,
                    "conversation_business_id": (
                        str(item.conversation.conversation_id) if item.conversation else None
                    ),
                    "enrichment_status": (
                        item.conversation.enrichment_status if item.conversation else None
                    ),
                    "error_message": item.error_message or None,
                }
                for item in page
            ],
            "pagination": {
                "limit": limit,
                "offset": offset,
                "nextOffset": offset + limit if has_more else None,
            },
        }
    )


@extend_schema(
    operation_id="get_batch_status",
    responses={200: BatchStatusResponseSerializer, **AUTH_RESPONSES, 404: JOB_NOT_FOUND},
)
@api_view(["GET"])
def batch_status_view(request: Request, job_id: uuid.UUID) -> Response:
    job = BatchJob.objects.visible_to(request.user).filter(pk=job_id).first()
    if job is None:
        return error(404, "Batch job not found.")
    enrichment = job.items.filter(conversation__isnull=False).aggregate(
        conversations=Count("pk"),
        completed=Count("pk", filter=Q(conversation__enrichment_status=EnrichmentStatus.COMPLETED)),
        failed=Count("pk", filter=Q(conversation__enrichment_status__in=EnrichmentStatus.failed())),
        in_progress=Count(
            "pk", filter=Q(conversation__enrichment_status=EnrichmentStatus.IN_PROGRESS)
        ),
    )
    enrichment["not_enriched"] = (
        enrichment["conversations"]
        - enrichment["completed"]
        - enrichment["failed"]
        - enrichment["in_progress"]
    )
    return Response(
        {
            "success": True,
            "jobId": str(job.pk),
            "name": job.name,
            "status": job.status,
            "totalItems": job.total_items,
            "completedItems": job.completed_items,
            "successfulItems": job.successful_items,
            "failedItems": job.failed_items,
            "remainingItems": job.remaining_items,
            "progressPercent": job.progress_percent,
            "startedAt": job.started_at.isoformat() if job.started_at else None,
            "completedAt": job.completed_at.isoformat() if job.completed_at else None,
            "estimatedTimeRemaining": job.estimated_time_remaining,
            "enrichment": enrichment,
        }
    )
