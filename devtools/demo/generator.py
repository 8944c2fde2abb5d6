"""Invented financial-planning conversations for the demo, tests and benchmarks.

Everything here is pure and driven by the ``random.Random`` the caller passes, so a seed
always yields the same conversation. The phrase banks are our own; the scaffolding rows
(personas, arcs, topics) shape the content and the emotional arc.
"""

import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import phrases

__all__ = [
    "SCAFFOLDING_DIR",
    "SCAFFOLDING_KINDS",
    "generate_conversation",
    "invalid_conversation",
    "load_demo_scaffolding",
    "pick_scaffolding",
    "scaffolding_paths",
    "truncated_conversation_bytes",
]

SCAFFOLDING_DIR = Path(__file__).resolve().parent / "scaffolding"
SCAFFOLDING_KINDS = ("personas", "emotional_arcs", "training_topics", "prompt_templates")

Row = Mapping[str, Any]


def scaffolding_paths() -> list[Path]:
    """The demo NDJSON exports, in the order ``import_scaffolding`` should read them."""
    return [SCAFFOLDING_DIR / f"{kind}.ndjson" for kind in SCAFFOLDING_KINDS]


def load_demo_scaffolding() -> dict[str, list[dict]]:
    """The demo scaffolding rows by kind (``personas``, ``emotional_arcs``, ...)."""
    rows: dict[str, list[dict]] = {}
    for kind, path in zip(SCAFFOLDING_KINDS, scaffolding_paths(), strict=True):
        lines = path.read_text(encoding="utf-8").splitlines()
        rows[kind] = [json.loads(line) for line in lines if line.strip()]
    return rows


def pick_scaffolding(rng: random.Random, scaffolding: Mapping[str, list[dict]]) -> dict[str, Any]:
    """A plausible persona/arc/topic combination (and the arc's template name, if any),
    as keyword arguments for :func:`generate_conversation`.

    The topic is drawn first; its suitable personas and arcs are preferred when the rows
    name them.
    """
    topic = rng.choice(scaffolding["training_topics"])
    persona = _pick_suitable(
        rng, scaffolding["personas"], "persona_key", topic, "suitable_personas"
    )
    arc = _pick_suitable(
        rng, scaffolding["emotional_arcs"], "arc_key", topic, "suitable_emotional_arcs"
    )
    template = next(
        (
            t
            for t in scaffolding.get("prompt_templates", [])
            if t.get("emotional_arc_type") == arc.get("arc_key")
        ),
        None,
    )
    return {
        "persona": persona,
        "arc": arc,
        "topic": topic,
        "template_name": template["template_name"] if template else None,
    }


def _pick_suitable(
    rng: random.Random, rows: list[dict], key: str, topic: Row, suitable: str
) -> dict:
    wanted = topic.get(suitable) or []
    candidates = [row for row in rows if row.get(key) in wanted]
    return rng.choice(candidates or rows)


