"""REST API for batch jobs: their items and their progress."""

import uuid

from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from conversations.models import BatchItemStatus, BatchJob
from core.api.errors import ERROR_RESPONSES, INVALID, NOT_FOUND, not_found
from core.api.pages import PageSize, paginate
from core.api.params import choice, choice_parameter
from intake.serializers import (
    BatchItemSerializer,
    BatchItemsResponseSerializer,
    BatchStatusResponseSerializer,
)

ITEM_PAGE = PageSize(default=500, maximum=1000)
# What an item row of the API shows (a page of 500 reads nothing else).
ITEM_FIELDS = ("id", "position", "topic", "status", "conversation_id", "error_message")


def visible_job(request: Request, job_id: uuid.UUID) -> BatchJob:
    job = BatchJob.objects.visible_to(request.user).filter(pk=job_id).first()
    if job is None:
        raise not_found("Batch job not found.", missing=[str(job_id)])
    return job


def _item_counts(job: BatchJob) -> dict:
    if job.is_finished and job.completed_items == job.total_items:
        # Every item was processed, and finishing counted them (``finish_batch_job``):
        # the job's counters say it all, without reading its items.
        return {
            "total": job.total_items,
            "completed": job.successful_items,
            "failed": job.failed_items,
            "cancelled": job.cancelled_items,
            "queued": 0,
            "processing": 0,
        }
    counts = job.items.aggregate(
        total=Count("pk"),
        **{status: Count("pk", filter=Q(status=status)) for status in BatchItemStatus.values},
    )
    return {key: counts[key] for key in ("total", *BatchItemStatus.values)}


@extend_schema(
    operation_id="list_batch_items",
    parameters=[
        choice_parameter("status", BatchItemStatus.values),
        *ITEM_PAGE.parameters(),
    ],
    responses={200: BatchItemsResponseSerializer, 400: INVALID, **ERROR_RESPONSES, 404: NOT_FOUND},
    description="The job's items in position order, a page at a time (`limit`, `offset`); "
    "`summary` counts all items of the job whatever the page or filter. The `data` rows keep "
    "the original system's column names (`conversation_id`, `error_message`).",
)
@api_view(["GET"])
def batch_items_view(request: Request, job_id: uuid.UUID) -> Response:
    job = visible_job(request, job_id)
    status = choice(request, "status", BatchItemStatus.values)
    items = (
        job.items.select_related("conversation")
        .only(*ITEM_FIELDS, "conversation__conversation_id", "conversation__enrichment_status")
        .order_by("position")
    )
    if status:
        items = items.filter(status=status)
    page = paginate(request, items, ITEM_PAGE, key="position")
    return Response(
        {
            "success": True,
            "jobId": str(job.pk),
            "summary": _item_counts(job),
            "data": BatchItemSerializer(page.rows, many=True).data,
            "pagination": page.pagination,
        }
    )


@extend_schema(
    operation_id="get_batch_status",
    responses={200: BatchStatusResponseSerializer, **ERROR_RESPONSES, 404: NOT_FOUND},
    description="A job's progress, and its successful conversations (active ones, each "
    "once) by enrichment state, current with every enrichment recorded.",
)
@api_view(["GET"])
def batch_status_view(request: Request, job_id: uuid.UUID) -> Response:
    job = visible_job(request, job_id)
    return Response(BatchStatusResponseSerializer(job).data)
