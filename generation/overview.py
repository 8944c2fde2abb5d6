"""What the API and the pages show of a generation job: its settings, cost against
budget, the provider's batches with their counts, and its attempts by status."""

from django.conf import settings as django_settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count

from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus

from . import item_overview
from .accounting import BUDGET_REACHED, usd
from .models import AttemptStatus, GenerationAttempt, GenerationSettings

_MONEY = {"type": "number", "description": "USD, exact to 1e-9 (not rounded)."}
_COUNT = {"type": "integer", "minimum": 0}
SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": "How the job's conversations are generated (null for jobs whose items "
    "come from outside).",
    "required": [
        "mode",
        "model",
        "maxTokens",
        "temperature",
        "budgetUsd",
        "costUsd",
        "inputTokens",
        "outputTokens",
        "providerBatches",
    ],
    "properties": {
        "mode": {"type": "string", "enum": ["batch", "realtime"]},
        "model": {"type": "string"},
        "maxTokens": {"type": "integer", "minimum": 1},
        "temperature": {"type": "number", "nullable": True},
        "templateName": {
            "type": "string",
            "description": "The template asked for by name (absent: each arc's own).",
        },
        "budgetUsd": {**_MONEY, "nullable": True},
        "estimatedCostUsd": {**_MONEY, "nullable": True},
        "costUsd": {**_MONEY, "description": "What the provider billed so far, in USD."},
        "inputTokens": _COUNT,
        "outputTokens": _COUNT,
        "pausedReason": {
            "type": "string",
            "nullable": True,
            "description": "Why nothing is sent: a person paused the job, the provider "
            "refused the key or billing, or the budget was reached (null: not paused).",
        },
        "cancelledAt": {
            "type": "string",
            "format": "date-time",
            "nullable": True,
            "description": "When the job was cancelled; until everything at the provider "
            "came back, the job stays processing.",
        },
        "providerBatches": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "description": "The provider's batch id."},
                    "status": {
                        "type": "string",
                        "description": "The provider's processing_status (in_progress, "
                        "canceling, ended), or submitting / not_created before it has one, "
                        "or not_ours for a batch found while adopting that holds none of "
                        "our requests.",
                    },
                    "requests": _COUNT,
                    "succeeded": _COUNT,
                    "errored": _COUNT,
                    "expired": _COUNT,
                    "canceled": _COUNT,
                },
            },
        },
    },
}
# What lists fetch for all their jobs at once: the settings joined, the batches in one query.
SELECT_RELATED = ("generation",)
PREFETCH = ("provider_batches",)


def settings_of(job: BatchJob) -> GenerationSettings | None:
    """The job's generation settings; ``None`` for a job fed from outside."""
    try:
        return job.generation
    except ObjectDoesNotExist:
        return None


def generation_json(job: BatchJob) -> dict | None:
    """The ``generation`` section of the batch job's JSON (``None`` for other jobs)."""
    settings = settings_of(job)
    if settings is None:
        return None
    body = {
        "mode": settings.mode,
        "model": settings.model,
        "maxTokens": settings.max_tokens,
        "temperature": settings.temperature,
        "budgetUsd": settings.budget_usd,
        "estimatedCostUsd": settings.estimated_cost_usd,
        "costUsd": settings.cost_usd,
        "inputTokens": settings.input_tokens,
        "outputTokens": settings.output_tokens,
        "pausedReason": settings.paused_reason or None,
        "cancelledAt": settings.cancelled_at,
        "providerBatches": [
            {
                "id": batch.provider_batch_id or None,
                "status": batch.status,
                "requests": batch.requests,
                "succeeded": batch.succeeded,
                "errored": batch.errored,
                "expired": batch.expired,
                "canceled": batch.canceled,
            }
            for batch in job.provider_batches.all()
        ],
    }
    if settings.template_name:
        body["templateName"] = settings.template_name
    return body


def attempt_counts(job: BatchJob) -> list[tuple[str, int]]:
    """(status label, count) of the job's attempts, in the statuses' order."""
    counts = dict(
        GenerationAttempt.objects.filter(item__batch_job=job)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return [(label, counts[value]) for value, label in AttemptStatus.choices if counts.get(value)]


def panel(job: BatchJob) -> dict | None:
    """What the job page's Generation panel shows (``None`` for other jobs)."""
    settings = settings_of(job)
    if settings is None:
        return None
    budget = settings.budget_usd
    attempts = attempt_counts(job)
    return {
        **controls(job, settings),
        "settings": settings,
        "provider_batches": list(job.provider_batches.all()),
        "attempts": attempts,
        "attempts_total": sum(n for _, n in attempts),
        "outcomes": item_overview.outcomes(job),
        "demo_provider": django_settings.GENERATION_DEMO_PROVIDER,
        # Resume's budget field: its value and least value, exact.
        "budget_field": usd(budget) if budget is not None else "",
        "spent_field": usd(settings.cost_usd),
        "budget_used_percent": (
            min(100, int(settings.cost_usd * 100 / budget)) if budget else None
        ),
    }


def state(job: BatchJob) -> dict | None:
    """What a list or a page shows next to an open generation job's status: ``{"label",
    "why"}`` when it is paused (with the reason) or being cancelled; None otherwise (and
    for other jobs). Reads ``job.generation``, which lists join (``SELECT_RELATED``)."""
    settings = settings_of(job)
    if settings is None or job.is_finished:
        return None
    if settings.cancelled_at is not None:
        return {"label": "Cancelling", "why": "What is at the provider is being cancelled."}
    if settings.paused_reason:
        return {"label": "Paused", "why": settings.paused_reason}
    return None


def controls(job: BatchJob, settings: GenerationSettings) -> dict:
    """Which of the panel's buttons apply (``generation.control``)."""
    running = not job.is_finished and settings.cancelled_at is None
    failed = 0
    if job.status != BatchJobStatus.CANCELLED and settings.cancelled_at is None:
        failed = job.items.filter(status=BatchItemStatus.FAILED).count()
    return {
        "cancelling": not job.is_finished and settings.cancelled_at is not None,
        "can_cancel": running,
        "can_pause": running and not settings.paused_reason,
        "can_resume": not job.is_finished and bool(settings.paused_reason),
        # Resume then offers a new budget, prefilled with the current one.
        "budget_paused": not job.is_finished and settings.paused_reason.startswith(BUDGET_REACHED),
        "failed_generations": failed,
    }
