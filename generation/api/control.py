"""REST API of a running generation job: cancel it (``POST /api/batch-jobs/<id>/cancel``,
which still ends any other batch job at once, as before), pause and resume its
submission, and retry the items whose generation failed (``generation.control``)."""

import uuid
from decimal import Decimal

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from conversations.models import BatchJobStatus
from core.api.errors import ERROR_RESPONSES, NOT_FOUND, ErrorSerializer
from enrichment.serializers import RequestBodySerializer
from intake.api.items import visible_job
from intake.items import finish_job
from intake.serializers import (
    BatchJobSerializer,
    FinishBatchJobResponseSerializer,
    JobConflictSerializer,
)

from .. import control
from ..overview import settings_of
from ..serializers import GENERATION_REQUEST, MoneyField


class JobControlResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField(help_text="What was done, in words for people.")
    changed = serializers.BooleanField(
        help_text="False when the job was so already: nothing changed."
    )
    job = BatchJobSerializer(help_text="The job as it is now.")


class RetryGenerationsResponseSerializer(JobControlResponseSerializer):
    retried = serializers.IntegerField(help_text="Items that got a new attempt.", min_value=1)


def _conflict(description: str) -> OpenApiResponse:
    return OpenApiResponse(JobConflictSerializer, description=description)


def _answer(done: control.Done, serializer=JobControlResponseSerializer) -> Response:
    body = {"success": True, "message": done.message, "changed": done.changed, "job": done.job}
    if serializer is RetryGenerationsResponseSerializer:
        body["retried"] = done.retried
    return Response(serializer(body).data)


@extend_schema(
    operation_id="cancel_batch_job",
    request=None,
    responses={
        200: FinishBatchJobResponseSerializer,
        **ERROR_RESPONSES,
        404: NOT_FOUND,
        409: _conflict("The job has already ended in another state (`job_not_open`)."),
    },
    description="End the job as `cancelled`. A generation job stops sending: its items "
    "not sent yet end `cancelled` at once; its open provider batches are cancelled at the "
    "provider by the job's next step, and what they finished before is still taken in "
    "(results the provider cancelled get no new attempt). Until then the job stays "
    "`processing` with `generation.cancelledAt` set; it ends `cancelled` once everything "
    "at the provider came back. With `autoEnrich`, its conversations are then enriched in "
    "the background (`enrichmentRun`, when the job ended in this call). Asking again "
    "changes nothing.",
)
@api_view(["POST"])
def cancel_batch_job_view(request: Request, job_id: uuid.UUID) -> Response:
    job = visible_job(request, job_id)
    if settings_of(job) is None:
        job, run = finish_job(job, status=BatchJobStatus.CANCELLED)
    else:
        done = control.cancel(job, request.user)
        job, run = done.job, done.enrichment_run
    return Response(
        FinishBatchJobResponseSerializer({"success": True, "job": job, "enrichmentRun": run}).data
    )


NOT_GENERATION = "`not_generation_job`: the job's items come from outside"
FINISHED = "`job_not_open`: the job has ended"
CANCELLING = "`job_cancelling`: the job is being cancelled"


@extend_schema(
    operation_id="pause_generation_job",
    request=None,
    responses={
        200: JobControlResponseSerializer,
        **ERROR_RESPONSES,
        404: NOT_FOUND,
        409: _conflict(f"{NOT_GENERATION}; {FINISHED}; or {CANCELLING}."),
    },
    description="Stop sending the job's requests to the provider (`generation.pausedReason`"
    ' becomes "Paused by <you>."). What is at the provider still comes back in: its '
    "batches are still polled and their results taken in. Pausing a paused job changes "
    "nothing (`changed` false).",
)
@api_view(["POST"])
def pause_generation_job_view(request: Request, job_id: uuid.UUID) -> Response:
    return _answer(control.pause(visible_job(request, job_id), request.user))


class ResumeRequestSerializer(RequestBodySerializer):
    budgetUsd = MoneyField(  # noqa: N815 (the public contract's casing)
        required=False,
        allow_null=True,
        min_value=Decimal(0),
        help_text="A new budget in USD, set before resuming: not below what the job spent "
        "(`generation.costUsd`); null removes the budget. Left out, the budget stays.",
    )


# By hand, as the generation request's: money is a JSON number.
RESUME_REQUEST = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "budgetUsd": {
            **GENERATION_REQUEST["properties"]["budgetUsd"],
            "description": "A new budget in USD (finer than 1e-9: rounded down), set before "
            "resuming: not below what the job spent (`generation.costUsd`); null removes "
            "the budget. Left out, the budget stays.",
        }
    },
}


@extend_schema(
    operation_id="resume_generation_job",
    request={"application/json": RESUME_REQUEST},
    responses={
        200: JobControlResponseSerializer,
        400: OpenApiResponse(
            ErrorSerializer,
            description="Invalid `budgetUsd`, or `budget_below_cost`: below what the job "
            "spent (`costUsd`). Nothing changes.",
        ),
        **ERROR_RESPONSES,
        404: NOT_FOUND,
        409: _conflict(f"{NOT_GENERATION}; or {FINISHED}."),
    },
    description="Clear the reason the job was paused (a person's pause, or a refused key, "
    "billing or the budget reached once fixed) and run its next step at once. The body is "
    'optional: `{"budgetUsd": number | null}` changes the job\'s budget first (paused or '
    'not), which is how a job paused with "Budget reached" goes on; a budget below what '
    "was spent is refused (400 `budget_below_cost`, with `costUsd`) and changes nothing. "
    "Resuming a job that is not paused, without a budget, changes nothing (`changed` "
    "false). A budget still too small for the next requests pauses it again.",
)
@api_view(["POST"])
def resume_generation_job_view(request: Request, job_id: uuid.UUID) -> Response:
    job = visible_job(request, job_id)
    serializer = ResumeRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    budget = serializer.validated_data.get("budgetUsd", control.KEEP)
    return _answer(control.resume(job, request.user, budget_usd=budget))


@extend_schema(
    operation_id="retry_failed_generations",
    request=None,
    responses={
        200: RetryGenerationsResponseSerializer,
        **ERROR_RESPONSES,
        404: NOT_FOUND,
        409: _conflict(
            f"{NOT_GENERATION}; `nothing_to_retry`: no item failed generation; the job was "
            f"cancelled (`job_not_open`); or {CANCELLING}."
        ),
    },
    description="Every item whose generation failed (not one whose enrichment failed) gets "
    "a new attempt with the same prompt, followed by up to 2 automatic ones again if the "
    "provider errs; the items are `queued` again, a job that had ended reopens "
    "(`processing`), and its next step is queued. `retried` says how many.",
)
@api_view(["POST"])
def retry_failed_generations_view(request: Request, job_id: uuid.UUID) -> Response:
    done = control.retry_failed(visible_job(request, job_id), request.user)
    return _answer(done, RetryGenerationsResponseSerializer)
