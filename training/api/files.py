"""REST API of the training files (camelCase; errors ``{"success": false, "error", …}``;
files not visible to the caller answer 404)."""

import uuid

from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.downloads import file_responses, stored_file_response
from core.api.errors import ERROR_RESPONSES as AUTH_RESPONSES
from core.api.errors import ApiError, InvalidRequestSerializer, invalid, not_found
from core.api.pages import PageSize, paginate

from .. import services
from ..eligibility import Selection, select_batch_job, select_ids
from ..exports import Split
from ..models import FileFormat, TrainingFile, TrainingFileStatus, count_members, note_workers
from ..serializers import (
    CreateRequestSerializer,
    RemoveRequestSerializer,
    SelectionSerializer,
    change_payload,
    training_file_payload,
)
from .schema import (
    ADD_REQUEST_SCHEMA,
    BAD_BODY,
    CHANGED,
    CONFLICT,
    CREATE_REQUEST_SCHEMA,
    NOT_FOUND,
    QUEUED,
    REMOVE_REQUEST_SCHEMA,
    SELECTION_ERRORS,
    FailedBuildSerializer,
    NotBuiltSerializer,
    TrainingFileListSerializer,
    TrainingFileSerializer,
)

FILE_PAGE = PageSize(default=50, maximum=200)
CONTENT_TYPES = {
    FileFormat.JSON: "application/json",
    FileFormat.JSONL: "application/x-ndjson",
    FileFormat.CHAT_JSONL: "application/x-ndjson",
}
EXTENSIONS = {
    FileFormat.JSON: ".json",
    FileFormat.JSONL: ".jsonl",
    FileFormat.CHAT_JSONL: ".chat.jsonl",
}


def _visible(request: Request, training_file_id: uuid.UUID) -> TrainingFile | None:
    return (
        TrainingFile.objects.visible_to(request.user)
        .select_related("created_by")
        .filter(pk=training_file_id)
        .first()
    )


def _visible_or_404(request: Request, training_file_id: uuid.UUID) -> TrainingFile:
    training_file = _visible(request, training_file_id)
    if training_file is None:
        raise not_found("Training file not found.", missing=[str(training_file_id)])
    return training_file


def _body(request: Request, serializer_class) -> dict:
    """The validated body; a bad one raises the API's 400."""
    serializer = serializer_class(data=request.data)
    if not isinstance(request.data, dict):
        raise invalid({"body": ["The body must be a JSON object."]})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _select(request: Request, data: dict) -> Selection:
    if "batchJobId" in data:
        return select_batch_job(data["batchJobId"], user=request.user)
    return select_ids(data["conversationIds"], user=request.user, strict=True)


def _changed(change: services.Change, *, created: bool = False) -> Response:
    status = 202 if change.background else (201 if created else 200)
    response = Response(change_payload(change), status=status)
    if created:
        response["Location"] = f"/api/training-files/{change.training_file.pk}"
    return response


@extend_schema(
    methods=["GET"],
    operation_id="list_training_files",
    parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, enum=TrainingFileStatus.values),
        *FILE_PAGE.parameters(),
    ],
    responses={
        200: TrainingFileListSerializer,
        400: OpenApiResponse(InvalidRequestSerializer, description="Bad query parameter."),
        **AUTH_RESPONSES,
    },
    description="Your training files (staff: everyone's), newest first, 50 at a time.",
)
@extend_schema(
    methods=["POST"],
    operation_id="create_training_file",
    request={"application/json": CREATE_REQUEST_SCHEMA},
    responses={201: CHANGED, 202: QUEUED, **SELECTION_ERRORS},
    description="A new training file of conversations chosen by id (every one must be "
    "completed with an enriched file, and meet the file's approvedOnly and minQualityTier) "
    "or by batch job (its completed conversations; the others are counted in leftOut, by "
    "reason in leftOutReasons). Up to 100 conversations it is built in the request (201), "
    "more in the background (202, status processing: poll its url). With a "
    "validationFraction the files are also built split into train and validation.",
)
@api_view(["GET", "POST"])
def training_files_view(request: Request) -> Response:
    if request.method == "GET":
        return _list(request)
    data = _body(request, CreateRequestSerializer)
    change = services.create_training_file(
        name=data["name"],
        description=data["description"],
        user=request.user,
        selection=_select(request, data),
        approved_only=data["approvedOnly"],
        min_quality_tier=data["minQualityTier"] or "",
        validation_fraction=data["validationFraction"],
    )
    return _changed(change, created=True)


def _list(request: Request) -> Response:
    status = request.query_params.get("status")
    if status is not None and status not in TrainingFileStatus.values:
        raise invalid({"status": [f"Must be one of: {', '.join(TrainingFileStatus.values)}."]})
    files = TrainingFile.objects.visible_to(request.user)
    if status:
        files = files.filter(status=status)
    page = paginate(
        request, files.select_related("created_by").order_by("-created_at", "-pk"), FILE_PAGE
    )
    count_members(page.rows)
    note_workers(page.rows)
    return Response(
        {
            "success": True,
            "data": [training_file_payload(item) for item in page.rows],
            "pagination": page.pagination,
        }
    )


@extend_schema(
    methods=["GET"],
    operation_id="get_training_file",
    responses={200: TrainingFileSerializer, **AUTH_RESPONSES, 404: NOT_FOUND},
)
@extend_schema(
    methods=["DELETE"],
    operation_id="delete_training_file",
    responses={204: None, **AUTH_RESPONSES, 404: NOT_FOUND},
    description="Delete the training file and every file it stored.",
)
@api_view(["GET", "DELETE"])
def training_file_view(request: Request, training_file_id: uuid.UUID) -> Response:
    training_file = _visible_or_404(request, training_file_id)
    if request.method == "DELETE":
        services.delete_training_file(training_file)
        return Response(status=204)
    return Response(training_file_payload(training_file))


