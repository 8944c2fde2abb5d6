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


# --- Phrase banks (our own) ------------------------------------------------------------
# Placeholders are filled from the scaffolding rows and a few random figures per turn.
# Double quotes are avoided so the serialised JSON stays easy to read.

_USER_OPENERS = (
    "Okay, I'll be honest, I almost cancelled this appointment twice. I'm {first}, I work "
    "as {a_occupation}, and the thing I keep avoiding is {topic}.",
    "Hi. I don't really know where to start, so I'll just say it: {topic} has been sitting "
    "on my to-do list for months and every time I look at it I close the laptop.",
    "Thanks for making time for this. A friend told me I should talk to someone about "
    "{topic} before it turns into a bigger problem than it already is.",
    "So this is a little awkward for me. I'm usually the organized one at work, but when it "
    "comes to {topic} I feel like I'm guessing at every step.",
    "I'll start with the part I'm least proud of. I've been avoiding anything to do with "
    "{topic}, and I think the avoiding has started to cost me real money.",
    "I've read a dozen articles about {topic} this month and somehow I understand it less "
    "now than when I started.",
)

_USER_SITUATIONS = (
    "Right now I have roughly {cash} in checking, nothing I'd really call savings, and "
    "{concern} is the thought that wakes me up at three in the morning.",
    "For context, the money side is uneven. Some months it's {income_high}, some months "
    "closer to {income_low}, and I never know which kind of month I'm in until it's over.",
    "The numbers, as far as I know them: about {cash} set aside, a card balance around "
    "{debt}, and no real plan beyond hoping next month is calmer.",
    "What worries me most is {concern}. I keep telling myself I'll deal with it after the "
    "next busy stretch, and then the next busy stretch arrives.",
)

_USER_FIRST_QUESTIONS = (
    "So I guess my real question is this: {question}",
    "If I had to boil it down to one thing: {question}",
    "Where I'd love to start is the basic version. {question_cap}",
    "Maybe this is obvious to everyone else, but {question}",
)

_USER_REACTIONS_EARLY = (
    "Okay, that actually helps a little. I think I was picturing the number as much worse "
    "than it is.",
    "I hadn't thought about it that way. It still makes my stomach drop a bit, but at least "
    "it feels like something I can look at.",
    "Hm. I want to believe that, but I've heard versions of it's-simple-really before, and "
    "it never felt simple once I sat down to do it.",
    "That's fair. I guess part of me expected you to tell me I'd already messed everything up.",
)

_USER_REACTIONS_LATE = (
    "That makes a lot more sense than what I'd pieced together on my own.",
    "Okay, I can actually picture doing that, which is new for me.",
    "Writing it down like that, it feels less like a cliff and more like a set of stairs.",
    "I like that it's specific. Vague advice is exactly what kept me stuck.",
)

_USER_FOLLOW_UPS = (
    "If I put {monthly} a month toward the {concept} part, would that be enough to matter, "
    "or is it too small to bother with?",
    "Say I get a good month and {windfall} comes in at once. Does that change how I should "
    "handle {concept}?",
    "My worry with {concept} is that I'll set it up and then undo it the first tight month.",
    "Can you walk me through {concept} with real numbers? I follow better when I can see the math.",
    "How would {concept} work for someone like me, when {concern} is still hanging over "
    "everything?",
)

_USER_ASIDES = (
    "Part of the problem is that I don't have anyone to sanity-check these decisions with.",
    "I keep a spreadsheet, technically, but I haven't opened it since spring.",
    "Everyone around me seems to just know this stuff, which makes it harder to ask.",
    "I also don't want to build something so strict that I abandon it after two weeks.",
    "",
)

_USER_CLOSINGS = (
    "This is the first time in a long while that I've left a money conversation feeling "
    "lighter. I'm going to start with {step} this week.",
    "Thank you. Honestly, I came in expecting a lecture and I'm leaving with a plan I can "
    "follow. First thing: {step}.",
    "Okay. I can do this. {step_cap} first, and then we check in again in {months} months?",
    "I feel a lot better than when I walked in. Can we put {step} on the calendar so I "
    "don't talk myself out of it?",
)

_ASSISTANT_OPENINGS = (
    "I'm really glad you came in, {first}, and I want to say up front that nothing you've "
    "described is unusual.",
    "Thank you for being that candid, {first}. What you're describing is one of the most "
    "common things I hear, and it's very fixable.",
    "That feeling makes complete sense, {first}. When a money question sits unanswered for a "
    "while, it tends to grow in our heads.",
    "First, {first}, you're not as far behind as it feels. You're here, and that's the step "
    "most people skip.",
)

_ASSISTANT_REFLECTIONS = (
    "That's a really useful thing to raise, and it tells me you're already thinking like "
    "a planner.",
    "I hear the hesitation in that, and it's healthy. We can test the idea against your real "
    "numbers.",
    "You're right to push on that. A plan that only works in a good month isn't a plan.",
    "I'm glad you said that out loud, because it changes what I'd suggest.",
)

