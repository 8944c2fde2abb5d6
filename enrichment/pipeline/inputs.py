"""Loading what the stages read: the claimed rows, their scaffolding, the profile and the
stored input file."""

import uuid
from functools import lru_cache

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.utils import timezone

from conversations.models import Conversation, EnrichmentStatus, ErrorCategory

from .enrich import EnrichmentContext
from .profile import DEFAULT_PROFILE, Profile, load_profile


class StageFailure(Exception):
    """One conversation failed at some step; ``status`` and ``category`` name how."""

    def __init__(self, status: str, category: str, message: str, **fields) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.fields = fields


@lru_cache(maxsize=8)
def _load_profile(path: str) -> Profile:
    return load_profile(path)


def current_profile() -> Profile:
    path = settings.ENRICHMENT_PROFILE
    return _load_profile(str(path)) if path else DEFAULT_PROFILE


# The largest conversation file enrichment reads (and imports accept): real ones are a
# few kilobytes; a bigger file is refused before it is read whole.
MAX_INPUT_BYTES = 16 * 1024 * 1024

SCAFFOLDING = ("persona", "emotional_arc", "training_topic", "template")
# What the stages read of a conversation (besides its scaffolding): loading only these
# keeps an earlier enrichment's large reports out of the hot path.
INPUT_FIELDS = (
    "id",
    "conversation_id",
    "created_by_id",
    "created_at",
    "quality_score",
    "file_path",
    "raw_response_path",
    # The output's own path (``process.output_path``) and the one it supersedes.
    "revision",
    "enrichment_claim_token",
    "enriched_file_path",
    # What the claim found: a completed conversation keeps its output if this attempt fails.
    "enrichment_status_before_claim",
    # A reviewed conversation enriched again notes it in its review history.
    "review_status",
    *SCAFFOLDING,
)
# Up to this many conversations, their scaffolding is joined into the one SELECT; beyond,
# it is loaded once per relation (four more queries, but far fewer rows and decodes).
_JOIN_UP_TO = 4


def load_claimed(pks: list[uuid.UUID], token: uuid.UUID) -> list[Conversation]:
    """The rows among ``pks`` that ``token`` holds, with their scaffolding, in ``pks`` order."""
    claimed: QuerySet[Conversation] = (
        Conversation.objects.filter(pk__in=pks).held_by(token).only(*INPUT_FIELDS)
    )
    if len(pks) > _JOIN_UP_TO:
        # Few scaffolding rows serve many conversations: each is loaded (and its JSON
        # decoded) once per relation instead of once per conversation.
        claimed = claimed.prefetch_related(*SCAFFOLDING)
    else:
        claimed = claimed.select_related(*SCAFFOLDING)
    order = {pk: index for index, pk in enumerate(pks)}
    return sorted(claimed, key=lambda c: order[c.pk])


def snapshot(conversation: Conversation, profile: Profile) -> EnrichmentContext:
    """The plain data the enrich stage reads of a row and its scaffolding."""
    persona = conversation.persona
    arc = conversation.emotional_arc
    topic = conversation.training_topic
    template = conversation.template
    return EnrichmentContext(
        conversation_id=str(conversation.conversation_id),
        created_date=timezone.localdate(conversation.created_at).isoformat(),
        quality_score=conversation.quality_score,
        persona=None
        if persona is None
        else {
            "name": persona.name,
            "archetype": persona.archetype,
            "demographics": persona.demographics,
            "financial_background": persona.financial_background,
        },
        emotional_arc=None
        if arc is None
        else {
            "name": arc.name,
            "arc_key": arc.arc_key,
            "starting_emotion": arc.starting_emotion,
            "ending_emotion": arc.ending_emotion,
        },
        training_topic=None
        if topic is None
        else {
            "name": topic.name,
            "topic_key": topic.topic_key,
            "complexity_level": topic.complexity_level,
        },
        template=None
        if template is None
        else {
            "template_name": template.name,
            "category": template.category,
            "suitable_personas": template.suitable_personas,
        },
        profile=profile,
    )


def read_input(conversation: Conversation) -> bytes:
    """The stored file enrichment starts from: the parsed file, else the raw reply."""
    path = conversation.file_path or conversation.raw_response_path
    if not path:
        raise StageFailure(
            EnrichmentStatus.ENRICHMENT_FAILED,
            ErrorCategory.MISSING_INPUT,
            "The conversation has no stored file to enrich.",
        )
    try:
        with default_storage.open(path, "rb") as handle:
            source = handle.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise StageFailure(
            EnrichmentStatus.ENRICHMENT_FAILED,
            ErrorCategory.MISSING_INPUT,
            f"The input file {path} is missing from storage.",
        ) from None
    except OSError as exc:
        raise StageFailure(
            EnrichmentStatus.ENRICHMENT_FAILED,
            ErrorCategory.STORAGE,
            f"The input file {path} could not be read: {exc}",
        ) from None
    if len(source) > MAX_INPUT_BYTES:
        raise StageFailure(
            EnrichmentStatus.VALIDATION_FAILED,
            ErrorCategory.VALIDATION,
            f"The input file {path} is over {MAX_INPUT_BYTES:,} bytes, the largest "
            "conversation enrichment reads.",
            validation_report=None,
            normalization_report=None,
        )
    return source
