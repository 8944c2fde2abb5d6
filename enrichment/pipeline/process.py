"""One claimed conversation through the stages: read its input, validate → enrich →
normalize in memory, store the document. Touches storage, never the database."""

import logging

from enrichment import storage
from enrichment.models import Conversation, EnrichmentStatus, ErrorCategory

from .enrich import enrich_conversation
from .inputs import StageFailure, read_input, snapshot
from .normalize import NormalizationError, normalize_document
from .profile import Profile
from .validate import validate_conversation

logger = logging.getLogger("enrichment.pipeline")

ENRICHMENT_VERSION = "1.0.0"


def _blocker_text(report: dict) -> str:
    blockers = report.get("blockers") or []
    parts = [f"{b['code']} at {b['field']}: {b['message']}" for b in blockers[:5]]
    more = len(blockers) - len(parts)
    if more > 0:
        parts.append(f"and {more} more")
    return "Validation failed: " + "; ".join(parts)


def run_stages(
    source: bytes, conversation: Conversation, profile: Profile, validated_at: str
) -> tuple[bytes, dict, dict]:
    """validate → enrich → normalize; the stored document's bytes and both reports."""
    data, report = validate_conversation(
        source, conversation_id=str(conversation.conversation_id), validated_at=validated_at
    )
    if data is None or report["hasBlockers"]:
        raise StageFailure(
            EnrichmentStatus.VALIDATION_FAILED,
            ErrorCategory.VALIDATION,
            _blocker_text(report),
            validation_report=report,
        )
    try:
        document = enrich_conversation(data, snapshot(conversation, profile))
    except Exception as exc:
        logger.exception("Enrichment stage failed for %s", conversation.conversation_id)
        raise StageFailure(
            EnrichmentStatus.ENRICHMENT_FAILED,
            ErrorCategory.INTERNAL,
            f"Enrichment failed: {exc.__class__.__name__}: {exc}",
            validation_report=report,
        ) from exc
    try:
        content, normalization_report = normalize_document(document)
    except NormalizationError as exc:
        raise StageFailure(
            EnrichmentStatus.NORMALIZATION_FAILED,
            ErrorCategory.NORMALIZATION,
            f"Normalization failed: {exc}",
            validation_report=report,
            normalization_report=getattr(exc, "report", None),
        ) from exc
    return content, report, normalization_report


def store_enriched(conversation: Conversation, content: bytes, reports: dict) -> tuple[str, int]:
    """Write the enriched file at its conventional path; return the path and size."""
    path = storage.enriched_path(conversation.owner_segment, str(conversation.conversation_id))
    try:
        return path, storage.write_file(path, content)
    except Exception as exc:
        raise StageFailure(
            EnrichmentStatus.ENRICHMENT_FAILED,
            ErrorCategory.STORAGE,
            f"The enriched file could not be stored: {exc}",
            **reports,
        ) from exc


def process(conversation: Conversation, profile: Profile, validated_at: str) -> dict:
    """Enrich one claimed conversation; return the fields of its successful outcome.

    Raises ``StageFailure`` naming the failed state and its category.
    """
    source = read_input(conversation)
    content, report, normalization_report = run_stages(source, conversation, profile, validated_at)
    reports = {"validation_report": report, "normalization_report": normalization_report}
    path, size = store_enriched(conversation, content, reports)
    return {
        "enrichment_status": EnrichmentStatus.COMPLETED,
        **reports,
        "enriched_file_path": path,
        "enriched_file_size": size,
        "enrichment_error": None,
        "enrichment_error_category": None,
        "enrichment_version": ENRICHMENT_VERSION,
    }


def outcome_fields(conversation: Conversation, profile: Profile, validated_at: str) -> dict:
    """The fields of one conversation's outcome, success or a named failure."""
    try:
        return process(conversation, profile, validated_at)
    except StageFailure as failure:
        return {
            "enrichment_status": failure.status,
            "enrichment_error": str(failure),
            "enrichment_error_category": failure.category,
            **failure.fields,
        }
    except Exception as exc:  # one conversation's bug must never stop the others
        logger.exception("Unexpected failure enriching %s", conversation.conversation_id)
        return {
            "enrichment_status": EnrichmentStatus.ENRICHMENT_FAILED,
            "enrichment_error": f"Unexpected error: {exc.__class__.__name__}: {exc}",
            "enrichment_error_category": ErrorCategory.INTERNAL,
        }
