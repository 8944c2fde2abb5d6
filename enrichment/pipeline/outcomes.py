"""What happened to one conversation: the runner's answer, before any API shapes it."""

import uuid
from dataclasses import dataclass

# Result statuses of one conversation (the bulk API's `status`).
ENRICHED = "enriched"
FAILED = "failed"
SKIPPED = "skipped"
OUTCOME_STATUSES = (ENRICHED, FAILED, SKIPPED)

# Skip reasons.
ALREADY_ENRICHED = "already_enriched"
IN_PROGRESS = "in_progress"
PREVIOUSLY_FAILED = "previously_failed"  # only when the caller asked not to retry failures
INACTIVE = "inactive"  # deactivated after it was selected (a run over it, a race)
SKIP_REASONS = (ALREADY_ENRICHED, IN_PROGRESS, PREVIOUSLY_FAILED, INACTIVE)


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