@extend_schema(
    operation_id="add_conversations_to_training_file",
    request={"application/json": ADD_REQUEST_SCHEMA},
    responses={200: CHANGED, 202: QUEUED, **SELECTION_ERRORS},
    description="Add conversations (by id, or a batch job's completed ones). Ones already "
    "in the file are listed in alreadyIncluded and not added twice. The files are rebuilt: "
    "in the request up to 100 members (200), else in the background (202).",
)
@api_view(["POST"])
def add_conversations_view(request: Request, training_file_id: uuid.UUID) -> Response:
    training_file = _visible_or_404(request, training_file_id)
    data = _body(request, SelectionSerializer)
    change = services.add_conversations(training_file, _select(request, data), user=request.user)
    return _changed(change)


@extend_schema(
    operation_id="remove_conversations_from_training_file",
    request={"application/json": REMOVE_REQUEST_SCHEMA},
    responses={
        200: CHANGED,
        202: QUEUED,
        400: BAD_BODY,
        **AUTH_RESPONSES,
        404: NOT_FOUND,
        409: OpenApiResponse(FailedBuildSerializer, description="Archived, or the build failed."),
    },
    description="Remove members (either id form); ids that are not members are listed in "
    "notIncluded. The files are rebuilt.",
)
@api_view(["POST"])
def remove_conversations_view(request: Request, training_file_id: uuid.UUID) -> Response:
    training_file = _visible_or_404(request, training_file_id)
    data = _body(request, RemoveRequestSerializer)
    change = services.remove_conversations(training_file, data["conversationIds"])
    return _changed(change)


@extend_schema(
    operation_id="rebuild_training_file",
    request=None,
    responses={
        200: CHANGED,
        202: QUEUED,
        **AUTH_RESPONSES,
        404: NOT_FOUND,
        409: OpenApiResponse(
            FailedBuildSerializer,
            description="Archived, or the build failed (recorded: status failed, the "
            "previous files kept).",
        ),
    },
    description="Build the files again from the members' current enriched files.",
)
@api_view(["POST"])
def rebuild_view(request: Request, training_file_id: uuid.UUID) -> Response:
    training_file = _visible_or_404(request, training_file_id)
    change = services.rebuild_training_file(training_file)
    return _changed(change)


def _status_change(action):
    @extend_schema(
        operation_id=f"{action.__name__.removesuffix('_training_file')}_training_file",
        request=None,
        responses={200: TrainingFileSerializer, **AUTH_RESPONSES, 404: NOT_FOUND, 409: CONFLICT},
        description=action.__doc__ or "",
    )
    @api_view(["POST"])
    def view(request: Request, training_file_id: uuid.UUID) -> Response:
        training_file = _visible_or_404(request, training_file_id)
        training_file = action(training_file)
        return Response(training_file_payload(training_file))

    return view


archive_view = _status_change(services.archive_training_file)
unarchive_view = _status_change(services.unarchive_training_file)


class FileFormatNegotiation(DefaultContentNegotiation):
    """``?format=`` names the file format here, not one of the API's renderers."""

    settings = type("Settings", (), {"URL_FORMAT_OVERRIDE": None})


def _format_names_the_file(view):
    view.content_negotiation_class = FileFormatNegotiation
    return view


@extend_schema(
    operation_id="download_training_file",
    parameters=[
        OpenApiParameter(
            "format", OpenApiTypes.STR, enum=FileFormat.values, default=FileFormat.JSON
        ),
        OpenApiParameter(
            "split",
            OpenApiTypes.STR,
            enum=Split.values,
            description="Only the train or the validation split (files with a "
            "validationFraction); without it, every member.",
        ),
    ],
    responses={
        **file_responses(
            "The file: one JSON object (json), or one JSON object a line (jsonl, chat-jsonl).",
            {
                "application/json": {"type": "object", "additionalProperties": True},
                "application/x-ndjson": {"type": "string", "format": "binary"},
            },
        ),
        400: OpenApiResponse(
            InvalidRequestSerializer,
            description="Unknown format or split, or a split of a file without one.",
        ),
        **AUTH_RESPONSES,
        404: NOT_FOUND,
        409: OpenApiResponse(
            NotBuiltSerializer,
            description="Not built yet (`not_built`), or a split asked of a file without one "
            "(`no_split`).",
        ),
    },
    description="The stored file itself, streamed, as an attachment.",
)
@api_view(["GET"])
@_format_names_the_file
def download_view(request: Request, training_file_id: uuid.UUID):
    training_file = _visible_or_404(request, training_file_id)
    file_format = request.query_params.get("format", FileFormat.JSON)
    if file_format not in FileFormat.values:
        raise invalid({"format": [f"Must be one of: {', '.join(FileFormat.values)}."]})
    split = request.query_params.get("split")
    if split is not None and split not in Split.values:
        raise invalid({"split": [f"Must be one of: {', '.join(Split.values)}."]})
    if split and training_file.validation_fraction is None:
        raise ApiError(
            409,
            "This training file has no train/validation split (it was made without "
            "validationFraction): download it whole.",
            code="no_split",
            trainingFileStatus=training_file.status,
        )
    path = (
        training_file.split_path_for(split, file_format)
        if split
        else training_file.path_for(file_format)
    )
    if not path:
        raise ApiError(
            409,
            "The training file has not been built yet.",
            code="not_built",
            trainingFileStatus=training_file.status,
        )
    filename = (slugify(training_file.name) or "training-file") + (f"-{split}" if split else "")
    filename += EXTENSIONS[file_format]
    return stored_file_response(path, filename, CONTENT_TYPES[file_format])
