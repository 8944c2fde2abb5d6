"""Enrichment of a validated conversation into the v1 training format (DOMAIN.md §4).

Pure: the scaffolding rows, the consultant profile, the business id and the creation date
arrive in an ``EnrichmentContext``; nothing is looked up, generated at random or read from
a clock, so the same input always gives an equal output.

Decisions the spec leaves open:
- ``quality_criteria``: each of the four scores is the conversation's quality score rounded
  to one decimal, or the base score 3.0 when it has none (null or 0). The original added
  random jitter of ±0.2; we add none.
- ``training_metadata.quality_score`` rounds half up (3.5 → 4), like the original's
  ``Math.round``, not Python's half-to-even ``round``.
- ``key_learning_objective``: ``input_parameters.training_topic_key``, else the topic row's
  ``topic_key``, else its ``name``, else ``input_parameters.training_topic_name``, else
  "Provide emotionally intelligent financial guidance".
- ``persona_archetype`` (like the arc and topic names and keys next to it) appears only when
  ``input_parameters`` has a non-empty value, as the original's ``JSON.stringify`` dropped
  undefined values.
- A persona row without a name does not replace the input's ``client_persona``.
- Valence looks at the primary emotion only (the reference files agree: "anxiety" with
  secondary "hope" is negative).
"""

import math
import re
from dataclasses import dataclass
from typing import Any

from enrichment.pipeline.profile import Profile

__all__ = [
    "EnrichedDocument",
    "EnrichmentContext",
    "build_document",
    "enrich_conversation",
    "valence",
]

DATASET_VERSION = "1.0.0"
DEFAULT_CONVERSATION_KEY = "fp_conversation"
DEFAULT_EXPECTED_OUTCOME = "Provide emotionally intelligent support"
DEFAULT_LEARNING_OBJECTIVE = "Provide emotionally intelligent financial guidance"
DEFAULT_SKILLS = ("empathy", "active_listening")
DEFAULT_COMPLEXITY = "intermediate"
BASE_QUALITY_SCORE = 3.0
PRIMARY_CONFIDENCE = 0.8
SECONDARY_CONFIDENCE = 0.7

POSITIVE_EMOTIONS = (
    "hope",
    "relief",
    "excitement",
    "joy",
    "confidence",
    "gratitude",
    "pride",
    "determination",
    "calm",
    "optimism",
)
NEGATIVE_EMOTIONS = (
    "shame",
    "fear",
    "anxiety",
    "guilt",
    "anger",
    "frustration",
    "overwhelm",
    "sadness",
    "embarrassment",
    "worry",
    "stress",
)
_POSITIVE = re.compile("|".join(POSITIVE_EMOTIONS))
_NEGATIVE = re.compile("|".join(NEGATIVE_EMOTIONS))

# (key in the pair's conversation_metadata, key in input_parameters)
_SCAFFOLDING_KEYS = (
    ("persona_archetype", "persona_key"),
    ("emotional_arc", "emotional_arc_name"),
    ("emotional_arc_key", "emotional_arc_key"),
    ("training_topic", "training_topic_name"),
    ("training_topic_key", "training_topic_key"),
)


@dataclass(frozen=True)
class EnrichmentContext:
    conversation_id: str  # business UUID as str
    created_date: str  # "YYYY-MM-DD"
    quality_score: float | None
    persona: dict | None  # keys used: name, archetype, demographics, financial_background
    emotional_arc: dict | None  # keys used: name, arc_key, starting_emotion, ending_emotion
    training_topic: dict | None  # keys used: name, topic_key, complexity_level
    template: dict | None  # keys used: template_name, category, suitable_personas
    profile: Profile


HISTORY_KEY = "conversation_history"


