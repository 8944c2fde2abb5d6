"""REST API for enriching conversations (DESIGN.md "REST API")."""

import logging
import uuid

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view, parser_classes
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from . import runs
from .models import Conversation, EnrichmentRun, ItemOutcome, RunSource
from .serializers import (
    START_RUN_REQUEST_SCHEMA,
    BulkEnrichRequestSerializer,
    BulkEnrichResponseSerializer,
    EnrichmentResultSerializer,
    EnrichmentStatusSerializer,
    ErrorSerializer,
    InvalidRequestSerializer,
    NotFoundSerializer,
    RunItemsResponseSerializer,
    RunSerializer,
    StartRunRequestSerializer,
    ValidationReportResponseSerializer,
)
from .services import ConversationsNotFound, bulk_enrich, enrich_one

logger = logging.getLogger("enrichment.api")

AUTH_RESPONSES = {
    401: OpenApiResponse(description="Not authenticated (no session, no valid token)."),
    403: OpenApiResponse(description="Authenticated but not allowed (e.g. missing CSRF token)."),
}
NOT_FOUND = OpenApiResponse(NotFoundSerializer, description="Unknown or not visible to you.")
FILE_RESPONSE = OpenApiResponse(OpenApiTypes.BINARY, description="The JSON file, as attachment.")


def error(status: int, message: str, **extra) -> Response:
    return Response({"success": False, "error": message, **extra}, status=status)


def invalid(details) -> Response:
    return error(400, "Invalid request", details=details)


def get_visible_conversation(request: Request, conversation_id: uuid.UUID) -> Conversation | None:
    """Find a conversation by either id form, if the caller may see it."""
    return (
        Conversation.objects.visible_to(request.user)
        .with_ids([conversation_id])
        .select_related("created_by")
        .first()
    )


def _acting_user(request: Request, user_id: str | None):
    """The user a bulk call acts for; raises PermissionError / LookupError."""
    user = request.user
    if user_id is None or user_id in {str(user.pk), user.get_username()}:
        return user
    if not user.is_staff:
        raise PermissionError
    if "\x00" in user_id:
        raise LookupError  # no username can hold it, and PostgreSQL refuses to compare it
    User = get_user_model()
    match = User.objects.filter(username=user_id).first()
    if match is None and user_id.isdigit():
        match = User.objects.filter(pk=int(user_id)).first()
    if match is None:
        raise LookupError
    return match


@extend_schema(
    operation_id="bulk_enrich_conversations",
    request=BulkEnrichRequestSerializer,
    responses={
        200: BulkEnrichResponseSerializer,
        400: OpenApiResponse(InvalidRequestSerializer, description="Bad body (see details)."),
        **AUTH_RESPONSES,
        404: OpenApiResponse(
            NotFoundSerializer, description="Some ids unknown or invisible; nothing processed."
        ),
        500: OpenApiResponse(ErrorSerializer, description="A failure outside any conversation."),
    },
    description="Enrich 1 to 100 conversations. Completed ones are skipped "
    "(`already_enriched`), ones being enriched elsewhere too (`in_progress`), and ones "
    "deactivated while the request ran (`inactive`). "
    "One conversation's failure never stops the others.",
)
@api_view(["POST"])
@parser_classes([JSONParser])
def bulk_enrich_view(request: Request) -> Response:
    try:
        body = request.data
    except (ParseError, UnsupportedMediaType) as exc:
        return invalid({"body": [f"The body must be a JSON object: {exc.detail}"]})
    if not isinstance(body, dict):
        return invalid({"body": ["The body must be a JSON object."]})
    serializer = BulkEnrichRequestSerializer(data=body)
    if not serializer.is_valid():
        return invalid(serializer.errors)
    data = serializer.validated_data
    try:
        user = _acting_user(request, data.get("userId"))
    except PermissionError:
        return error(403, "userId names another user; only staff may act for others.")
    except LookupError:
        return error(404, "No such user.", missing=[data["userId"]])
    try:
        result = bulk_enrich(data["conversationIds"], user=user, sequential=data["sequential"])
    except ConversationsNotFound as exc:
        return error(404, "Some conversations were not found.", missing=exc.missing)
    except Exception:
        logger.exception("bulk-enrich failed outside any single conversation")
        return error(500, "Bulk enrichment failed unexpectedly; nothing further was processed.")
    return Response(result.as_response())


