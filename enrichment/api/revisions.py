"""The revisions API: a conversation's revisions, each one's file byte for byte, and a new
revision (an edited or replacement document), enriched again in the background."""

import uuid

from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from conversations.models import ConversationRevision, RevisionSource
from core.api.downloads import file_responses, stored_file_response
from core.api.errors import (
    ERROR_RESPONSES,
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    error_response,
    invalid,
    not_found,
)
from core.api.pages import PageSize, PaginationSerializer, paginate
from enrichment.models import RunSource

from ..revisions import revisions_of, save_revision
from .conversations import visible_conversation

REVISIONS_PAGE = PageSize(default=50, maximum=200)


class RevisionSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="1 is the file as it came in.")
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815
    createdBy = serializers.SerializerMethodField()  # noqa: N815
    source = serializers.ChoiceField(choices=RevisionSource.choices)
    size = serializers.IntegerField(allow_null=True, help_text="Bytes.")
    current = serializers.SerializerMethodField(
        help_text="Whether it is the revision enrichment reads."
    )
    rawUrl = serializers.SerializerMethodField()  # noqa: N815

    def get_createdBy(self, revision: ConversationRevision) -> str | None:  # noqa: N802
        user = revision.created_by
        return user.get_username() if user else None

    def get_current(self, revision: ConversationRevision) -> bool:
        return revision.number == self.context["current"]

    def get_rawUrl(self, revision: ConversationRevision) -> str:  # noqa: N802
        business_id = self.context["conversation_id"]
        return f"/api/conversations/{business_id}/revisions/{revision.number}/raw"


class RevisionListSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    data = RevisionSerializer(many=True)
    pagination = PaginationSerializer()


class SavedRevisionSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    revision = RevisionSerializer()
    runId = serializers.UUIDField(  # noqa: N815
        help_text="The background run enriching it (GET /api/enrichment-runs/{runId})."
    )


SOURCE = OpenApiParameter(
    "source",
    {"type": "string", "enum": [RevisionSource.EDIT, RevisionSource.REPLACE], "default": "edit"},
    description="`edit` (any conversation) or `replace` (only one that failed).",
)
DOCUMENT = {
    "type": "object",
    "additionalProperties": True,
    "description": "The whole conversation document (DOMAIN §2): conversation_metadata, "
    "turns and, optionally, input_parameters.",
}


def _context(conversation) -> dict:
    return {"current": conversation.revision, "conversation_id": conversation.conversation_id}


@extend_schema(
    methods=["GET"],
    operation_id="list_conversation_revisions",
    parameters=REVISIONS_PAGE.parameters(),
    responses={200: RevisionListSerializer, 400: INVALID, **ERROR_RESPONSES, 404: NOT_FOUND},
    description="Its revisions, first to last: 1 is the file as it came in, each later one "
    "an edit or a replacement. None is ever overwritten.",
)
@extend_schema(
    methods=["POST"],
    operation_id="create_conversation_revision",
    request={"application/json": DOCUMENT},
    parameters=[SOURCE],
    responses={
        201: SavedRevisionSerializer,
        400: INVALID,
        **ERROR_RESPONSES,
        404: NOT_FOUND,
        409: error_response("`replace` for a conversation that did not fail (not_failed)."),
        413: TOO_LARGE,
        503: error_response("The file storage failed; nothing was stored."),
    },
    description="Store the document as its next revision and enrich it again in the "
    "background (validation problems land in its validation report). A document that is "
    "not a JSON object is refused, with nothing stored.",
)
@api_view(["GET", "POST"])
def revisions_view(request: Request, conversation_id: uuid.UUID) -> Response:
    conversation = visible_conversation(request, conversation_id)
    if request.method == "GET":
        page = paginate(request, revisions_of(conversation), REVISIONS_PAGE)
        data = RevisionSerializer(page.rows, many=True, context=_context(conversation)).data
        return Response({"success": True, "data": data, "pagination": page.pagination})
    source = request.query_params.get("source", RevisionSource.EDIT)
    if source not in (RevisionSource.EDIT, RevisionSource.REPLACE):
        raise invalid({"source": ["Must be edit or replace."]})
    saved = save_revision(
        conversation,
        request.data,
        user=request.user,
        source=source,
        run_source=RunSource.API,
    )
    conversation.refresh_from_db(fields=["revision"])
    body = {
        "success": True,
        "revision": RevisionSerializer(saved.revision, context=_context(conversation)).data,
        "runId": saved.run.pk,
    }
    return Response(body, status=201)


@extend_schema(
    operation_id="download_conversation_revision",
    responses={
        **file_responses(
            "The revision's file byte for byte, as an attachment: JSON, or `text/plain` for "
            "a reply that came in unparseable; read it as bytes.",
            {
                "application/json": {"type": "object", "additionalProperties": True},
                "text/plain": {"type": "string"},
            },
        ),
        **ERROR_RESPONSES,
        404: NOT_FOUND,
    },
)
@api_view(["GET"])
def revision_raw_view(request: Request, conversation_id: uuid.UUID, number: int) -> FileResponse:
    conversation = visible_conversation(request, conversation_id)
    revision = revisions_of(conversation).filter(number=number).first()
    if revision is None:
        raise not_found(f"The conversation has no revision {number}.")
    stem = conversation.download_name("raw").removesuffix(".raw.json")
    extension = "json" if revision.content_type.startswith("application/json") else "txt"
    return stored_file_response(
        revision.path, f"{stem}.revision-{number}.{extension}", revision.content_type
    )
