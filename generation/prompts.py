"""Prompts: a template chosen for each persona × arc × topic, its ``{{placeholders}}`` filled
from the catalogue (generation/catalogue.py), and every reason one cannot be built named.

Nothing is sent with a ``{{…}}`` in it: an unknown placeholder, one whose value is empty
for the combination, or a value that itself carries ``{{…}}`` is a ``Problem`` naming it,
at preview as at creation.
"""

import hashlib
import random
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from conversations.models import EmotionalArc, Persona, PromptTemplate, TrainingTopic

from . import catalogue

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# Fields a placeholder's value comes from, for the problem's message.
_SOURCE_LABEL = {
    "persona": "persona",
    "emotional_arc": "emotional arc",
    "training_topic": "training topic",
}


@dataclass(frozen=True)
class Problem:
    """Why a prompt cannot be built, with what it concerns (keys as the API names them)."""

    message: str
    persona_key: str | None = None
    emotional_arc_key: str | None = None
    training_topic_key: str | None = None
    template_name: str | None = None
    placeholder: str | None = None

    def as_dict(self) -> dict:
        """The API's shape: ``message`` and the camelCase keys that apply."""
        named = {
            "personaKey": self.persona_key,
            "emotionalArcKey": self.emotional_arc_key,
            "trainingTopicKey": self.training_topic_key,
            "templateName": self.template_name,
            "placeholder": self.placeholder,
        }
        return {"message": self.message, **{k: v for k, v in named.items() if v is not None}}


@dataclass(frozen=True)
class Prompt:
    """One conversation's request, as it will be sent."""

    persona: Persona
    arc: EmotionalArc
    topic: TrainingTopic
    template: PromptTemplate
    system: str
    text: str
    target_turn_count: int | None
    repeat: int = 1

    @property
    def prompt_hash(self) -> str:
        """SHA-256 of what the model is sent (system and prompt), kept per attempt."""
        digest = hashlib.sha256()
        for part in (self.system, self.text):
            encoded = part.encode("utf-8")
            digest.update(len(encoded).to_bytes(8, "big"))
            digest.update(encoded)
        return digest.hexdigest()

    def as_preview(self) -> dict:
        return {
            "personaKey": self.persona.persona_key,
            "emotionalArcKey": self.arc.arc_key,
            "trainingTopicKey": self.topic.topic_key,
            "templateName": self.template.name,
            "system": self.system,
            "prompt": self.text,
        }


def item_seed(persona_key: str, arc_key: str, topic_key: str, repeat: int) -> str:
    """What an item's random choices (its target turn count) are drawn from: the same
    combination and repeat always get the same prompt, at preview and when sent."""
    return f"{persona_key}|{arc_key}|{topic_key}|{repeat}"


def target_turn_count(arc: EmotionalArc, seed: str) -> int | None:
    """A turn count inside the arc's ``typical_turn_count_min..max``, the same for the same
    seed; None when the arc has no usable range."""
    low = _whole(catalogue.field_value(arc, "typical_turn_count_min"))
    high = _whole(catalogue.field_value(arc, "typical_turn_count_max"))
    if low is None or high is None or low < 1 or high < 1:
        return None
    low, high = min(low, high), max(low, high)
    return random.Random(seed).randint(low, high)


