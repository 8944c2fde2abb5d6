"""REST API of generation: preview a request (prompts, problems, estimate) and create the
batch job that generates its conversations. The job is a batch job like any other:
``GET /api/batch-jobs/<id>`` shows it, with its ``generation`` section."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.errors import ERROR_RESPONSES, ErrorSerializer, error_response
from intake.serializers import BatchJobSerializer

from ..serializers import (
    GENERATION_REQUEST,
    GenerationRequestSerializer,
    PreviewResponseSerializer,
)
from ..starting import start_generation_job

NOT_CONFIGURED = error_response(
    "The provider's key (ANTHROPIC_API_KEY) is not set on the server: nothing was created."
)
_BODY = (
    "One item per persona × emotional arc × training topic × `repeat`, each prompt built "
    "from the chosen template (`templateName`) or the arc's own."
)


@extend_schema(
    operation_id="create_generation_job",
    request={"application/json": GENERATION_REQUEST},
    responses={
        201: OpenApiResponse(
            BatchJobSerializer, description="The batch job, queued; its items are generated."
        ),
        400: OpenApiResponse(
            ErrorSerializer,
            description="Invalid fields; or `generation_problems` with `details.problems` "
            "(every combination that cannot be built, named); or `budget_too_low` with the "
            "`estimate`; or a model without a price. Nothing is created.",
        ),
        **ERROR_RESPONSES,
        503: NOT_CONFIGURED,
    },
    description=_BODY + " All items are created in one transaction, or none.",
)
@api_view(["POST"])
def generation_jobs_view(request: Request) -> Response:
    serializer = GenerationRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    job = start_generation_job(request.user, serializer.generation_request())
    body = BatchJobSerializer(job).data
    return Response(body, status=201, headers={"Location": body["url"]})


@extend_schema(
    operation_id="preview_generation_job",
    request={"application/json": GENERATION_REQUEST},
    responses={
        200: PreviewResponseSerializer,
        400: OpenApiResponse(
            ErrorSerializer, description="Invalid fields, or a model without a price."
        ),
        **ERROR_RESPONSES,
    },
    description="What `POST /api/generation-jobs` would do with the same body, creating "
    "nothing: the number of items, the first prompts as sent, every problem, and the "
    "estimated cost in both modes. `name` may be left out.",
)
@api_view(["POST"])
def generation_preview_view(request: Request) -> Response:
    serializer = GenerationRequestSerializer(data=request.data, preview=True)
    serializer.is_valid(raise_exception=True)
    ask = serializer.generation_request()
    _, body = ask.preview()
    return Response(body)
