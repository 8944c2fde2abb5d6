"""The review API: the queue with its statistics, and review actions on one
conversation or up to 100 at once."""

import uuid

from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from conversations.models import Conversation, ReviewStatus
from core.api.errors import (
    ERROR_RESPONSES,
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    error_response,
    invalid,
    not_found,
)
from core.api.pages import PageSize, paginate
from enrichment.selection import ConversationsNotFound

from ..queue import FAILURE_CATEGORIES, SORTS, filters_from, may_review_others, queue, statistics
from ..serializers import (
    BulkReviewRequestSerializer,
    BulkReviewSerializer,
    NextRequestSerializer,
    NextSerializer,
    QueueRowSerializer,
    QueueSerializer,
    ReviewedSerializer,
    ReviewRequestSerializer,
    StatisticsSerializer,
)
from ..services import next_for_review, release, review, review_many

QUEUE_PAGE = PageSize(default=50, maximum=500)
REFUSED = {
    403: error_response(
        "Not yours, and you lack the permission to review others' conversations "
        "(code review_forbidden)."
    ),
    409: error_response(
        "Not enriched yet (not_reviewable), held by another reviewer (claimed, with "
        "claimedBy), or no longer in expectedStatus (review_changed, with reviewStatus)."
    ),
}


def _candidates(user) -> QuerySet[Conversation]:
    """Active conversations the caller may name: their own, or everyone's for staff and
    reviewers of others (the review itself checks the permission)."""
    rows = Conversation.objects.filter(is_active=True)
    if user.is_staff or may_review_others(user):
        return rows
    return rows.filter(created_by=user)


def _string(name: str, description: str) -> OpenApiParameter:
    # A key: what a text column can hold (no NUL), as long as a key can be.
    schema = {"type": "string", "maxLength": 100, "pattern": r"^[^\u0000]*$"}
    return OpenApiParameter(name, schema, description=description)


QUEUE_FILTERS = [
    OpenApiParameter(
        "status",
        {"type": "string", "enum": ReviewStatus.values, "default": "pending_review"},
    ),
    OpenApiParameter("batch", {"type": "string", "format": "uuid"}, description="Batch job id."),
    _string("persona", "Persona key."),
    _string("arc", "Emotional arc key."),
    _string("topic", "Training topic key."),
    OpenApiParameter("qualityMin", {"type": "number", "minimum": 0, "maximum": 5}),
    OpenApiParameter("qualityMax", {"type": "number", "minimum": 0, "maximum": 5}),
    OpenApiParameter(
        "failureCategory",
        {"type": "string", "enum": FAILURE_CATEGORIES},
        description="The category of the latest failed re-enrichment.",
    ),
    OpenApiParameter(
        "sort",
        {"type": "string", "enum": list(SORTS), "default": "age"},
        description="age: oldest enrichment first; quality: lowest score first (unscored "
        "last); a leading - reverses.",
    ),
]
QUEUE_PARAMETERS = [*QUEUE_FILTERS, *QUEUE_PAGE.parameters()]


@extend_schema(
    operation_id="get_review_queue",
    parameters=QUEUE_PARAMETERS,
    responses={200: QueueSerializer, 400: INVALID, **ERROR_RESPONSES},
    description="The conversations waiting for your review (yours; everyone's with the "
    "reviewer permission), filtered and sorted, a page at a time, with statistics over "
    "the same filters whatever the status: pending, their average quality, the oldest "
    "pending, and how many are approved, rejected or need a revision.",
)
@api_view(["GET"])
def queue_view(request: Request) -> Response:
    filters, errors = filters_from(request.query_params, strict=True)
    if errors:
        raise invalid(errors)
    rows = queue(request.user, filters).select_related(
        "persona", "emotional_arc", "training_topic", "review_claimed_by"
    )
    page = paginate(request, rows, QUEUE_PAGE)
    context = {"now": timezone.now()}
    return Response(
        {
            "success": True,
            "statistics": StatisticsSerializer(statistics(request.user, filters)).data,
            "data": QueueRowSerializer(page.rows, many=True, context=context).data,
            "pagination": page.pagination,
        }
    )