class _Deck:
    """Draws from each phrase bank without repeats until the bank runs out, so one
    conversation does not say the same sentence twice."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.piles: dict[tuple, list] = {}

    def draw(self, bank: tuple) -> Any:
        pile = self.piles.get(bank)
        if not pile:
            pile = self.piles[bank] = list(bank)
            self.rng.shuffle(pile)
        return pile.pop()


def generate_conversation(
    rng: random.Random,
    *,
    persona: Row,
    arc: Row,
    topic: Row,
    turns: int,
    template_name: str | None = None,
) -> dict:
    """A parsed conversation (DOMAIN.md §2): metadata, alternating turns starting with the
    user, and ``input_parameters`` naming the scaffolding rows (``*_id`` from an ``id``
    key when the rows carry one, else empty). User turns move along the arc, from its
    starting emotion to its ending emotion.
    """
    if turns < 2:
        raise ValueError("a conversation needs at least 2 turns")
    deck = _Deck(rng)
    first = _first_name(persona)
    start_emotion = str(arc.get("starting_emotion") or "uncertainty")
    end_emotion = str(arc.get("ending_emotion") or "calm")
    topic_name = _sentence_case(str(topic.get("name") or "my finances"))
    concepts = tuple(topic.get("key_concepts") or [topic_name])
    concerns = tuple(persona.get("common_concerns") or ["making the wrong choice"])
    questions = tuple(topic.get("typical_question_examples") or ["Where should I even begin?"])
    arc_phrases = tuple(f"{p.rstrip('.')}." for p in arc.get("characteristic_phrases") or [])
    step = deck.draw(phrases.STEPS).format(monthly=_money(rng.choice((150, 200, 250, 300, 400))))
    occupation = _sentence_case(str(persona.get("occupation") or "small-business owner"))
    base = {
        "first": first,
        "occupation": occupation,
        "a_occupation": _with_article(occupation),
        "topic": topic_name,
        "start_emotion": start_emotion,
        "step": step,
        "step_cap": step[0].upper() + step[1:],
    }

    user_count = (turns + 1) // 2
    start_intensity = _uniform(rng, arc, "starting_intensity", 0.7, 0.85)
    end_intensity = _uniform(rng, arc, "ending_intensity", 0.55, 0.7)
    result_turns: list[dict] = []
    for index in range(turns):
        values = {
            **base,
            **_figures(rng),
            "concept": deck.draw(concepts),
            "concern": _lower_first(deck.draw(concerns)),
        }
        if index % 2 == 0:
            role = "user"
            user_index = index // 2
            progress = user_index / (user_count - 1) if user_count > 1 else 0.0
            if user_index == 0:
                question = deck.draw(questions)
                values |= {"question": _lower_first(question), "question_cap": question}
                parts = [
                    deck.draw(phrases.USER_OPENERS),
                    deck.draw(phrases.USER_SITUATIONS),
                    deck.draw(phrases.USER_FIRST_QUESTIONS),
                ]
                emotion = start_emotion
            elif user_index == user_count - 1:
                parts = [deck.draw(phrases.USER_REACTIONS_LATE), deck.draw(phrases.USER_CLOSINGS)]
                emotion = end_emotion
            else:
                early = progress < 0.5
                parts = [
                    deck.draw(
                        phrases.USER_REACTIONS_EARLY if early else phrases.USER_REACTIONS_LATE
                    ),
                    deck.draw(phrases.USER_ASIDES),
                    deck.draw(phrases.USER_FOLLOW_UPS),
                ]
                emotion = deck.draw(phrases.EMOTIONS_EARLY if early else phrases.EMOTIONS_LATE)
            intensity = start_intensity + (end_intensity - start_intensity) * progress
            secondaries = phrases.SECONDARY_EARLY if progress < 0.5 else phrases.SECONDARY_LATE
        else:
            role = "assistant"
            if index == turns - 1:
                parts = [deck.draw(phrases.ASSISTANT_FINALS)]
                emotion = (
                    end_emotion if rng.random() < 0.5 else deck.draw(phrases.ASSISTANT_PRIMARY)
                )
            else:
                if index == 1:
                    parts = [deck.draw(phrases.ASSISTANT_OPENINGS)]
                    if arc_phrases:
                        parts.append(deck.draw(arc_phrases))
                else:
                    parts = [deck.draw(phrases.ASSISTANT_REFLECTIONS)]
                parts.append(deck.draw(phrases.ASSISTANT_EXPLANATIONS))
                # The first answer proposes the step; later ones only sometimes repeat it.
                if index == 1 or rng.random() < 0.4:
                    parts.append(deck.draw(phrases.ASSISTANT_STEPS))
                parts.append(deck.draw(phrases.ASSISTANT_CHECK_INS))
                emotion = deck.draw(phrases.ASSISTANT_PRIMARY)
            intensity = rng.uniform(0.4, 0.6)
            secondaries = phrases.ASSISTANT_SECONDARY
        secondary = rng.choice([e for e in secondaries if e != emotion])
        result_turns.append(
            {
                "turn_number": index + 1,
                "role": role,
                "content": " ".join(part.format(**values) for part in parts if part),
                "emotional_context": {
                    "primary_emotion": emotion,
                    "secondary_emotion": secondary,
                    "intensity": _clamp(intensity),
                },
            }
        )

    metadata = {
        "client_persona": _client_persona(persona),
        "session_context": _session_context(rng, persona, base),
        "conversation_phase": rng.choice(phrases.PHASES),
        "expected_outcome": (
            f"Help {first} move from {start_emotion} to {end_emotion} with one concrete, "
            f"dated next step on {topic_name}."
        ),
    }
    input_parameters = {
        "persona_id": str(persona.get("id") or ""),
        "persona_key": str(persona.get("persona_key") or ""),
        "persona_name": str(persona.get("name") or ""),
        "emotional_arc_id": str(arc.get("id") or ""),
        "emotional_arc_key": str(arc.get("arc_key") or ""),
        "emotional_arc_name": str(arc.get("name") or ""),
        "training_topic_id": str(topic.get("id") or ""),
        "training_topic_key": str(topic.get("topic_key") or ""),
        "training_topic_name": str(topic.get("name") or ""),
    }
    if template_name:
        input_parameters["template_name"] = template_name
    return {
        "conversation_metadata": metadata,
        "turns": result_turns,
        "input_parameters": input_parameters,
    }


def truncated_conversation_bytes(
    rng: random.Random,
    *,
    persona: Row,
    arc: Row,
    topic: Row,
    turns: int,
    template_name: str | None = None,
) -> bytes:
    """A raw model reply cut off in the middle of the last turn's content: starts as valid
    JSON, never parses."""
    document = generate_conversation(
        rng, persona=persona, arc=arc, topic=topic, turns=turns, template_name=template_name
    )
    # The model's raw output never has input_parameters; the parse step adds them.
    raw = {key: document[key] for key in ("conversation_metadata", "turns")}
    text = json.dumps(raw, indent=2, ensure_ascii=False)
    content = raw["turns"][-1]["content"]
    start = text.rindex(json.dumps(content, ensure_ascii=False)) + 1
    cut = start + rng.randint(len(content) // 3, 2 * len(content) // 3)
    return text[:cut].encode()


def invalid_conversation(
    rng: random.Random,
    *,
    persona: Row,
    arc: Row,
    topic: Row,
    turns: int,
    template_name: str | None = None,
) -> dict:
    """A parseable conversation with validation blockers: the first assistant turn has no
    ``emotional_context.intensity`` and the last assistant turn's role is ``coach``."""
    document = generate_conversation(
        rng, persona=persona, arc=arc, topic=topic, turns=turns, template_name=template_name
    )
    assistant_turns = [turn for turn in document["turns"] if turn["role"] == "assistant"]
    del assistant_turns[0]["emotional_context"]["intensity"]
    assistant_turns[-1]["role"] = "coach"
    return document


