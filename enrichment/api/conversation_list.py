"""The conversations list of the API: the ones you may see, filtered by batch job,
enrichment status or a search, newest first, a page at a time."""

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from conversations.models import BatchJob, Conversation, EnrichmentStatus, jobs_of
from core.api.errors import ERROR_RESPONSES, INVALID, NOT_FOUND, invalid, not_found
from core.api.pages import PageSize, PaginationSerializer, paginate
from core.api.params import choice, choice_parameter

from ..forms import ANY_FAILURE, search

CONVERSATION_PAGE = PageSize(default=50, maximum=500)
STATUSES = [*EnrichmentStatus.values, ANY_FAILURE]
MAX_SEARCH_LENGTH = 200


class JobRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ConversationRowSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The row id.")
    conversationId = serializers.UUIDField(source="conversation_id")  # noqa: N815
    name = serializers.CharField(source="conversation_name")
    enrichmentStatus = serializers.CharField(source="enrichment_status")  # noqa: N815
    errorCategory = serializers.CharField(  # noqa: N815
        source="enrichment_error_category", allow_null=True
    )
    tier = serializers.CharField()
    turnCount = serializers.IntegerField(source="turn_count")  # noqa: N815
    qualityScore = serializers.FloatField(source="quality_score", allow_null=True)  # noqa: N815
    persona = serializers.CharField(source="persona.name", allow_null=True, default=None)
    batchJobs = JobRefSerializer(  # noqa: N815
        source="batch_jobs", many=True, help_text="The batch jobs it belongs to, oldest first."
    )
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815
    enrichedAt = serializers.DateTimeField(source="enriched_at", allow_null=True)  # noqa: N815


class ConversationListSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    data = ConversationRowSerializer(many=True)
    pagination = PaginationSerializer()


def _batch_job(request: Request) -> uuid.UUID | None:
    raw = request.query_params.get("batchJobId")
    if raw is None:
        return None
    try:
        job_id = uuid.UUID(raw)
    except ValueError:
        raise invalid({"batchJobId": ["Must be a batch job id (a UUID)."]}) from None
    if not BatchJob.objects.visible_to(request.user).filter(pk=job_id).exists():
        raise not_found("Batch job not found.", missing=[raw])
    return job_id


def _search(request: Request) -> str | None:
    raw = request.query_params.get("search")
    if raw is None:
        return None
    text = raw.strip()
    if not text or len(text) > MAX_SEARCH_LENGTH or "\x00" in text:
        raise invalid({"search": [f"Must be 1 to {MAX_SEARCH_LENGTH} characters (no NUL)."]})
    return text


@extend_schema(
    operation_id="list_conversations",
    parameters=[
        choice_parameter(
            "status",
            STATUSES,
            description=f"Enrichment status; `{ANY_FAILURE}` is any of the failed ones.",
        ),
        OpenApiParameter(
            "batchJobId",
            {"type": "string", "format": "uuid"},
            description="Only the conversations of this batch job's items.",
        ),
        OpenApiParameter(
            "search",
            {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_SEARCH_LENGTH,
                "pattern": r"^[^\u0000]*$",
            },
            description="Name or persona name containing this (any case), or either id.",
        ),
        *CONVERSATION_PAGE.parameters(),
    ],
    responses={
        200: ConversationListSerializer,
        400: INVALID,
        **ERROR_RESPONSES,
        404: NOT_FOUND,
    },
    description="Your conversations (staff: everyone's; deactivated ones are left out), "
    "newest first, a page at a time. An unknown batch job, or one not visible to you, is "
    "a 404.",
)
@api_view(["GET"])
def conversation_list_view(request: Request) -> Response:
    status = choice(request, "status", STATUSES)
    job_id = _batch_job(request)
    text = _search(request)
    conversations = Conversation.objects.visible_to(request.user).for_list()
    if status == ANY_FAILURE:
        conversations = conversations.failed()
    elif status:
        conversations = conversations.filter(enrichment_status=status)
    if job_id is not None:
        conversations = conversations.filter(
            pk__in=Conversation.objects.in_batch_job(job_id).values("pk")
        )
    if text is not None:
        conversations = conversations.filter(search(text))
    page = paginate(request, conversations.order_by("-created_at", "-id"), CONVERSATION_PAGE)
    jobs = jobs_of([row.pk for row in page.rows])
    for row in page.rows:
        row.batch_jobs = [{"id": pk, "name": name} for pk, name in jobs.get(row.pk, [])]
    return Response(
        {
            "success": True,
            "data": ConversationRowSerializer(page.rows, many=True).data,
            "pagination": page.pagination,
        }
    )
