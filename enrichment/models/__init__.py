"""The enrichment app's models: background runs and their items."""

from .runs import (
    EnrichmentRun,
    EnrichmentRunItem,
    EnrichmentRunQuerySet,
    ItemOutcome,
    RunSource,
    RunStatus,
)

__all__ = [
    "EnrichmentRun",
    "EnrichmentRunItem",
    "EnrichmentRunQuerySet",
    "ItemOutcome",
    "RunSource",
    "RunStatus",
]