@dataclass(frozen=True)
class EnrichedDocument:
    """The enriched document, with each turn's history entry held once.

    Pair *i*'s ``conversation_history`` is every earlier turn, ``history[:i]``, so the
    stored document grows with the square of the turn count. Here each pair holds an
    empty list in its place (keeping the key order) and the entries are held once, so
    building it costs memory in proportion to the conversation; normalization writes
    the repetitions straight out (``normalize.prepare_document``).
    """

    fields: dict  # the document's keys in order; "training_pairs" holds the pairs
    history: list[dict]  # one entry per turn

    def as_dict(self) -> dict:
        """The whole document as one object (every pair with its full history)."""
        pairs = [
            {**pair, HISTORY_KEY: self.history[:index]}
            for index, pair in enumerate(self.fields["training_pairs"])
        ]
        return {**self.fields, "training_pairs": pairs}


def enrich_conversation(data: dict, context: EnrichmentContext) -> dict:
    """Build the enriched document as one object: one training pair per turn, user turns
    included. Expects a conversation without validation blockers; optional fields may be
    absent. (The runner uses ``build_document``, which does not repeat the history.)
    """
    return build_document(data, context).as_dict()


def build_document(data: dict, context: EnrichmentContext) -> EnrichedDocument:
    """The enriched document with each pair's history left to ``EnrichedDocument``."""
    metadata = _as_dict(data.get("conversation_metadata"))
    raw_turns = data.get("turns")
    if not isinstance(raw_turns, list):
        raw_turns = []
    turns = [turn if isinstance(turn, dict) else {} for turn in raw_turns]
    params = _as_dict(data.get("input_parameters"))
    persona = context.persona or {}
    arc = context.emotional_arc or {}
    topic = context.training_topic or {}
    template = context.template or {}
    profile = context.profile

    conversation_key = template.get("category") or DEFAULT_CONVERSATION_KEY
    pair_metadata = _pair_metadata(metadata, params, persona)
    complexity = topic.get("complexity_level") or DEFAULT_COMPLEXITY
    objective = (
        params.get("training_topic_key")
        or topic.get("topic_key")
        or topic.get("name")
        or params.get("training_topic_name")
        or DEFAULT_LEARNING_OBJECTIVE
    )
    skills = template.get("suitable_personas")
    if not isinstance(skills, list | tuple) or not skills:
        skills = DEFAULT_SKILLS
    starting, ending = arc.get("starting_emotion"), arc.get("ending_emotion")
    progression = f"{starting}(0.8) → {ending}(0.8)" if starting and ending else ""
    score = _effective_score(context.quality_score)
    criterion = round(score, 1)
    rounded_score = math.floor(score + 0.5)

    history = [_history_entry(turn, position) for position, turn in enumerate(turns)]
    pairs = []
    last_user_input = ""
    for index, turn in enumerate(turns):
        number = turn.get("turn_number", index + 1)
        role = turn.get("role")
        content = turn.get("content", "")
        if role == "user":
            last_user_input = content
        pairs.append(
            {
                "id": f"{conversation_key}_turn{number}",
                "conversation_id": conversation_key,
                "turn_number": number,
                "conversation_metadata": dict(pair_metadata),
                "system_prompt": profile.system_prompt,
                HISTORY_KEY: [],  # history[:index], see EnrichedDocument
                "current_user_input": last_user_input if role in ("user", "assistant") else "",
                "emotional_context": {
                    "detected_emotions": _detected_emotions(_as_dict(turn.get("emotional_context")))
                },
                "target_response": content if role == "assistant" else None,
                "training_metadata": {
                    "difficulty_level": f"{complexity}_conversation_turn_{number}",
                    "key_learning_objective": objective,
                    "demonstrates_skills": list(skills),
                    "conversation_turn": number,
                    "emotional_progression_target": progression,
                    "quality_score": rounded_score,
                    "quality_criteria": {
                        "empathy_score": criterion,
                        "clarity_score": criterion,
                        "appropriateness_score": criterion,
                        "brand_voice_alignment": criterion,
                    },
                    "human_reviewed": False,
                    "reviewer_notes": None,
                    "use_as_seed_example": False,
                    "generate_variations_count": 0,
                },
            }
        )

    dataset = profile.dataset_metadata
    enriched = {
        "dataset_metadata": {
            "dataset_name": f"fp_conversation_{context.conversation_id}",
            "version": DATASET_VERSION,
            "created_date": context.created_date,
            "vertical": dataset.get("vertical"),
            "consultant_persona": dataset.get("consultant_persona"),
            "target_use": dataset.get("target_use"),
            "conversation_source": dataset.get("conversation_source"),
            "quality_tier": quality_tier(context.quality_score),
            "total_conversations": 1,
            "total_turns": len(turns),
            "notes": f"Generated via template: {template.get('template_name') or 'unknown'}",
        },
        # Copied so that callers changing the output never change the shared profile.
        "consultant_profile": _copy(profile.consultant_profile),
        "training_pairs": pairs,
    }
    if "input_parameters" in data:
        enriched["input_parameters"] = _copy(data["input_parameters"])
    return EnrichedDocument(enriched, history)


