"""What made a generated conversation, for the training files it goes into: the model,
the template and the SHA-256 of the system prompt and prompt sent, the attempt, and its
generation job. A training file's JSON shows it in each generated member's
``conversation_metadata.generation`` (``core.sections``: training does not know
generation)."""

from .models import AttemptStatus, GenerationAttempt


def provenance(conversation_pks: list) -> dict:
    """``{conversation pk: {...}}`` for the generated ones among ``conversation_pks``."""
    answered = (
        GenerationAttempt.objects.filter(
            conversation_id__in=conversation_pks, status=AttemptStatus.SUCCEEDED
        )
        .order_by("conversation_id", "-number")
        .distinct("conversation_id")
        .values_list(
            "conversation_id",
            "model",
            "template__name",
            "prompt_hash",
            "number",
            "item__batch_job_id",
        )
    )
    return {
        pk: {
            "model": model,
            "template_name": template,
            "prompt_sha256": prompt_hash,
            "attempt": number,
            "batch_job_id": str(job_id),
        }
        for pk, model, template, prompt_hash, number, job_id in answered
    }