def _session_context(rng: random.Random, persona: Row, base: dict) -> str:
    trigger = rng.choice(phrases.TRIGGERS)
    demographics = persona.get("demographics")
    age = demographics.get("age") if isinstance(demographics, dict) else None
    if age:
        return (
            f"{base['first']}, a {age}-year-old {base['occupation']}, is meeting a planner "
            f"about {base['topic']} after {trigger}."
        )
    return (
        f"{base['first']} booked this session after {trigger} and wants help with {base['topic']}."
    )


def _figures(rng: random.Random) -> dict[str, str]:
    monthly = rng.choice((150, 200, 250, 300, 350, 400, 500))
    return {
        "cash": _money(rng.randrange(900, 4_000, 50)),
        "debt": _money(rng.randrange(1_500, 9_000, 100)),
        "income_high": _money(rng.randrange(7_000, 11_000, 250)),
        "income_low": _money(rng.randrange(2_000, 3_500, 250)),
        "windfall": _money(rng.randrange(3_000, 9_000, 250)),
        "monthly": _money(monthly),
        "yearly": _money(monthly * 12),
        "percent": f"{rng.choice((25, 28, 30))}%",
        "months": rng.choice(("three", "four", "six")),
    }


def _client_persona(persona: Row) -> str:
    name = str(persona.get("name") or "The client")
    archetype = persona.get("archetype")
    return f"{name} - {archetype}" if archetype else name


def _first_name(persona: Row) -> str:
    name = str(persona.get("name") or "").strip()
    return name.split()[0] if name else "there"


def _uniform(rng: random.Random, arc: Row, prefix: str, low: float, high: float) -> float:
    low = float(arc.get(f"{prefix}_min") or low)
    high = float(arc.get(f"{prefix}_max") or high)
    return rng.uniform(min(low, high), max(low, high))


def _clamp(intensity: float) -> float:
    # Exactly 0 or 1 is an EXTREME_INTENSITY warning; keep generated values inside.
    return round(min(max(intensity, 0.05), 0.95), 2)


def _money(amount: int) -> str:
    return f"${amount:,}"


def _sentence_case(text: str) -> str:
    # Title Case names read oddly mid-sentence; acronyms (IRA, HSA) keep their capitals.
    return " ".join(
        word if word.isupper() and len(word) > 1 else word.lower() for word in text.split()
    )


def _with_article(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
