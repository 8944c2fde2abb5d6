"""REST API for feeding batch jobs, the way a generator works: create a job, add items
(up to 100 a call) as they are generated, then complete or fail it. Cancelling a job
(``POST /api/batch-jobs/<id>/cancel``) is generation's (``generation.api.control``): it
ends a job fed from outside at once, and winds a generation job down."""

import uuid

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus
from core.api.errors import (
    ERROR_RESPONSES,
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    invalid,
)
from core.api.pages import PageSize, paginate
from core.api.params import choice, choice_parameter
from core.sections import with_sections
from intake.items import (
    COMPLETED,
    FAILED,
    SKIPPED,
    NewItem,
    add_items,
    create_batch_job,
    finish_job,
)
from intake.schema import ADD_ITEMS_REQUEST, CREATE_JOB_REQUEST
from intake.serializers import (
    AddItemsRequestSerializer,
    AddItemsResponseSerializer,
    BatchJobItemSerializer,
    BatchJobItemsResponseSerializer,
    BatchJobListSerializer,
    BatchJobSerializer,
    CreateBatchJobRequestSerializer,
    FinishBatchJobResponseSerializer,
    ItemResultSerializer,
    JobConflictSerializer,
)

from .items import ITEM_PAGE, visible_job

JOB_PAGE = PageSize(default=50, maximum=500)
NOT_OPEN = OpenApiResponse(
    JobConflictSerializer, description="The job has finished: it takes no more items."
)


def _job_data(job: BatchJob) -> dict:
    return BatchJobSerializer(job).data


@extend_schema(
    methods=["GET"],
    operation_id="list_batch_jobs",
    parameters=[
        OpenApiParameter("status", {"type": "string", "enum": BatchJobStatus.values}),
        *JOB_PAGE.parameters(),
    ],
    responses={200: BatchJobListSerializer, 400: INVALID, **ERROR_RESPONSES},
    description="Your batch jobs (staff: everyone's), newest first, a page at a time.",
)
@extend_schema(
    methods=["POST"],
    operation_id="create_batch_job",
    request={"application/json": CREATE_JOB_REQUEST},
    responses={
        201: OpenApiResponse(BatchJobSerializer, description="The job, queued for items."),
        400: INVALID,
        **ERROR_RESPONSES,
        413: TOO_LARGE,
    },
    description="Create an empty batch job; add items to it, then complete it.",
)
@api_view(["GET", "POST"])
def batch_jobs_view(request: Request) -> Response:
    if request.method == "POST":
        serializer = CreateBatchJobRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = create_batch_job(
            owner=request.user,
            name=data["name"],
            auto_enrich=data["autoEnrich"],
            tier=data["tier"],
            priority=data["priority"],
        )
        body = _job_data(job)
        return Response(body, status=201, headers={"Location": body["url"]})
    status = request.query_params.get("status")
    if status is not None and status not in BatchJobStatus.values:
        raise invalid({"status": [f"Must be one of: {', '.join(BatchJobStatus.values)}."]})
    jobs = with_sections(
        "batch_job", BatchJob.objects.visible_to(request.user).order_by("-created_at", "-id")
    )
    if status:
        jobs = jobs.filter(status=status)
    page = paginate(request, jobs, JOB_PAGE)
    return Response(
        {
            "success": True,
            "data": BatchJobSerializer(page.rows, many=True).data,
            "pagination": page.pagination,
        }
    )


def _list_items(request: Request, job: BatchJob) -> Response:
    status = choice(request, "status", BatchItemStatus.values)
    items = with_sections(
        "batch_item",
        job.items.select_related(
            "conversation__persona",
            "conversation__emotional_arc",
            "conversation__training_topic",
        ).order_by("position"),
    )
    if status:
        items = items.filter(status=status)
    page = paginate(request, items, ITEM_PAGE, key="position")
    return Response(
        {
            "success": True,
            "data": BatchJobItemSerializer(page.rows, many=True).data,
            "pagination": page.pagination,
        }
    )


