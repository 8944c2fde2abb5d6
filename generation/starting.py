"""Starting a generation job from the API, the Generate page or the command: only when the
provider can be reached, so that no job waits for a key nobody set."""

import os

from django.conf import settings
from django.db import transaction

from core.errors import DomainError

from .anthropic_provider import API_KEY_HELP
from .jobs import GenerationRequest, create_generation_job
from .tasks import enqueue_generation


class ProviderNotConfigured(DomainError):
    status = 503
    code = "provider_not_configured"


def provider_problem() -> str | None:
    """Why generation jobs cannot be created here (the provider's key is missing), or
    ``None``. The key is read from the environment, as the provider reads it."""
    if not os.environ.get("ANTHROPIC_API_KEY"):
        return API_KEY_HELP
    return None


def start_generation_job(owner, request: GenerationRequest):
    """``create_generation_job`` once the provider is configured, with its first step
    queued for the workers in the same transaction; nothing is created otherwise
    (``ProviderNotConfigured`` says how to set it)."""
    if problem := provider_problem():
        raise ProviderNotConfigured(problem + " Nothing was created.")
    with transaction.atomic():
        job = create_generation_job(owner, request)
        enqueue_generation(job.pk)
    return job


def defaults() -> dict:
    """The settings a request leaves out."""
    return {
        "mode": settings.GENERATION_MODE,
        "model": settings.GENERATION_MODEL,
        "max_tokens": settings.GENERATION_MAX_TOKENS,
    }
