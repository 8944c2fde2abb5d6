"""The enrichment app's models: scaffolding, conversations, background runs, API tokens."""

from .conversations import (
    Conversation,
    ConversationQuerySet,
    EnrichmentStatus,
    ErrorCategory,
    ProcessingStatus,
    Tier,
    lease_expiry,
)
from .runs import (
    EnrichmentRun,
    EnrichmentRunItem,
    EnrichmentRunLane,
    EnrichmentRunQuerySet,
    ItemOutcome,
    LaneStatus,
    RunSource,
    RunStatus,
    Stall,
    item_lease,
    lane_timeout,
)
from .scaffolding import EmotionalArc, Persona, PromptTemplate, ScaffoldingRow, TrainingTopic
from .tokens import ApiToken, ApiTokenQuerySet

__all__ = [
    "ApiToken",
    "ApiTokenQuerySet",
    "Conversation",
    "ConversationQuerySet",
    "EmotionalArc",
    "EnrichmentRun",
    "EnrichmentRunItem",
    "EnrichmentRunLane",
    "EnrichmentRunQuerySet",
    "EnrichmentStatus",
    "ErrorCategory",
    "ItemOutcome",
    "LaneStatus",
    "Persona",
    "ProcessingStatus",
    "PromptTemplate",
    "RunSource",
    "RunStatus",
    "ScaffoldingRow",
    "Stall",
    "Tier",
    "TrainingTopic",
    "item_lease",
    "lane_timeout",
    "lease_expiry",
]