@extend_schema(
    operation_id="get_batch_job",
    responses={200: BatchJobSerializer, **ERROR_RESPONSES, 404: NOT_FOUND},
)
@api_view(["GET"])
def batch_job_view(request: Request, job_id: uuid.UUID) -> Response:
    return Response(_job_data(visible_job(request, job_id)))


@extend_schema(
    methods=["GET"],
    operation_id="list_batch_job_items",
    parameters=[
        choice_parameter("status", BatchItemStatus.values),
        *ITEM_PAGE.parameters(),
    ],
    responses={
        200: BatchJobItemsResponseSerializer,
        400: INVALID,
        **ERROR_RESPONSES,
        404: NOT_FOUND,
    },
    description="The job's items in position order, a page at a time (`limit`, `offset`), "
    "with the scaffolding keys each was made from; a generated item also shows its "
    "`generation`: attempts the provider answered, the last `stopReason` and "
    "`parseMethod`.",
)
@extend_schema(
    methods=["POST"],
    operation_id="add_batch_items",
    request={"application/json": ADD_ITEMS_REQUEST},
    responses={
        200: AddItemsResponseSerializer,
        400: INVALID,
        **ERROR_RESPONSES,
        404: NOT_FOUND,
        409: NOT_OPEN,
        413: TOO_LARGE,
    },
    description="Add 1 to 100 items, stored as the job's next positions, all or none. "
    "Each item is a `conversation` document, the model's `raw` text (not valid JSON: the "
    "item is `failed` with the parse error and its conversation is kept), or the `error` "
    "of a generation that failed. Content you imported before is `skipped` as a "
    "`duplicate` unless `allowDuplicates`.",
)
@api_view(["GET", "POST"])
def batch_job_items_view(request: Request, job_id: uuid.UUID) -> Response:
    job = visible_job(request, job_id)
    if request.method == "GET":
        return _list_items(request, job)
    serializer = AddItemsRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    items = [
        NewItem(
            conversation=item.get("conversation"),
            raw=item.get("raw"),
            error=item.get("error"),
            topic=item.get("topic", ""),
            name=item.get("name", ""),
            parameters=item.get("parameters", {}),
        )
        for item in data["items"]
    ]
    added = add_items(job, items, allow_duplicates=data["allowDuplicates"])
    return Response(
        {
            "success": True,
            "job": _job_data(added.job),
            "summary": {
                "added": len(items) - added.count(SKIPPED),
                "completed": added.count(COMPLETED),
                "failed": added.count(FAILED),
                "skipped": added.count(SKIPPED),
            },
            "items": ItemResultSerializer(added.results, many=True).data,
        }
    )


def _finish(request: Request, job_id: uuid.UUID, status: str) -> Response:
    job = visible_job(request, job_id)
    job, run = finish_job(job, status=status)
    return Response(
        FinishBatchJobResponseSerializer({"success": True, "job": job, "enrichmentRun": run}).data
    )


def _finish_schema(operation_id: str, description: str):
    return extend_schema(
        operation_id=operation_id,
        request=None,
        responses={
            200: FinishBatchJobResponseSerializer,
            **ERROR_RESPONSES,
            404: NOT_FOUND,
            409: OpenApiResponse(
                JobConflictSerializer, description="The job has already ended in another state."
            ),
        },
        description=description
        + " With `autoEnrich`, its conversations are enriched in the background "
        "(`enrichmentRun`). Asking again for the state it is in changes nothing.",
    )


@_finish_schema(
    "complete_batch_job",
    "Finish the job: `completed`, or `failed` when every item failed.",
)
@api_view(["POST"])
def complete_batch_job_view(request: Request, job_id: uuid.UUID) -> Response:
    return _finish(request, job_id, BatchJobStatus.COMPLETED)


@_finish_schema("fail_batch_job", "End the job as `failed` (its generation broke off).")
@api_view(["POST"])
def fail_batch_job_view(request: Request, job_id: uuid.UUID) -> Response:
    return _finish(request, job_id, BatchJobStatus.FAILED)