def quality_tier(quality_score: float | None) -> str:
    score = _effective_score(quality_score)
    if score >= 4.5:
        return "seed_dataset"
    if score >= 3.5:
        return "production"
    return "experimental"


def _effective_score(quality_score: float | None) -> float:
    # Null and 0 both mean "never scored" in the original.
    return float(quality_score) if quality_score else BASE_QUALITY_SCORE


def valence(emotion: Any) -> str:
    if not isinstance(emotion, str):
        return "mixed"
    lowered = emotion.lower()
    if _POSITIVE.search(lowered):
        return "positive"
    if _NEGATIVE.search(lowered):
        return "negative"
    return "mixed"


def _pair_metadata(metadata: dict, params: dict, persona: dict) -> dict:
    client_persona = _client_persona(persona, metadata)
    block = {
        "client_persona": client_persona,
        "client_background": _client_background(persona, client_persona),
        "session_context": metadata.get("session_context", ""),
        "conversation_phase": metadata.get("conversation_phase", ""),
        "expected_outcome": metadata.get("expected_outcome") or DEFAULT_EXPECTED_OUTCOME,
    }
    for key, param in _SCAFFOLDING_KEYS:
        value = params.get(param)
        if value:
            block[key] = value
    return block


def _client_persona(persona: dict, metadata: dict) -> str:
    name = persona.get("name")
    if name:
        return f"{name} - {persona.get('archetype') or 'Client'}"
    return metadata.get("client_persona", "")


def _client_background(persona: dict, client_persona: str) -> str:
    parts = []
    demographics = persona.get("demographics")
    if isinstance(demographics, dict):
        age = demographics.get("age")
        details = [
            f"Age {age}" if age is not None and age != "" else "",
            demographics.get("gender"),
            demographics.get("location"),
            demographics.get("family_status"),
        ]
        described = ", ".join(str(detail) for detail in details if detail)
        if described:
            parts.append(described)
    elif isinstance(demographics, str) and demographics:
        parts.append(demographics)
    financial_background = persona.get("financial_background")
    if financial_background:
        parts.append(str(financial_background))
    return "; ".join(parts) or f"Client profile: {client_persona}"


def _emotional_state(emotions: dict) -> dict:
    state = {"primary": emotions.get("primary_emotion")}
    secondary = emotions.get("secondary_emotion")
    if secondary:
        state["secondary"] = secondary
    state["intensity"] = emotions.get("intensity")
    return state


def _history_entry(turn: dict, position: int) -> dict:
    return {
        "turn": turn.get("turn_number", position + 1),
        "role": turn.get("role"),
        "content": turn.get("content", ""),
        "emotional_state": _emotional_state(_as_dict(turn.get("emotional_context"))),
    }


def _detected_emotions(emotions: dict) -> dict:
    primary = emotions.get("primary_emotion")
    detected = {"primary": primary, "primary_confidence": PRIMARY_CONFIDENCE}
    secondary = emotions.get("secondary_emotion")
    if secondary:
        detected["secondary"] = secondary
        detected["secondary_confidence"] = SECONDARY_CONFIDENCE
    detected["intensity"] = emotions.get("intensity")
    detected["valence"] = valence(primary)
    return detected


def _as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
