"""What happened to one conversation: the runner's answer, before any API shapes it."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

# Result statuses of one conversation (the bulk API's `status`).
ENRICHED = "enriched"
FAILED = "failed"
SKIPPED = "skipped"

# Skip reasons.
ALREADY_ENRICHED = "already_enriched"
IN_PROGRESS = "in_progress"
PREVIOUSLY_FAILED = "previously_failed"  # only when the caller asked not to retry failures
INACTIVE = "inactive"  # deactivated after it was selected (a run over it, a race)
SKIP_REASONS = (ALREADY_ENRICHED, IN_PROGRESS, PREVIOUSLY_FAILED, INACTIVE)
# Each reason in words, for pages and the command line.
SKIP_REASON_TEXT = {
    ALREADY_ENRICHED: "already enriched",
    IN_PROGRESS: "in progress elsewhere",
    PREVIOUSLY_FAILED: "failed before",
    INACTIVE: "deactivated",
}


def skip_reasons_text(counts: Mapping[str | None, int]) -> str:
    """Why conversations were skipped, in words: "2 already enriched, 1 deactivated"
    (empty when none were)."""
    parts = [
        f"{counts[reason]:,} {SKIP_REASON_TEXT[reason]}"
        for reason in SKIP_REASONS
        if counts.get(reason)
    ]
    unknown = sum(n for reason, n in counts.items() if reason not in SKIP_REASON_TEXT)
    if unknown:
        parts.append(f"{unknown:,} for another reason")
    return ", ".join(parts)


def skipped_text(count: int, counts: Mapping[str | None, int]) -> str:
    """ "Skipped: N" as pages and the command line print it, with the reasons:
    "2 (2 already enriched)"."""
    reasons = skip_reasons_text(counts) if count else ""
    return f"{count:,} ({reasons})" if reasons else f"{count:,}"


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