_ASSISTANT_EXPLANATIONS = (
    "Here's how I'd think about {concept}. If we start with {monthly} a month, that's "
    "{yearly} over a year before any interest, and it's an amount we can adjust in either "
    "direction once we see how it feels.",
    "Let's put real numbers on {concept}. If {percent} of every payment moves to a separate "
    "account the day it lands, a {windfall} month sends a real amount there without you "
    "deciding anything, and a lean month sends less, which is fine.",
    "The way {concept} works in practice is less complicated than the articles make it "
    "sound. We pick one number, automate it, and look at it again in {months} months rather "
    "than every day.",
    "On {concept}, the goal isn't perfection, it's a default that happens without "
    "willpower. For you that might be {monthly} moving on the first of every month, plus a "
    "bigger transfer whenever a strong month comes in.",
    "A useful way to see {concept}: it's a decision you make once, in a calm moment, so you "
    "don't have to make it again in a stressful one. We write the rule down today and "
    "check it against your statements in {months} months.",
    "With {concept}, the order matters more than the amount. We decide what comes first, "
    "give it a number like {monthly} a month, and only then look at the next piece, so "
    "nothing competes for the same dollars.",
)

_ASSISTANT_STEPS = (
    "For this week, I'd suggest just one thing: {step}. Nothing else has to change yet.",
    "A reasonable first step is {step}. We can layer the rest on once that feels routine.",
    "If you do only one thing before we talk again, make it {step}.",
)

_ASSISTANT_CHECK_INS = (
    "How does that land for you?",
    "Does that feel doable, or does any part of it feel like too much right now?",
    "Which part of that would you like to go over again?",
    "Is there anything in that plan that doesn't fit how your months actually go?",
)

_ASSISTANT_FINALS = (
    "That sounds like a solid plan, {first}. To recap: {step}, then we revisit {concept} in "
    "{months} months with real numbers in front of us. You did the hardest part today by "
    "looking at this directly instead of around it.",
    "I'm glad, {first}. You came in carrying a lot of {start_emotion}, and you're leaving with "
    "a plan you chose yourself, which is the kind that sticks. Start with {step}, and send "
    "me a note once it's done so we can celebrate it properly.",
)

_STEPS = (
    "opening a separate savings account just for this",
    "setting up an automatic transfer for the day after each payment arrives",
    "writing down last year's actual numbers, month by month",
    "a twenty-minute check-in with your accounts every Sunday evening",
    "moving the first {monthly} into a separate account",
    "putting our first review date on the calendar",
)

_TRIGGERS = (
    "a letter about an unexpected balance due",
    "a slow month that drained the checking account",
    "a conversation with a friend who had just retired",
    "realizing the savings account was nearly empty",
    "months of putting the decision off",
    "a colleague mentioning their own plan over lunch",
)

_PHASES = (
    "first_session_discovery",
    "situation_mapping",
    "options_review",
    "plan_commitment",
)

_EMOTIONS_EARLY = ("uncertainty", "worry", "hesitation", "vulnerability")
_EMOTIONS_LATE = ("curiosity", "hope", "cautious optimism", "relief")
_SECONDARY_EARLY = ("anxiety", "confusion", "frustration", "fatigue", "worry")
_SECONDARY_LATE = ("hope", "curiosity", "determination", "gratitude")
_ASSISTANT_PRIMARY = ("calm", "warmth", "reassurance", "steadiness", "encouragement")
_ASSISTANT_SECONDARY = ("empathy", "patience", "curiosity", "confidence", "optimism")


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
    phrases = tuple(f"{p.rstrip('.')}." for p in arc.get("characteristic_phrases") or [])
    step = deck.draw(_STEPS).format(monthly=_money(rng.choice((150, 200, 250, 300, 400))))
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
                    deck.draw(_USER_OPENERS),
                    deck.draw(_USER_SITUATIONS),
                    deck.draw(_USER_FIRST_QUESTIONS),
                ]
                emotion = start_emotion
            elif user_index == user_count - 1:
                parts = [deck.draw(_USER_REACTIONS_LATE), deck.draw(_USER_CLOSINGS)]
                emotion = end_emotion
            else:
                early = progress < 0.5
                parts = [
                    deck.draw(_USER_REACTIONS_EARLY if early else _USER_REACTIONS_LATE),
                    deck.draw(_USER_ASIDES),
                    deck.draw(_USER_FOLLOW_UPS),
                ]
                emotion = deck.draw(_EMOTIONS_EARLY if early else _EMOTIONS_LATE)
            intensity = start_intensity + (end_intensity - start_intensity) * progress
            secondaries = _SECONDARY_EARLY if progress < 0.5 else _SECONDARY_LATE
        else:
            role = "assistant"
            if index == turns - 1:
                parts = [deck.draw(_ASSISTANT_FINALS)]
                emotion = end_emotion if rng.random() < 0.5 else deck.draw(_ASSISTANT_PRIMARY)
            else:
                if index == 1:
                    parts = [deck.draw(_ASSISTANT_OPENINGS)]
                    if phrases:
                        parts.append(deck.draw(phrases))
                else:
                    parts = [deck.draw(_ASSISTANT_REFLECTIONS)]
                parts.append(deck.draw(_ASSISTANT_EXPLANATIONS))
                # The first answer proposes the step; later ones only sometimes repeat it.
                if index == 1 or rng.random() < 0.4:
                    parts.append(deck.draw(_ASSISTANT_STEPS))
                parts.append(deck.draw(_ASSISTANT_CHECK_INS))
                emotion = deck.draw(_ASSISTANT_PRIMARY)
            intensity = rng.uniform(0.4, 0.6)
            secondaries = _ASSISTANT_SECONDARY
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
        "conversation_phase": rng.choice(_PHASES),
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
    trigger = rng.choice(_TRIGGERS)
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
