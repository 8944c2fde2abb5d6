"""The data every feature app works on: conversations, their scaffolding (personas,
emotional arcs, training topics, prompt templates) and the batch jobs that bring them in."""

from .batches import (
    BatchItem,
    BatchItemStatus,
    BatchJob,
    BatchJobQuerySet,
    BatchJobStatus,
    CountsSweep,
    Priority,
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
from .scaffolding import EmotionalArc, Persona, PromptTemplate, ScaffoldingRow, TrainingTopic

__all__ = [
    "BatchItem",
    "BatchItemStatus",
    "BatchJob",
    "BatchJobQuerySet",
    "BatchJobStatus",
    "Conversation",
    "ConversationQuerySet",
    "CountsSweep",
    "EmotionalArc",
    "EnrichmentStatus",
    "ErrorCategory",
    "Persona",
    "Priority",
    "ProcessingStatus",
    "PromptTemplate",
    "ScaffoldingRow",
    "Tier",
    "TrainingTopic",
    "lease_expiry",
]