@extend_schema(
    operation_id="claim_next_for_review",
    parameters=QUEUE_FILTERS,
    request=NextRequestSerializer,
    responses={200: NextSerializer, 400: INVALID, **ERROR_RESPONSES, 413: TOO_LARGE},
    description="Claim the next conversation of your queue (the filters and order of GET "
    "/api/review/queue) for REVIEW_CLAIM_SECONDS and answer it, or `data: null` when none "
    "is left. One you already hold comes first; one another reviewer holds is never "
    "offered, so reviewers asking at the same moment get different conversations. While "
    "you hold it, other reviewers' actions on it answer 409 `claimed`; your review "
    "action gives the claim back.",
)
@api_view(["POST"])
def next_view(request: Request) -> Response:
    filters, errors = filters_from(request.query_params, strict=True)
    serializer = NextRequestSerializer(data=request.data)
    if not serializer.is_valid():
        errors = {**errors, **serializer.errors}
    if errors:
        raise invalid(errors)
    skipped = serializer.validated_data["skip"]
    for pk in skipped:
        release(pk, request.user)
    row = next_for_review(request.user, filters, skip=skipped)
    context = {"now": timezone.now()}
    data = NextSerializer({"data": row}, context=context).data
    return Response(data)


@extend_schema(
    operation_id="review_conversation",
    request=ReviewRequestSerializer,
    responses={
        200: OpenApiResponse(ReviewedSerializer, description="Reviewed: its review fields."),
        400: INVALID,
        **ERROR_RESPONSES,
        **REFUSED,
        404: NOT_FOUND,
        413: TOO_LARGE,
    },
    description="Approve a conversation, reject it, or request a revision; rejecting and "
    "requesting a revision need a comment or at least one reason. The action goes into "
    "its review history; approving records who and when.",
)
@api_view(["POST"])
def review_view(request: Request, conversation_id: uuid.UUID) -> Response:
    conversation = _candidates(request.user).with_ids([conversation_id]).first()
    if conversation is None:
        raise not_found("Conversation not found.", missing=[str(conversation_id)])
    serializer = ReviewRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    row = review(
        conversation,
        request.user,
        data["action"],
        data["comment"],
        data["reasons"],
        expected_status=data.get("expectedStatus"),
        say_why=False,
    )
    return Response(ReviewedSerializer(row).data)


def _resolve(user, ids: list[uuid.UUID]) -> list[tuple[Conversation, str]]:
    wanted = list(dict.fromkeys(str(i) for i in ids))
    rows = list(_candidates(user).filter(Q(pk__in=wanted) | Q(conversation_id__in=wanted)))
    by_id = {}
    for row in rows:
        by_id[str(row.pk)] = by_id[str(row.conversation_id)] = row
    missing = [i for i in wanted if i not in by_id]
    if missing:
        raise ConversationsNotFound(missing)
    chosen: dict[uuid.UUID, tuple[Conversation, str]] = {}
    for sent in wanted:
        chosen.setdefault(by_id[sent].pk, (by_id[sent], sent))
    return list(chosen.values())


@extend_schema(
    operation_id="review_conversations",
    request=BulkReviewRequestSerializer,
    responses={
        200: BulkReviewSerializer,
        400: INVALID,
        **ERROR_RESPONSES,
        404: OpenApiResponse(
            NOT_FOUND.response, description="Some ids unknown or invisible; nothing reviewed."
        ),
        413: TOO_LARGE,
    },
    description="The same action on 1 to 100 conversations. Each is reviewed on its own: "
    "one that cannot be (another reviewer's claim, not enriched, not yours to review, not "
    "in `expectedStatus` any more: `review_changed`) is `skipped` with a `code` and left "
    "as it is, and never stops the others.",
)
@api_view(["POST"])
def bulk_review_view(request: Request) -> Response:
    serializer = BulkReviewRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    conversations = _resolve(request.user, data["conversationIds"])
    results = review_many(
        conversations,
        request.user,
        data["action"],
        data["comment"],
        data["reasons"],
        expected_status=data.get("expectedStatus"),
        say_why=False,
    )
    reviewed = sum(result.reviewed for result in results)
    summary = {"total": len(results), "reviewed": reviewed, "skipped": len(results) - reviewed}
    body = {"success": reviewed == len(results), "summary": summary, "results": results}
    return Response(BulkReviewSerializer(body).data)
