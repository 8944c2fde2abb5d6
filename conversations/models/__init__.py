"""The data every feature app works on: conversations, their scaffolding (personas,
emotional arcs, training topics, prompt templates) and the batch jobs that bring them in."""

from .batches import (
    COUNT_FIELDS,
    BatchItem,
    BatchItemStatus,
    BatchJob,
    BatchJobQuerySet,
    BatchJobStatus,
    Priority,
    jobs_of,
)
from .conversations import (
    Conversation,
    ConversationQuerySet,
    EnrichmentStatus,
    ErrorCategory,
    ProcessingStatus,
    Tier,
    lease_expiry,
)
from .review import (
    STATUS_AFTER,
    ReviewAction,
    ReviewActionKind,
    ReviewReason,
    ReviewStatus,
)
from .revisions import ConversationRevision, RevisionSource
from .scaffolding import EmotionalArc, Persona, PromptTemplate, ScaffoldingRow, TrainingTopic

__all__ = [
    "COUNT_FIELDS",
    "BatchItem",
    "BatchItemStatus",
    "BatchJob",
    "BatchJobQuerySet",
    "BatchJobStatus",
    "Conversation",
    "ConversationQuerySet",
    "ConversationRevision",
    "EmotionalArc",
    "EnrichmentStatus",
    "ErrorCategory",
    "Persona",
    "Priority",
    "ProcessingStatus",
    "ReviewAction",
    "ReviewActionKind",
    "ReviewReason",
    "ReviewStatus",
    "RevisionSource",
    "STATUS_AFTER",
    "PromptTemplate",
    "ScaffoldingRow",
    "Tier",
    "TrainingTopic",
    "jobs_of",
    "lease_expiry",
]
