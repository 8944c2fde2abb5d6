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
    EnrichmentRunQuerySet,
    ItemOutcome,
    RunSource,
    RunStatus,
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
    "EnrichmentRunQuerySet",
    "EnrichmentStatus",
    "ErrorCategory",
    "ItemOutcome",
    "Persona",
    "ProcessingStatus",
    "PromptTemplate",
    "RunSource",
    "RunStatus",
    "ScaffoldingRow",
    "Tier",
    "TrainingTopic",
    "lease_expiry",
]
