"""The three training-file formats, built one conversation at a time (pure: no database,
no storage, no clock).

- ``json``: the original's full file (``brightrun-lora-v4``): ``training_file_metadata``,
  ``consultant_profile`` and ``conversations``, written as the original's
  ``JSON.stringify(file, null, 2)`` wrote it (2-space indent, no trailing newline,
  JavaScript numbers). Its header needs totals of every conversation, so callers write the
  conversation entries first (``json_conversation``) and put ``json_head`` before them.
- ``jsonl``: the original's pairs file: a ``_meta`` line, then one compact line per
  training pair whose ``target_response`` is not null, lines joined by ``\\n`` (no
  trailing newline, as the original).
- ``chat-jsonl``: one ``{"messages": [...]}`` line per conversation (system, then the
  turns, ending with an assistant message), each line ending in ``\\n``: what OpenAI
  fine-tuning and Hugging Face TRL read.

Quality (the original's rules): a conversation's score is its ``quality_score`` when set
(not null and not 0), else the mean of its pairs' ``training_metadata.quality_score``;
the tier is ``seed_dataset`` (≥ 4.5), ``production`` (≥ 3.5), ``experimental`` (≥ 2.5 or
no score) or ``rejected``. The summary runs over every conversation's ``quality_score``
where not null, else over each of its pairs' scores; 0 when there are none.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

VERSION = "4.0.0"
_INDENT_2 = orjson.OPT_INDENT_2
# A JSON.stringify of a JavaScript object lists "array index" keys first, ascending.
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
_MAX_ARRAY_INDEX = 2**32 - 2
# The keys of a JSONL line, in the original's order.
JSONL_PAIR_KEYS = (
    "conversation_metadata",
    "system_prompt",
    "conversation_history",
    "current_user_input",
    "emotional_context",
    "target_response",
    "training_metadata",
)


class MalformedDocument(ValueError):
    """An enriched file that is not a training document."""


@dataclass(frozen=True)
class Member:
    """What the files say about one conversation besides its enriched file."""

    conversation_id: str  # the business id
    created_at: datetime
    quality_score: float | None = None
    persona_key: str = ""
    persona_name: str = ""
    emotional_arc_key: str = ""
    emotional_arc: str = ""
    training_topic_key: str = ""
    training_topic: str = ""
    review_status: str = ""  # empty: not reviewable (never enriched)
    # What higher apps add to the member's metadata (``core.sections``, "training_member").
    sections: dict = field(default_factory=dict)


# Numbers ----------------------------------------------------------------------------


def javascript_number(value: float) -> int | float | orjson.Fragment:
    """``value`` as JavaScript writes it: integral numbers without ``.0`` and in full
    digits below 1e21 (``3``, ``100000000000000000000``), ``-0`` as ``0``, and no
    exponent down to 1e-6 (``0.0000015``). Other floats come back unchanged: orjson
    already writes them as JavaScript does (``0.1``, ``1e-7``, ``1e+21``)."""
    if value == 0:
        return 0
    magnitude = abs(value)
    if value.is_integer() and magnitude < 2**53:
        return int(value)
    if magnitude >= 1e21 or (magnitude >= 1e-4 and not value.is_integer()):
        return value
    # Integral past 2**53 (JavaScript pads the shortest digits with zeros; orjson has no
    # integers past 64 bits), or small enough for orjson's exponent to start earlier
    # than JavaScript's.
    return orjson.Fragment(_javascript_text(value).encode())


def _javascript_text(value: float) -> str:
    """Number.prototype.toString (ECMA-262 Number::toString) from the shortest
    round-trip digits, which Python's repr gives too."""
    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = k + exponent  # value = 0.digits × 10**n
    prefix = "-" if sign else ""
    if k <= n <= 21:
        return prefix + digits + "0" * (n - k)
    if 0 < n <= 21:
        return prefix + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return prefix + "0." + "0" * -n + digits
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{prefix}{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"


def javascript_numbers(value: Any) -> Any:
    """A copy of a JSON value with every float as ``javascript_number`` gives it."""
    if isinstance(value, dict):
        return {key: javascript_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [javascript_numbers(item) for item in value]
    if type(value) is float:
        return javascript_number(value)
    return value


def iso_timestamp(moment: datetime) -> str:
    """JavaScript's ``Date.toISOString()``: UTC, milliseconds, ``Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _javascript_key_order(counts: dict[str, int]) -> dict[str, int]:
    def is_index(key: str) -> bool:
        return bool(_ARRAY_INDEX.fullmatch(key)) and int(key) <= _MAX_ARRAY_INDEX

    indexes = sorted((key for key in counts if is_index(key)), key=int)
    return {key: counts[key] for key in [*indexes, *(k for k in counts if not is_index(k))]}


# Quality ----------------------------------------------------------------------------


def quality_tier(score: float | None) -> str:
    if not score:
        return "experimental"
    if score >= 4.5:
        return "seed_dataset"
    if score >= 3.5:
        return "production"
    if score >= 2.5:
        return "experimental"
    return "rejected"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def pair_scores(pairs: list[dict]) -> list[float]:
    """The pairs' ``training_metadata.quality_score`` values that are set."""
    scores = []
    for pair in pairs:
        metadata = pair.get("training_metadata")
        score = metadata.get("quality_score") if isinstance(metadata, dict) else None
        if _is_number(score):
            scores.append(score)
    return scores


def _mean(values: list[float]) -> float:
    # Added one after another as the original's reduce() did (sum() compensates, and
    # can differ in the last digit).
    total = 0
    for value in values:
        total += value
    return total / len(values)


def conversation_tier(member: Member, pairs: list[dict]) -> str:
    if member.quality_score:
        return quality_tier(member.quality_score)
    scores = pair_scores(pairs)
    return quality_tier(_mean(scores) if scores else None)


@dataclass
class Summary:
    """Totals over the conversations added so far, for the header and the database."""

    conversations: int = 0
    training_pairs: int = 0
    personas: dict[str, int] = field(default_factory=dict)
    emotional_arcs: dict[str, int] = field(default_factory=dict)
    training_topics: dict[str, int] = field(default_factory=dict)
    _score_total: float = 0
    _score_count: int = 0
    _score_min: float | None = None
    _score_max: float | None = None
    # Members a person approved (review).
    human_reviewed: int = 0

    def add(self, member: Member, pairs: list[dict]) -> None:
        self.conversations += 1
        if member.review_status == "approved":
            self.human_reviewed += 1
        self.training_pairs += len(pairs)
        scores = [member.quality_score] if member.quality_score is not None else pair_scores(pairs)
        for score in scores:  # running totals: memory stays flat at any size
            self._score_total += score
            self._score_count += 1
            self._score_min = score if self._score_min is None else min(self._score_min, score)
            self._score_max = score if self._score_max is None else max(self._score_max, score)
        for counts, key in (
            (self.personas, member.persona_key),
            (self.emotional_arcs, member.emotional_arc_key),
            (self.training_topics, member.training_topic_key),
        ):
            if key:
                counts[key] = counts.get(key, 0) + 1

    @property
    def avg_quality_score(self) -> float:
        return self._score_total / self._score_count if self._score_count else 0

    @property
    def min_quality_score(self) -> float:
        return self._score_min if self._score_min is not None else 0

    @property
    def max_quality_score(self) -> float:
        return self._score_max if self._score_max is not None else 0

    @property
    def human_reviewed_percentage(self) -> float:
        """Of the members, the percentage a person approved (two decimals)."""
        if not self.conversations:
            return 0
        return round(100 * self.human_reviewed / self.conversations, 2)

    def quality_summary(self) -> dict:
        return {
            "avg_quality_score": self.avg_quality_score,
            "min_quality_score": self.min_quality_score,
            "max_quality_score": self.max_quality_score,
            "human_reviewed_count": self.human_reviewed,
            "human_reviewed_percentage": self.human_reviewed_percentage,
        }

    def distribution(self) -> dict:
        return {
            "personas": _javascript_key_order(self.personas),
            "emotional_arcs": _javascript_key_order(self.emotional_arcs),
            "training_topics": _javascript_key_order(self.training_topics),
        }


# Documents --------------------------------------------------------------------------


def training_pairs(document: Any) -> list[dict]:
    """The pairs of an enriched document, with JavaScript numbers; raises
    ``MalformedDocument`` when it is not a training document."""
    if not isinstance(document, dict):
        raise MalformedDocument("it is not a JSON object")
    pairs = document.get("training_pairs")
    if not isinstance(pairs, list) or not all(isinstance(pair, dict) for pair in pairs):
        raise MalformedDocument("training_pairs is missing or not a list of objects")
    return javascript_numbers(pairs)


def conversation_entry(member: Member, pairs: list[dict]) -> dict:
    return {
        "conversation_metadata": {
            "conversation_id": member.conversation_id,
            "source_file": f"fp_conversation_{member.conversation_id}.json",
            "created_date": member.created_at.astimezone(UTC).date().isoformat(),
            "total_turns": len(pairs),
            "quality_tier": conversation_tier(member, pairs),
            "scaffolding": {
                "persona_key": member.persona_key,
                "persona_name": member.persona_name,
                "emotional_arc_key": member.emotional_arc_key,
                "emotional_arc": member.emotional_arc,
                "training_topic_key": member.training_topic_key,
                "training_topic": member.training_topic,
            },
            "review_status": member.review_status or None,
            **member.sections,
        },
        "training_pairs": pairs,
    }


def file_metadata(
    summary: Summary,
    *,
    name: str,
    created_at: datetime,
    built_at: datetime,
    format_spec: str,
    target_model: str,
    vertical: str | None,
) -> dict:
    """The ``training_file_metadata`` block."""
    return javascript_numbers(
        {
            "file_name": name,
            "version": VERSION,
            "created_date": iso_timestamp(created_at),
            "last_updated": iso_timestamp(built_at),
            "format_spec": format_spec,
            "target_model": target_model,
            "vertical": vertical,
            "total_conversations": summary.conversations,
            "total_training_pairs": summary.training_pairs,
            "quality_summary": summary.quality_summary(),
            "scaffolding_distribution": summary.distribution(),
        }
    )


def _indented(value: Any, spaces: int) -> bytes:
    # Raw newlines only occur between tokens (strings escape theirs), so indenting every
    # line is a plain replace.
    prefix = b" " * spaces
    return prefix + orjson.dumps(value, option=_INDENT_2).replace(b"\n", b"\n" + prefix)


def json_head(metadata: dict, consultant_profile: dict) -> bytes:
    """The full file up to the opening ``[`` of ``conversations``."""
    head = orjson.dumps(
        {
            "training_file_metadata": metadata,
            "consultant_profile": javascript_numbers(consultant_profile),
            "conversations": [],
        },
        option=_INDENT_2,
    )
    return head.removesuffix(b"]\n}")


def json_conversation(entry: dict, *, first: bool) -> bytes:
    """One element of ``conversations``, with the separator before it."""
    return (b"\n" if first else b",\n") + _indented(entry, 4)


def json_tail(*, empty: bool) -> bytes:
    return b"]\n}" if empty else b"\n  ]\n}"


def jsonl_meta(*, name: str, total_pairs: int) -> bytes:
    meta = {"file_name": name, "total_pairs": total_pairs, "version": VERSION}
    return orjson.dumps({"_meta": meta})


def jsonl_lines(member: Member, pairs: list[dict]) -> Iterator[bytes]:
    """One compact line per pair with a target response (keys a pair lacks are left
    out, as JSON.stringify leaves out undefined)."""
    short_id = member.conversation_id[:8]
    for pair in pairs:
        if "target_response" in pair and pair["target_response"] is None:
            continue
        line: dict = {
            "id": f"{pair.get('id')}_{short_id}",
            "conversation_id": member.conversation_id,
        }
        if "turn_number" in pair:
            line["turn_number"] = pair["turn_number"]
        for key in JSONL_PAIR_KEYS:
            if key in pair:
                line[key] = pair[key]
        yield orjson.dumps(line)


def chat_messages(pairs: list[dict], *, default_system_prompt: str) -> list[dict] | None:
    """The conversation as chat messages: the system prompt, then each turn (a pair with
    a target response is the assistant's, else the user's), consecutive turns of one
    role joined, trailing user turns dropped. None when no assistant turn remains."""
    first_prompt = pairs[0].get("system_prompt") if pairs else None
    system_prompt = first_prompt if isinstance(first_prompt, str) and first_prompt else None
    messages: list[dict] = []
    for pair in pairs:
        target = pair.get("target_response")
        if target is not None:
            role, content = "assistant", target
        else:
            role, content = "user", pair.get("current_user_input")
        if not isinstance(content, str):
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] += "\n\n" + content
        else:
            messages.append({"role": role, "content": content})
    while messages and messages[-1]["role"] != "assistant":
        messages.pop()
    if not messages:
        return None
    return [{"role": "system", "content": system_prompt or default_system_prompt}, *messages]


def chat_line(pairs: list[dict], *, default_system_prompt: str) -> bytes | None:
    messages = chat_messages(pairs, default_system_prompt=default_system_prompt)
    if messages is None:
        return None
    return orjson.dumps({"messages": messages}) + b"\n"