def _whole(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def render(text: str, values: dict[str, catalogue.Text]) -> tuple[str, list[tuple[str, str]]]:
    """``text`` with every known, non-empty placeholder filled, and the (placeholder, reason)
    pairs of those that could not be. A list fills a placeholder alone on its line as one
    ``- item`` line each, and inline as ``a; b; c``."""
    missing: list[tuple[str, str]] = []
    seen: set[str] = set()

    def note(name: str, reason: str) -> None:
        if name not in seen:
            seen.add(name)
            missing.append((name, reason))

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in catalogue.NAMES:
            note(name, "unknown")
            return match.group(0)
        value = values.get(name)
        if value is None:
            note(name, "empty")
            return match.group(0)
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_end = text.find("\n", match.end())
        line = text[line_start : len(text) if line_end == -1 else line_end]
        return value.block() if line.strip() == match.group(0) else value.text

    rendered = PLACEHOLDER.sub(fill, text)
    if not missing:
        for found in PLACEHOLDER.finditer(rendered):
            note(found.group(1), "in a value")
    return rendered, missing


def _placeholder_problem(name: str, reason: str, **keys) -> Problem:
    if reason == "unknown":
        message = (
            f"Unknown placeholder {{{{{name}}}}}: it is not in the generation variable "
            "catalogue, so it has no value."
        )
    elif reason == "in a value":
        message = f"A value put into the prompt contains the placeholder {{{{{name}}}}}."
    elif name == "target_turn_count":
        message = (
            "Placeholder {{target_turn_count}} is empty: the emotional arc has no "
            "typical_turn_count_min and typical_turn_count_max to choose it from."
        )
    else:
        variable = next(v for v in catalogue.CATALOGUE if v.name == name)
        message = (
            f"Placeholder {{{{{name}}}}} is empty: the {_SOURCE_LABEL[variable.source]} has no "
            f"{variable.field}."
        )
    return Problem(message, placeholder=name, **keys)


class Templates:
    """The templates a set of combinations may use, loaded once."""

    def __init__(self, template_name: str | None = None) -> None:
        self.template_name = template_name
        self.by_name: dict[str, PromptTemplate] = {}
        self.by_arc: dict[str, PromptTemplate] = {}
        query = PromptTemplate.objects.order_by("name")
        if template_name is not None:
            query = query.filter(name=template_name)
        else:
            query = query.filter(is_active=True)
        for template in query:
            self.by_name[template.name] = template
            # Several active templates for one arc: the first by name is used.
            self.by_arc.setdefault(template.emotional_arc_type, template)

    def problem(self) -> Problem | None:
        """A problem with the explicit template itself (missing or inactive)."""
        if self.template_name is None:
            return None
        template = self.by_name.get(self.template_name)
        if template is None:
            return Problem(
                f"No prompt template is named {self.template_name!r}.",
                template_name=self.template_name,
            )
        if not template.is_active:
            return Problem(
                f"Prompt template {self.template_name!r} is not active.",
                template_name=self.template_name,
            )
        if not template.template_text.strip():
            return Problem(
                f"Prompt template {self.template_name!r} has no template_text.",
                template_name=self.template_name,
            )
        return None

    def for_arc(self, arc: EmotionalArc) -> PromptTemplate | Problem:
        if self.template_name is not None:
            return self.problem() or self.by_name[self.template_name]
        template = self.by_arc.get(arc.arc_key)
        if template is None:
            return Problem(
                f"No active prompt template has emotional_arc_type {arc.arc_key!r}: choose "
                "one with templateName, or add one for this arc.",
                emotional_arc_key=arc.arc_key,
            )
        if not template.template_text.strip():
            return Problem(
                f"Prompt template {template.name!r} (for arc {arc.arc_key!r}) has no "
                "template_text.",
                emotional_arc_key=arc.arc_key,
                template_name=template.name,
            )
        return template


def build(
    persona: Persona,
    arc: EmotionalArc,
    topic: TrainingTopic,
    templates: Templates,
    *,
    system: str,
    repeat: int = 1,
) -> Prompt | list[Problem]:
    """The prompt for one item, or every problem that stops it."""
    keys = {
        "persona_key": persona.persona_key,
        "emotional_arc_key": arc.arc_key,
        "training_topic_key": topic.topic_key,
    }
    template = templates.for_arc(arc)
    if isinstance(template, Problem):
        return [template]
    turns = target_turn_count(
        arc, item_seed(persona.persona_key, arc.arc_key, topic.topic_key, repeat)
    )
    values = catalogue.variables(persona, arc, topic, target_turn_count=turns)
    text, missing = render(template.template_text, values)
    if missing:
        return [
            _placeholder_problem(name, reason, template_name=template.name, **keys)
            for name, reason in missing
        ]
    return Prompt(persona, arc, topic, template, system, text, turns, repeat)


@dataclass
class Plan:
    """Every prompt of a request (persona × arc × topic × repeat), or why not."""

    prompts: list[Prompt] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    requested: int = 0  # persona × arc × topic × repeat, whether or not they all build

    @property
    def items(self) -> int:
        return len(self.prompts)


def _rows(model, lookup: str, keys: Sequence[str], label: str, problem_key: str):
    found = {getattr(row, lookup): row for row in model.objects.filter(**{f"{lookup}__in": keys})}
    rows, problems = [], []
    for key in dict.fromkeys(keys):
        row = found.get(key)
        if row is None:
            problems.append(Problem(f"No {label} has the key {key!r}.", **{problem_key: key}))
        elif not row.is_active:
            problems.append(Problem(f"The {label} {key!r} is not active.", **{problem_key: key}))
        else:
            rows.append(row)
    return rows, problems


def plan(
    persona_keys: Sequence[str],
    arc_keys: Sequence[str],
    topic_keys: Sequence[str],
    *,
    system: str,
    template_name: str | None = None,
    repeat: int = 1,
    max_items: int | None = None,
) -> Plan:
    """Build every prompt of a generation request; problems are listed once per
    combination and placeholder, in request order. More than ``max_items`` items is a
    problem of its own (nothing is built)."""
    count = len(set(persona_keys)) * len(set(arc_keys)) * len(set(topic_keys)) * repeat
    result = Plan(requested=max(count, 0))
    if repeat < 1:
        result.problems.append(Problem(f"repeat must be at least 1, not {repeat}."))
        return result
    if count == 0:
        result.problems.append(
            Problem("Choose at least one persona, one emotional arc and one training topic.")
        )
        return result
    if max_items is not None and count > max_items:
        result.problems.append(
            Problem(f"{count:,} items is more than the {max_items:,} one generation job may have.")
        )
        return result
    personas, problems = _rows(Persona, "persona_key", persona_keys, "persona", "persona_key")
    arcs, more = _rows(EmotionalArc, "arc_key", arc_keys, "emotional arc", "emotional_arc_key")
    problems += more
    topics, more = _rows(
        TrainingTopic, "topic_key", topic_keys, "training topic", "training_topic_key"
    )
    problems += more
    templates = Templates(template_name)
    if (problem := templates.problem()) is not None:
        problems.append(problem)
    result.problems = problems
    if problems:
        return result
    seen: set[Problem] = set()
    for built in _combinations(personas, arcs, topics, templates, system, repeat):
        if isinstance(built, Prompt):
            result.prompts.append(built)
            continue
        for problem in built:
            if problem not in seen:
                seen.add(problem)
                result.problems.append(problem)
    return result


def _combinations(
    personas: Iterable[Persona],
    arcs: Iterable[EmotionalArc],
    topics: Iterable[TrainingTopic],
    templates: Templates,
    system: str,
    repeat: int,
) -> Iterator[Prompt | list[Problem]]:
    for persona in personas:
        for arc in arcs:
            for topic in topics:
                for number in range(1, repeat + 1):
                    yield build(persona, arc, topic, templates, system=system, repeat=number)