FORCE = OpenApiParameter(
    "force", OpenApiTypes.BOOL, description="Re-enrich even when already completed."
)


@extend_schema(
    methods=["GET"],
    operation_id="get_enrichment_status",
    responses={200: EnrichmentStatusSerializer, **AUTH_RESPONSES, 404: NOT_FOUND},
)
@extend_schema(
    methods=["POST"],
    operation_id="enrich_conversation",
    request=None,
    parameters=[FORCE],
    responses={
        200: OpenApiResponse(EnrichmentResultSerializer, description="Enriched or skipped."),
        **AUTH_RESPONSES,
        404: NOT_FOUND,
        422: OpenApiResponse(EnrichmentResultSerializer, description="Enrichment failed."),
    },
)
@api_view(["GET", "POST"])
def enrich_view(request: Request, conversation_id: uuid.UUID) -> Response:
    conversation = get_visible_conversation(request, conversation_id)
    if conversation is None:
        return error(404, "Conversation not found.", missing=[str(conversation_id)])
    if request.method == "GET":
        return Response(status_payload(conversation))
    force = request.query_params.get("force", "").lower() in {"1", "true", "yes"}
    outcome = enrich_one(conversation, force=force)
    return Response(
        outcome.as_result(str(conversation_id)), status=422 if outcome.status == "failed" else 200
    )


def status_payload(conversation: Conversation) -> dict:
    return {
        "conversation_id": str(conversation.conversation_id),
        "enrichment_status": conversation.enrichment_status,
        "can_enrich": conversation.can_enrich,
        "needs_retry": conversation.needs_retry,
        "enrichment_error": conversation.enrichment_error,
        "error_category": conversation.enrichment_error_category,
        "enriched_at": conversation.enriched_at.isoformat() if conversation.enriched_at else None,
    }


@extend_schema(
    operation_id="get_validation_report",
    responses={200: ValidationReportResponseSerializer, **AUTH_RESPONSES, 404: NOT_FOUND},
)
@api_view(["GET"])
def validation_report_view(request: Request, conversation_id: uuid.UUID) -> Response:
    conversation = get_visible_conversation(request, conversation_id)
    if conversation is None:
        return error(404, "Conversation not found.", missing=[str(conversation_id)])
    return Response(
        {
            "conversation_id": str(conversation.conversation_id),
            "enrichment_status": conversation.enrichment_status,
            "validation_report": conversation.validation_report,
            "normalization_report": conversation.normalization_report,
            "enrichment_error": conversation.enrichment_error,
            "error_category": conversation.enrichment_error_category,
        }
    )


def _file_response(path: str, filename: str) -> FileResponse | Response:
    try:
        handle = default_storage.open(path, "rb")
    except FileNotFoundError:
        return error(404, f"The file {path} is missing from storage.")
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type="application/json"
    )
    if not response.has_header("Content-Length"):
        # A stream from object storage: the size comes from the storage, not a seek.
        response["Content-Length"] = handle.size
    return response


@extend_schema(
    operation_id="download_raw_conversation",
    responses={200: FILE_RESPONSE, **AUTH_RESPONSES, 404: NOT_FOUND},
)
@api_view(["GET"])
def download_raw_view(request: Request, conversation_id: uuid.UUID):
    conversation = get_visible_conversation(request, conversation_id)
    if conversation is None:
        return error(404, "Conversation not found.", missing=[str(conversation_id)])
    path = conversation.raw_response_path or conversation.file_path
    if not path:
        return error(404, "This conversation has no stored file.")
    return _file_response(path, f"{conversation.conversation_id}.raw.json")


