"""The conversations API: bulk and single enrichment, status, reports, downloads."""

import uuid

from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from conversations.models import Conversation, ProcessingStatus
from core.api.downloads import file_responses, stored_file_response
from core.api.errors import (
    ERROR_RESPONSES,
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    ApiError,
    error_response,
    not_found,
)
from core.api.params import flag, flag_parameter
from core.api.users import acting_user
from enrichment.models import RunSource
from enrichment.selection import select_ids
from enrichment.serializers import (
    BulkEnrichRequestSerializer,
    BulkResultSerializer,
    ConversationStatusSerializer,
    NotEnrichedSerializer,
    SingleOutcomeSerializer,
    ValidationReportSerializer,
)
from enrichment.services import BulkResult, enrich, enrich_one

ENRICHED_FILE = OpenApiResponse(
    {"type": "object", "additionalProperties": True},
    description="The enriched JSON file itself, as an attachment.",
)
RAW_FILE = file_responses(
    "The conversation as it was sent, as an attachment: JSON (`.raw.json`) when it parsed, "
    "else the text as it came, `text/plain` (`.raw.txt`); read it as bytes.",
    {
        "application/json": {"type": "object", "additionalProperties": True},
        "text/plain": {"type": "string"},
    },
)


def visible_conversation(request: Request, conversation_id: uuid.UUID) -> Conversation:
    """A conversation by either id form, if the caller may see it; else 404."""
    conversation = (
        Conversation.objects.visible_to(request.user)
        .with_ids([conversation_id])
        .select_related("created_by")
        .first()
    )
    if conversation is None:
        raise not_found("Conversation not found.", missing=[str(conversation_id)])
    return conversation


@extend_schema(
    operation_id="bulk_enrich_conversations",
    request=BulkEnrichRequestSerializer,
    responses={
        200: BulkResultSerializer,
        400: INVALID,
        **ERROR_RESPONSES,
        404: OpenApiResponse(
            NOT_FOUND.response, description="Some ids unknown or invisible; nothing processed."
        ),
        413: TOO_LARGE,
        500: error_response("A failure outside any conversation."),
    },
    description="Enrich 1 to 100 conversations. Completed ones are skipped "
    "(`already_enriched`), ones being enriched elsewhere too (`in_progress`), and ones "
    "deactivated while the request ran (`inactive`). "
    "One conversation's failure never stops the others.",
)
@api_view(["POST"])
def bulk_enrich_view(request: Request) -> Response:
    serializer = BulkEnrichRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    user = acting_user(request, data.get("userId"))
    result = enrich(
        select_ids(data["conversationIds"], user=user),
        user=user,
        source=RunSource.API,
        sequential=data["sequential"],
        background=False,
    )
    assert isinstance(result, BulkResult)
    return Response(BulkResultSerializer(result).data)


FORCE = flag_parameter("force", description="Re-enrich even when already completed.")


@extend_schema(
    methods=["GET"],
    operation_id="get_enrichment_status",
    responses={200: ConversationStatusSerializer, **ERROR_RESPONSES, 404: NOT_FOUND},
)
@extend_schema(
    methods=["POST"],
    operation_id="enrich_conversation",
    request=None,
    parameters=[FORCE],
    responses={
        200: OpenApiResponse(SingleOutcomeSerializer, description="Enriched or skipped."),
        400: INVALID,
        **ERROR_RESPONSES,
        404: NOT_FOUND,
        422: OpenApiResponse(SingleOutcomeSerializer, description="Enrichment failed."),
    },
)
@api_view(["GET", "POST"])
def enrich_view(request: Request, conversation_id: uuid.UUID) -> Response:
    conversation = visible_conversation(request, conversation_id)
    if request.method == "GET":
        return Response(ConversationStatusSerializer(conversation).data)
    force = flag(request, "force")
    outcome = enrich_one(conversation, user=request.user, source=RunSource.API, force=force)
    context = {"sent_ids": {outcome.pk: str(conversation_id)}}
    data = SingleOutcomeSerializer(outcome, context=context).data
    return Response(data, status=422 if outcome.status == "failed" else 200)


@extend_schema(
    operation_id="get_validation_report",
    responses={200: ValidationReportSerializer, **ERROR_RESPONSES, 404: NOT_FOUND},
)
@api_view(["GET"])
def validation_report_view(request: Request, conversation_id: uuid.UUID) -> Response:
    conversation = visible_conversation(request, conversation_id)
    return Response(ValidationReportSerializer(conversation).data)


@extend_schema(
    operation_id="download_raw_conversation",
    responses={**RAW_FILE, **ERROR_RESPONSES, 404: NOT_FOUND},
)
@api_view(["GET"])
def download_raw_view(request: Request, conversation_id: uuid.UUID) -> FileResponse:
    conversation = visible_conversation(request, conversation_id)
    path = conversation.raw_response_path or conversation.file_path
    if not path:
        raise not_found("This conversation has no stored file.")
    if conversation.processing_status == ProcessingStatus.PARSE_FAILED:
        # The model's text as it came, which is not a JSON document: plain text.
        name = conversation.download_name("raw").removesuffix(".json") + ".txt"
        return stored_file_response(path, name, "text/plain; charset=utf-8")
    return stored_file_response(path, conversation.download_name("raw"), "application/json")


@extend_schema(
    operation_id="download_enriched_conversation",
    responses={
        200: ENRICHED_FILE,
        **ERROR_RESPONSES,
        404: NOT_FOUND,
        409: OpenApiResponse(NotEnrichedSerializer, description="Not enriched (yet)."),
    },
)
@api_view(["GET"])
def download_enriched_view(request: Request, conversation_id: uuid.UUID) -> FileResponse:
    conversation = visible_conversation(request, conversation_id)
    if not conversation.is_completed or not conversation.enriched_file_path:
        raise ApiError(
            409,
            f"The conversation is not enriched (status: {conversation.enrichment_status}).",
            code="not_enriched",
            enrichmentStatus=conversation.enrichment_status,
        )
    return stored_file_response(
        conversation.enriched_file_path,
        conversation.download_name("enriched"),
        "application/json",
    )
