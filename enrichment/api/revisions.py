"""The revisions API: a conversation's revisions, each one's file byte for byte, and a new
revision (an edited or replacement document), enriched again in the background."""

import uuid

from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from conversations.lookups import find_batch_job
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
from enrichment.serializers import RequestBodySerializer

from ..replacements import MAX_REPLACEMENTS, Replacements, replace_failed
from ..revisions import BadDocument, document_content, revisions_of, save_revision
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
    "minProperties": 1,
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


@extend_schema_field(
    {
        "type": "object",
        "minProperties": 1,
        "maxProperties": MAX_REPLACEMENTS,
        "additionalProperties": {},
    }
)
class DocumentsField(serializers.DictField):
    """Documents by conversation id: 1 to ``MAX_REPLACEMENTS`` (the schema says so too)."""


class ReplacementsRequestSerializer(RequestBodySerializer):
    documents = DocumentsField(
        child=serializers.JSONField(allow_null=True),
        allow_empty=False,
        help_text=f"1 to {MAX_REPLACEMENTS} corrected documents, by conversation id (either "
        "form) of a conversation of the job that failed.",
    )

    def validate_documents(self, documents: dict) -> dict:
        if len(documents) > MAX_REPLACEMENTS:
            raise serializers.ValidationError(f"At most {MAX_REPLACEMENTS} at once.")
        return documents


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class ReplacementResultSerializer(serializers.Serializer):
    conversationId = serializers.CharField(help_text="As sent.")  # noqa: N815
    status = serializers.ChoiceField(choices=["replaced", "refused"])
    revision = serializers.IntegerField(allow_null=True, help_text="The new revision's number.")
    error = serializers.CharField(allow_null=True, help_text="Why it was refused.")


class ReplacementsSerializer(serializers.Serializer):
    success = serializers.BooleanField(help_text="Whether every document was used.")
    results = ReplacementResultSerializer(many=True)
    runId = serializers.UUIDField(  # noqa: N815
        allow_null=True, help_text="The background run enriching the replaced ones."
    )


@extend_schema(
    operation_id="replace_failed_conversations",
    request=ReplacementsRequestSerializer,
    responses={
        200: ReplacementsSerializer,
        400: INVALID,
        **ERROR_RESPONSES,
        404: NOT_FOUND,
        413: TOO_LARGE,
        503: error_response("The file storage failed; nothing was stored."),
    },
    description="Replace and retry: each document becomes a new revision of a failed "
    "conversation of the batch job, and one background run enriches them all. A document "
    "that cannot be used (not the job's, not failed, not a JSON object) is refused in its "
    "result; the others are replaced.",
)
@api_view(["POST"])
def replacements_view(request: Request, job_id: uuid.UUID) -> Response:
    job = find_batch_job(job_id, user=request.user)
    serializer = ReplacementsRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    documents = serializer.validated_data["documents"]
    files, refused = [], {}
    for key, document in documents.items():
        if not _is_uuid(key):
            refused[key] = "Not a conversation id: name each document by its conversation's id."
            continue
        try:
            files.append((f"{key}.json", document_content(document)))
        except BadDocument as error:
            refused[key] = error.message
    done = Replacements()
    if files:
        done = replace_failed(job, files, user=request.user, run_source=RunSource.API)
    replaced = {name.removesuffix(".json"): rev.number for name, _, rev in done.replaced}
    refused |= {name.removesuffix(".json"): why for name, why in done.refused}
    results = [
        {
            "conversationId": key,
            "status": "replaced" if key in replaced else "refused",
            "revision": replaced.get(key),
            "error": refused.get(key),
        }
        for key in documents
    ]
    body = {
        "success": not refused,
        "results": results,
        "runId": done.run.pk if done.run else None,
    }
    return Response(ReplacementsSerializer(body).data)
