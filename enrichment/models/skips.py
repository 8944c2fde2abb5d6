"""Why a conversation was skipped (an outcome's and a run item's ``reason``), and the
reasons in words for pages and the command line."""

from collections.abc import Mapping

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
