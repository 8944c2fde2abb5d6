"""The variables a prompt template may name as ``{{placeholder}}``: one catalogue, built
from the persona's, emotional arc's and training topic's fields, plus ``target_turn_count``
(chosen per conversation inside the arc's range, see ``prompts.target_turn_count``).

The names follow the original's templates: mostly the scaffolding field with a prefix
(``persona_name`` is the persona's ``name``, ``topic_key_concepts`` the topic's
``key_concepts``), the arc's numbers under their own names (``starting_intensity_min``,
``typical_turn_count_max``), and two renamed topic fields (``topic_example_questions`` is
``typical_question_examples``, ``topic_complexity`` is ``complexity_level``).

Values are text: lists become readable lists (also lists stored as Python-style strings
such as ``"['a', 'b']"``), the persona's demographics a short description, numbers as
written. A field the row does not have, or has empty, is absent from the values.
"""

import ast
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist

from conversations.models import EmotionalArc, Persona, TrainingTopic


@dataclass(frozen=True)
class Variable:
    name: str
    source: str  # "persona", "emotional_arc", "training_topic" or "conversation"
    field: str  # the scaffolding field it reads
    description: str


def _persona(name: str, field: str, description: str) -> Variable:
    return Variable(name, "persona", field, description)


def _arc(name: str, field: str, description: str) -> Variable:
    return Variable(name, "emotional_arc", field, description)


def _topic(name: str, field: str, description: str) -> Variable:
    return Variable(name, "training_topic", field, description)


CATALOGUE: tuple[Variable, ...] = (
    _persona("persona_key", "persona_key", "the persona's key"),
    _persona("persona_name", "name", "the client's name"),
    _persona("persona_archetype", "archetype", "e.g. The Overwhelmed Avoider"),
    _persona("persona_demographics", "demographics", "age, gender, location, family status"),
    _persona("persona_age_range", "age_range", "e.g. 35-40"),
    _persona("persona_occupation", "occupation", "the client's work"),
    _persona("persona_income_range", "income_range", "e.g. $120,000-$160,000"),
    _persona("persona_financial_background", "financial_background", "their money story"),
    _persona("persona_financial_situation", "financial_situation", "their money today"),
    _persona("persona_communication_style", "communication_style", "how they talk"),
    _persona("persona_emotional_baseline", "emotional_baseline", "how they usually feel"),
    _persona("persona_typical_questions", "typical_questions", "a list"),
    _persona("persona_common_concerns", "common_concerns", "a list"),
    _persona("persona_language_patterns", "language_patterns", "a list"),
    _arc("emotional_arc_key", "arc_key", "the arc's key"),
    _arc("emotional_arc_name", "name", "e.g. Confusion → Clarity"),
    _arc("starting_emotion", "starting_emotion", "the client's emotion at the start"),
    _arc("starting_intensity_min", "starting_intensity_min", "0 to 1"),
    _arc("starting_intensity_max", "starting_intensity_max", "0 to 1"),
    _arc("ending_emotion", "ending_emotion", "the client's emotion at the end"),
    _arc("ending_intensity_min", "ending_intensity_min", "0 to 1"),
    _arc("ending_intensity_max", "ending_intensity_max", "0 to 1"),
    _arc("arc_strategy", "arc_strategy", "e.g. normalize_confusion_then_educate"),
    _arc("arc_key_principles", "key_principles", "a list"),
    _arc("arc_characteristic_phrases", "characteristic_phrases", "a list"),
    _arc("arc_response_techniques", "response_techniques", "a list"),
    _arc("arc_avoid_tactics", "avoid_tactics", "a list"),
    _arc("arc_complexity_baseline", "complexity_baseline", "a number"),
    _arc("typical_turn_count_min", "typical_turn_count_min", "fewest turns the arc takes"),
    _arc("typical_turn_count_max", "typical_turn_count_max", "most turns the arc takes"),
    _topic("topic_key", "topic_key", "the topic's key"),
    _topic("topic_name", "name", "e.g. HSA vs FSA Comparison"),
    _topic("topic_category", "category", "e.g. retirement"),
    _topic("topic_description", "description", "what the topic covers"),
    _topic("topic_complexity", "complexity_level", "beginner, intermediate or advanced"),
    _topic("topic_example_questions", "typical_question_examples", "a list"),
    _topic("topic_key_concepts", "key_concepts", "a list"),
    Variable(
        "target_turn_count",
        "conversation",
        "",
        "turns this conversation should have: chosen per conversation inside the arc's "
        "typical_turn_count_min..max",
    ),
)
NAMES: frozenset[str] = frozenset(variable.name for variable in CATALOGUE)


def field_value(row: Persona | EmotionalArc | TrainingTopic, field: str) -> Any:
    """A scaffolding row's field: a model column, else the row's ``data``."""
    try:
        row._meta.get_field(field)
    except FieldDoesNotExist:
        return (row.data or {}).get(field)
    return getattr(row, field)


def as_list(value: Any) -> list | None:
    """A list, or a list stored as text (JSON or Python-style ``"['a', 'b']"``); else None."""
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            for parse in (json.loads, ast.literal_eval):
                try:
                    parsed = parse(text)
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    continue
                if isinstance(parsed, list | tuple):
                    return list(parsed)
    return None


def _demographics(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    age = value.get("age")
    known = [f"Age {age}" if age not in (None, "") else ""]
    known += [value.get(key) for key in ("gender", "location", "family_status")]
    others = [
        f"{key.replace('_', ' ')}: {text}"
        for key, text in value.items()
        if key not in {"age", "gender", "location", "family_status"} and text not in (None, "")
    ]
    return ", ".join(str(part) for part in [*known, *others] if part)


@dataclass(frozen=True)
class Text:
    """A variable's value: ``text`` inline, ``items`` when it was a list."""

    text: str
    items: tuple[str, ...] | None = None

    def block(self) -> str:
        """A list as one ``- item`` line each (for a placeholder on a line of its own)."""
        if self.items is None:
            return self.text
        return "\n".join(f"- {item}" for item in self.items)


def as_text(value: Any) -> Text | None:
    """Readable text for a value, or None when it is missing or empty."""
    items = as_list(value)
    if items is not None:
        texts = tuple(
            text for item in items if (rendered := as_text(item)) and (text := rendered.text)
        )
        return Text("; ".join(texts), texts) if texts else None
    if value is None or isinstance(value, bool):
        return None if value is None else Text("yes" if value else "no")
    if isinstance(value, dict):
        parts = [f"{key}: {text.text}" for key, item in value.items() if (text := as_text(item))]
        return Text(", ".join(parts)) if parts else None
    text = str(value).strip()
    return Text(text) if text else None


def variables(
    persona: Persona | None,
    arc: EmotionalArc | None,
    topic: TrainingTopic | None,
    *,
    target_turn_count: int | None = None,
) -> dict[str, Text]:
    """The catalogue's values for one combination; missing or empty ones are left out."""
    rows = {"persona": persona, "emotional_arc": arc, "training_topic": topic}
    values: dict[str, Text] = {}
    for variable in CATALOGUE:
        if variable.source == "conversation":
            raw: Any = target_turn_count
        else:
            row = rows[variable.source]
            if row is None:
                continue
            raw = field_value(row, variable.field)
            if variable.name == "persona_demographics":
                raw = _demographics(raw)
        text = as_text(raw)
        if text is not None:
            values[variable.name] = text
    return values