@extend_schema(
    operation_id="download_enriched_conversation",
    responses={
        200: FILE_RESPONSE,
        **AUTH_RESPONSES,
        404: NOT_FOUND,
        409: OpenApiResponse(ErrorSerializer, description="Not enriched (yet)."),
    },
)
@api_view(["GET"])
def download_enriched_view(request: Request, conversation_id: uuid.UUID):
    conversation = get_visible_conversation(request, conversation_id)
    if conversation is None:
        return error(404, "Conversation not found.", missing=[str(conversation_id)])
    if not conversation.is_completed or not conversation.enriched_file_path:
        return error(
            409,
            f"The conversation is not enriched (status: {conversation.enrichment_status}).",
            enrichmentStatus=conversation.enrichment_status,
        )
    return _file_response(
        conversation.enriched_file_path, f"{conversation.conversation_id}.enriched.json"
    )


# Background runs ------------------------------------------------------------------

RUN_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Unknown or not visible to you.")


def _visible_run(request: Request, run_id: uuid.UUID) -> EnrichmentRun | None:
    return EnrichmentRun.objects.visible_to(request.user).filter(pk=run_id).first()


def _batch_job_visible(user, job_id: uuid.UUID) -> bool:
    # Looked up by name: the enrichment app never imports batches.
    BatchJob = apps.get_model("batches", "BatchJob")
    return BatchJob.objects.visible_to(user).filter(pk=job_id).exists()


@extend_schema(
    operation_id="start_enrichment_run",
    request={"application/json": START_RUN_REQUEST_SCHEMA},
    responses={
        202: OpenApiResponse(RunSerializer, description="The run is queued."),
        400: OpenApiResponse(InvalidRequestSerializer, description="Bad body."),
        **AUTH_RESPONSES,
        404: OpenApiResponse(NotFoundSerializer, description="Ids or job not visible to you."),
        409: OpenApiResponse(ErrorSerializer, description="The selection is empty."),
    },
    description="Start a background enrichment of any number of conversations: by ids, "
    "by batch job (its completed items), or by enrichment status. Poll the run's URL.",
)
@api_view(["POST"])
@parser_classes([JSONParser])
def start_run_view(request: Request) -> Response:
    try:
        body = request.data
    except (ParseError, UnsupportedMediaType) as exc:
        return invalid({"body": [f"The body must be a JSON object: {exc.detail}"]})
    serializer = StartRunRequestSerializer(data=body if isinstance(body, dict) else None)
    if not isinstance(body, dict) or not serializer.is_valid():
        return invalid(
            serializer.errors if isinstance(body, dict) else {"body": ["Not an object."]}
        )
    data = serializer.validated_data
    job_id = data.get("batchJobId")
    if job_id is not None and not _batch_job_visible(request.user, job_id):
        return error(404, "Batch job not found.", missing=[str(job_id)])
    try:
        pks = runs.conversations_for_selection(
            user=request.user,
            conversation_ids=data.get("conversationIds"),
            statuses=data.get("status"),
            batch_job_id=job_id,
        )
        run = runs.start_run(
            pks,
            user=request.user,
            source=RunSource.API,
            description=_describe_selection(data, len(pks)),
            batch_job_id=job_id,
            force=data["force"],
        )
    except ConversationsNotFound as exc:
        return error(404, "Some conversations were not found.", missing=exc.missing)
    except runs.NothingToEnrich as exc:
        return error(409, str(exc))
    response = Response(runs.run_payload(run), status=202)
    response["Location"] = runs.run_payload(run)["url"]
    return response


def _describe_selection(data: dict, count: int) -> str:
    if data.get("batchJobId"):
        return f"Batch job {data['batchJobId']} ({count} conversations)"
    if data.get("status"):
        return f"Status {', '.join(data['status'])} ({count} conversations)"
    return f"{count} selected conversations"


