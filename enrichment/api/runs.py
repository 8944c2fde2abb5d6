"""The background runs API: start one over any selection, follow it, cancel it, retry its
failures."""

import uuid

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.errors import (
    ERROR_RESPONSES,
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    error_response,
    not_found,
)
from core.api.pages import PageSize, paginate
from core.api.params import choice, choice_parameter
from enrichment.models import EnrichmentRun, ItemOutcome, RunSource, RunStatus
from enrichment.runs.lifecycle import RunStarted, cancel_run, retry_failed
from enrichment.selection import Selection, select_batch_job, select_ids, select_statuses
from enrichment.serializers import (
    RunConflictSerializer,
    RunItemSerializer,
    RunItemsResponseSerializer,
    RunListSerializer,
    RunSerializer,
    StartRunRequestSerializer,
    start_run_request_schema,
)
from enrichment.services import enrich

ITEM_PAGE = PageSize(default=500, maximum=1000)
RUN_PAGE = PageSize(default=50, maximum=500)
STARTED = OpenApiResponse(RunSerializer, description="The run is queued.")
ALREADY_RUNNING = OpenApiResponse(
    RunSerializer, description="An unfinished run over the same scope, returned instead."
)


def visible_run(request: Request, run_id: uuid.UUID) -> EnrichmentRun:
    run = EnrichmentRun.objects.visible_to(request.user).filter(pk=run_id).first()
    if run is None:
        raise not_found("Run not found.", missing=[str(run_id)])
    return run


def run_response(started: RunStarted) -> Response:
    data = RunSerializer(started.run).data
    return Response(data, status=202 if started.created else 200, headers={"Location": data["url"]})


def _selection(data: dict, *, user) -> Selection:
    if "conversationIds" in data:
        return select_ids(data["conversationIds"], user=user)
    if "batchJobId" in data:
        return select_batch_job(data["batchJobId"], user=user)
    return select_statuses(data["status"], user=user)


@extend_schema(
    methods=["GET"],
    operation_id="list_enrichment_runs",
    parameters=[choice_parameter("status", RunStatus.values), *RUN_PAGE.parameters()],
    responses={200: RunListSerializer, 400: INVALID, **ERROR_RESPONSES},
    description="Your runs (staff: everyone's), newest first, a page at a time.",
)
@extend_schema(
    methods=["POST"],
    operation_id="start_enrichment_run",
    request={"application/json": start_run_request_schema()},
    responses={
        200: ALREADY_RUNNING,
        202: STARTED,
        400: INVALID,
        **ERROR_RESPONSES,
        404: OpenApiResponse(NOT_FOUND.response, description="Ids or scope not visible to you."),
        409: error_response("The selection is empty."),
        413: TOO_LARGE,
    },
    description="Start a background enrichment of any number of conversations: by ids, "
    "by batch job (its completed items), or by enrichment status. Poll the run's URL. "
    "A batch job that already has an unfinished run gets that run back (200).",
)
@api_view(["GET", "POST"])
def runs_view(request: Request) -> Response:
    if request.method == "GET":
        return _list_runs(request)
    serializer = StartRunRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    selection = _selection(data, user=request.user)
    started = enrich(
        selection,
        user=request.user,
        source=RunSource.API,
        force=data["force"],
        background=True,
    )
    return run_response(started)


def _list_runs(request: Request) -> Response:
    status = choice(request, "status", RunStatus.values)
    runs = EnrichmentRun.objects.visible_to(request.user).order_by("-created_at", "-pk")
    if status:
        runs = runs.filter(status=status)
    page = paginate(request, runs, RUN_PAGE)
    return Response(
        {
            "success": True,
            "data": RunSerializer(page.rows, many=True).data,
            "pagination": page.pagination,
        }
    )


@extend_schema(
    operation_id="get_enrichment_run",
    responses={200: RunSerializer, **ERROR_RESPONSES, 404: NOT_FOUND},
)
@api_view(["GET"])
def run_view(request: Request, run_id: uuid.UUID) -> Response:
    return Response(RunSerializer(visible_run(request, run_id)).data)


@extend_schema(
    operation_id="list_enrichment_run_items",
    parameters=[
        choice_parameter("outcome", ItemOutcome.values),
        *ITEM_PAGE.parameters(),
    ],
    responses={200: RunItemsResponseSerializer, 400: INVALID, **ERROR_RESPONSES, 404: NOT_FOUND},
    description="The run's conversations and their outcomes in position order, a page at a time.",
)
@api_view(["GET"])
def run_items_view(request: Request, run_id: uuid.UUID) -> Response:
    run = visible_run(request, run_id)
    outcome = choice(request, "outcome", ItemOutcome.values)
    items = (
        run.items.select_related("conversation")
        .only(
            "position",
            "outcome",
            "enrichment_status",
            "error",
            "error_category",
            "reason",
            "duration_ms",
            "conversation__conversation_id",
        )
        .order_by("position")
    )
    if outcome:
        items = items.filter(outcome=outcome)
    page = paginate(request, items, ITEM_PAGE, key="position")
    return Response(
        {
            "success": True,
            "run": RunSerializer(run).data,
            "data": RunItemSerializer(page.rows, many=True).data,
            "pagination": page.pagination,
        }
    )


@extend_schema(
    operation_id="cancel_enrichment_run",
    request=None,
    responses={
        200: RunSerializer,
        **ERROR_RESPONSES,
        404: NOT_FOUND,
        409: OpenApiResponse(RunConflictSerializer, description="The run has already ended."),
    },
)
@api_view(["POST"])
def cancel_run_view(request: Request, run_id: uuid.UUID) -> Response:
    run = cancel_run(visible_run(request, run_id))
    return Response(RunSerializer(run).data)


@extend_schema(
    operation_id="retry_failed_of_enrichment_run",
    request=None,
    responses={
        200: ALREADY_RUNNING,
        202: OpenApiResponse(RunSerializer, description="A new run over the failed ones."),
        **ERROR_RESPONSES,
        404: NOT_FOUND,
        409: error_response("Nothing failed in this run."),
    },
)
@api_view(["POST"])
def retry_failed_run_view(request: Request, run_id: uuid.UUID) -> Response:
    run = visible_run(request, run_id)
    return run_response(retry_failed(run, user=request.user, source=RunSource.API))
