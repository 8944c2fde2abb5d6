"""What happened to one conversation: the runner's answer, before any API shapes it."""

import uuid
from dataclasses import dataclass

# Skip reasons and their words live beside the run model, which counts them.
from ..models.skips import (  # noqa: F401 (the outcomes' reasons)
    ALREADY_ENRICHED,
    IN_PROGRESS,
    INACTIVE,
    PREVIOUSLY_FAILED,
    SKIP_REASON_TEXT,
    SKIP_REASONS,
    skip_reasons_text,
    skipped_text,
)

# Result statuses of one conversation (the bulk API's `status`).
ENRICHED = "enriched"
FAILED = "failed"
SKIPPED = "skipped"


@dataclass(frozen=True)
class Outcome:
    """What happened to one conversation."""

    pk: uuid.UUID
    conversation_id: uuid.UUID
    status: str
    enrichment_status: str
    error: str | None = None
    error_category: str | None = None
    reason: str | None = None
    duration_ms: float = 0.0
