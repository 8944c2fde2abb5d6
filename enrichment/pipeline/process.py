"""One claimed conversation through the stages: read its input, validate → enrich →
normalize in memory, store the document. Touches storage, never the database.

The steps are split by the kind of work, so that the runner can overlap them: ``read`` and
``store`` wait on storage, ``stage`` is CPU only. Any step raises ``StageFailure`` (or an
unexpected error), which ``failure_fields`` turns into the outcome to record.
"""

import logging
import re
import threading
from dataclasses import dataclass

from conversations.models import Conversation, EnrichmentStatus, ErrorCategory
from core import storage

from .enrich import build_document
from .inputs import StageFailure, read_input, snapshot
from .normalize import NormalizationError, Prepared, prepare_document
from .profile import Profile
from .validate import validate_conversation

logger = logging.getLogger("enrichment.pipeline")

ENRICHMENT_VERSION = "1.0.0"
# Documents above this size are written one at a time in a process (the others wait),
# so that several large conversations processed at once never add up.
LARGE_DOCUMENT_BYTES = 8 * 1024 * 1024
_large_documents = threading.BoundedSemaphore(1)
_OUTPUT_NAME = re.compile(r"/enriched/(\d+)-[0-9a-f]+\.json$")


@dataclass(frozen=True)
class Staged:
    """A conversation after the stages: its document ready to write, and its reports."""

    prepared: Prepared
    reports: dict  # validation_report, normalization_report


def _blocker_text(report: dict) -> str:
    blockers = report.get("blockers") or []
    parts = [f"{b['code']} at {b['field']}: {b['message']}" for b in blockers[:5]]
    more = len(blockers) - len(parts)
    if more > 0:
        parts.append(f"and {more} more")
    return "Validation failed: " + "; ".join(parts)


def read(conversation: Conversation) -> bytes:
    return read_input(conversation)


def stage(source: bytes, conversation: Conversation, profile: Profile, validated_at: str) -> Staged:
    """validate → enrich → normalize; the document ready to store and both reports.

    The document's size is known (and a document over the limit refused) before any of it
    is assembled, so memory stays in proportion to the conversation, not to its output.
    """
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
        document = build_document(data, snapshot(conversation, profile))
    except Exception as exc:
        logger.exception("Enrichment stage failed for %s", conversation.conversation_id)
        raise StageFailure(
            EnrichmentStatus.ENRICHMENT_FAILED,
            ErrorCategory.INTERNAL,
            f"Enrichment failed: {exc.__class__.__name__}: {exc}",
            validation_report=report,
        ) from exc
    try:
        prepared = prepare_document(document)
    except NormalizationError as exc:
        raise StageFailure(
            EnrichmentStatus.NORMALIZATION_FAILED,
            ErrorCategory.NORMALIZATION,
            f"Normalization failed: {exc}",
            validation_report=report,
            normalization_report=getattr(exc, "report", None),
        ) from exc
    return Staged(prepared, {"validation_report": report, "normalization_report": prepared.report})


def output_path(conversation: Conversation) -> str:
    """Where this claim writes its output: a path of its own (its revision, its claim),
    so that an enrichment whose claim was taken over never overwrites the newer output;
    the row points at it only if the claim's outcome wins (``record``)."""
    return storage.enriched_output_path(
        conversation.owner_segment,
        str(conversation.conversation_id),
        conversation.revision,
        conversation.enrichment_claim_token.hex,
    )


def store(conversation: Conversation, staged: Staged) -> dict:
    """Write the enriched file at this claim's own path; return the success fields."""
    path = output_path(conversation)
    prepared = staged.prepared
    try:
        if prepared.size > LARGE_DOCUMENT_BYTES:
            with _large_documents:
                size = storage.write_chunks(path, prepared.chunks())
        else:
            size = storage.write_file(path, prepared.content())
    except Exception as exc:
        raise StageFailure(
            EnrichmentStatus.ENRICHMENT_FAILED,
            ErrorCategory.STORAGE,
            f"The enriched file could not be stored: {exc}",
            **staged.reports,
        ) from exc
    return {
        "enrichment_status": EnrichmentStatus.COMPLETED,
        **staged.reports,
        "enriched_file_path": path,
        "enriched_file_size": size,
        "enrichment_error": None,
        "enrichment_error_category": None,
        "enrichment_version": ENRICHMENT_VERSION,
        "last_failure_error": None,
        "last_failure_category": None,
        "last_failed_at": None,
    }


def output_revision(path: str) -> int | None:
    """The revision an enriched file at ``path`` is the output of (``output_path``; a
    file from before revisions is revision 1's), or ``None`` for no file."""
    if not path:
        return None
    match = _OUTPUT_NAME.search(path)
    return int(match.group(1)) if match else 1


def failure_fields(conversation: Conversation, error: BaseException) -> dict:
    """The fields of a failed attempt.

    Only a success replaces a stored output: a conversation that was completed when it was
    claimed keeps its status, file and reports, and the failure is recorded beside them;
    unless that output is of an earlier revision than the one that failed (an edit that
    does not validate): the failure is then the conversation's, with its reports.
    """
    if isinstance(error, StageFailure):
        status, category, message = error.status, error.category, str(error)
        details = error.fields
    else:  # one conversation's bug must never stop the others
        logger.error(
            "Unexpected failure enriching %s", conversation.conversation_id, exc_info=error
        )
        status, category, details = EnrichmentStatus.ENRICHMENT_FAILED, ErrorCategory.INTERNAL, {}
        message = f"Unexpected error: {error.__class__.__name__}: {error}"
    failure = {"last_failure_error": message, "last_failure_category": category}
    if conversation.enrichment_status_before_claim == EnrichmentStatus.COMPLETED and (
        output_revision(conversation.enriched_file_path) == conversation.revision
    ):
        return {"enrichment_status": EnrichmentStatus.COMPLETED, **failure}
    return {
        "enrichment_status": status,
        "enrichment_error": message,
        "enrichment_error_category": category,
        **details,
        **failure,
    }