@extend_schema(
    operation_id="get_enrichment_run",
    responses={200: RunSerializer, **AUTH_RESPONSES, 404: RUN_NOT_FOUND},
)
@api_view(["GET"])
def run_view(request: Request, run_id: uuid.UUID) -> Response:
    run = _visible_run(request, run_id)
    if run is None:
        return error(404, "Run not found.")
    return Response(runs.run_payload(run))


@extend_schema(
    operation_id="list_enrichment_run_items",
    parameters=[
        OpenApiParameter("outcome", OpenApiTypes.STR, enum=ItemOutcome.values),
        OpenApiParameter("offset", {"type": "integer", "minimum": 0}),
    ],
    responses={
        200: RunItemsResponseSerializer,
        400: OpenApiResponse(InvalidRequestSerializer, description="Bad query parameter."),
        **AUTH_RESPONSES,
        404: RUN_NOT_FOUND,
    },
    description="The run's conversations and their outcomes, 500 at a time.",
)
@api_view(["GET"])
def run_items_view(request: Request, run_id: uuid.UUID) -> Response:
    run = _visible_run(request, run_id)
    if run is None:
        return error(404, "Run not found.")
    outcome = request.query_params.get("outcome")
    offset = request.query_params.get("offset", "0")
    if outcome is not None and outcome not in ItemOutcome.values:
        return invalid({"outcome": [f"Must be one of: {', '.join(ItemOutcome.values)}."]})
    if not offset.isdigit():
        return invalid({"offset": ["Must be a whole number ≥ 0."]})
    items = run.items.select_related("conversation").order_by("position")
    if outcome:
        items = items.filter(outcome=outcome)
    page_size, start = 500, int(offset)
    page = list(items[start : start + page_size + 1])
    return Response(
        {
            "run": runs.run_payload(run),
            "data": [
                {
                    "position": item.position,
                    "conversationId": str(item.conversation.conversation_id),
                    "outcome": item.outcome,
                    "enrichmentStatus": item.enrichment_status,
                    "error": item.error,
                    "errorCategory": item.error_category,
                    "reason": item.reason,
                    "durationMs": item.duration_ms,
                }
                for item in page[:page_size]
            ],
            "nextOffset": start + page_size if len(page) > page_size else None,
        }
    )


@extend_schema(
    operation_id="cancel_enrichment_run",
    request=None,
    responses={
        200: RunSerializer,
        **AUTH_RESPONSES,
        404: RUN_NOT_FOUND,
        409: OpenApiResponse(ErrorSerializer, description="The run has already ended."),
    },
)
@api_view(["POST"])
def cancel_run_view(request: Request, run_id: uuid.UUID) -> Response:
    run = _visible_run(request, run_id)
    if run is None:
        return error(404, "Run not found.")
    try:
        run = runs.cancel_run(run)
    except runs.RunNotCancellable as exc:
        return error(409, str(exc), run=runs.run_payload(run))
    return Response(runs.run_payload(run))


@extend_schema(
    operation_id="retry_failed_of_enrichment_run",
    request=None,
    responses={
        202: OpenApiResponse(RunSerializer, description="A new run over the failed ones."),
        **AUTH_RESPONSES,
        404: RUN_NOT_FOUND,
        409: OpenApiResponse(ErrorSerializer, description="Nothing failed in this run."),
    },
)
@api_view(["POST"])
def retry_failed_run_view(request: Request, run_id: uuid.UUID) -> Response:
    run = _visible_run(request, run_id)
    if run is None:
        return error(404, "Run not found.")
    try:
        retry = runs.retry_failed(run, user=request.user, source=RunSource.API)
    except runs.NothingToEnrich as exc:
        return error(409, str(exc))
    response = Response(runs.run_payload(retry), status=202)
    response["Location"] = runs.run_payload(retry)["url"]
    return response
