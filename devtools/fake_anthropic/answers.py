"""What the fake model writes: a valid conversation document built from the prompt,
deterministic (the same prompt gets the same text), unless a marker in the prompt asks for
a documented misbehaviour:

- ``[[fake:truncate]]``: cut off, ``stop_reason`` ``max_tokens`` (so is any document longer
  than the request's ``max_tokens``, at about four characters a token);
- ``[[fake:refuse]]``: ``stop_reason`` ``refusal``;
- ``[[fake:bad_json]]``: ``end_turn`` with prose that no repair turns into an object;
- ``[[fake:repairable]]``: ``end_turn`` with the document in a code fence, its last brace
  missing;
- ``[[fake:turns=N]]``: N turns (otherwise the first "N turns" the prompt asks for, else 4).

Batch-only markers (``[[fake:errored]]``, ``[[fake:expired]]``, their ``-once`` forms and
``[[fake:slow]]``) are read by the server.
"""

import json
import math
import re

MARKER = re.compile(r"\[\[fake:([a-z_\-]+)(?:=(\d+))?\]\]")
CHARS_PER_TOKEN = 4


def markers(prompt: str) -> dict[str, str | None]:
    return {found.group(1): found.group(2) for found in MARKER.finditer(prompt)}


def tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN)) if text else 0


def _search(patterns: tuple[str, ...], text: str) -> re.Match | None:
    for pattern in patterns:
        found = re.search(pattern, text, re.MULTILINE)
        if found:
            return found
    return None


def _turn_count(prompt: str, marks: dict) -> int:
    if marks.get("turns"):
        return max(1, min(int(marks["turns"]), 60))
    found = _search(
        (r"\bexactly (\d{1,2}) turns\b", r"\b(\d{1,2})-turn\b", r"\b(\d{1,2}) turns\b"), prompt
    )
    return max(2, min(int(found.group(1)), 60)) if found else 4


def conversation(prompt: str, *, take: int = 0) -> dict:
    """The document for a prompt: its client, topic and emotions where the prompt names
    them the way our templates and the original's do; a prompt answered ``take`` times
    before gets a first turn of its own."""
    marks = markers(prompt)
    persona = _search((r"Client Persona:\**\s*(.+)$",), prompt)
    named = _search((r"^## The client\n(.+?) \((.+?)\)",), prompt)
    if persona:
        client = persona.group(1).strip()
    elif named:
        client = f"{named.group(1)} - {named.group(2)}"
    else:
        client = "Sam Rivera - The Demo Client"
    topic_found = _search((r"\*\*Topic:\*\*\s*(.+)$", r"^## The topic: (.+?)(?: \(|$)"), prompt)
    topic = topic_found.group(1).strip() if topic_found else "their finances"
    start = _search((r"starts at ([a-z]+)",), prompt)
    end = _search((r"ends at ([a-z]+)",), prompt)
    starting = start.group(1) if start else "worry"
    ending = end.group(1) if end else "confidence"
    count = _turn_count(prompt, marks)
    first_name = client.split()[0]
    turns = []
    for index in range(count):
        number = index + 1
        progress = index / max(count - 1, 1)
        if index % 2 == 0:
            content = (
                f"{'I have been putting off' if index == 0 else 'Thank you, that helps. And'} "
                f"{topic.lower()} — what should I look at first? (part {number})"
            )
            if take and index == 0:
                content += f" I asked about this before; this is take {take + 1}."
            emotion = starting if progress < 0.5 else ending
            intensity = round(0.85 - 0.4 * progress, 2)
            secondary = "hope" if progress >= 0.5 else "confusion"
        else:
            content = (
                f"{first_name}, it makes sense to feel this way about {topic.lower()}. "
                f"Let's take one concrete step together: step {number // 2} of the plan."
            )
            emotion, intensity, secondary = "calm", 0.4, "warmth"
        turns.append(
            {
                "turn_number": number,
                "role": "user" if index % 2 == 0 else "assistant",
                "content": content,
                "emotional_context": {
                    "primary_emotion": emotion,
                    "secondary_emotion": secondary,
                    "intensity": intensity,
                },
            }
        )
    return {
        "conversation_metadata": {
            "client_persona": client,
            "session_context": f"{first_name} wants help with {topic}.",
            "conversation_phase": "initial_exploration",
            "expected_outcome": f"{first_name} leaves with a first step on {topic}.",
        },
        "turns": turns,
    }


def answer(prompt: str, max_tokens: int, *, take: int = 0) -> tuple[str, str]:
    """``(stop_reason, text)`` for a prompt, answered ``take`` times before."""
    marks = markers(prompt)
    if "refuse" in marks:
        return "refusal", "I can't help with writing this conversation."
    if "bad_json" in marks:
        return "end_turn", "Here is the conversation you asked for, told as a story instead."
    text = json.dumps(conversation(prompt, take=take), ensure_ascii=False, indent=2)
    if "repairable" in marks:
        return "end_turn", "```json\n" + text.rstrip()[:-1] + "\n```"
    if "truncate" in marks:
        return "max_tokens", text[: len(text) * 3 // 5]
    if tokens(text) > max_tokens:
        return "max_tokens", text[: max_tokens * CHARS_PER_TOKEN]
    return "end_turn", text
