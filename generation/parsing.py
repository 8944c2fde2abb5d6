"""What an answer of the model becomes: a parsed document, or the reason it is not one.

- ``end_turn``: the text is parsed as it is (``direct``); failing that it is repaired with
  json-repair (``repaired``); failing that the item fails with a parse error.
- ``max_tokens`` (and ``model_context_window_exceeded``): truncated, never repaired (a
  repaired truncation looks valid and is not: it lost the end of the conversation).
- ``refusal``: the model declined; the item fails.
- anything else (``tool_use``, ``pause_turn``, ``stop_sequence``): not a finished
  document; the item fails naming the stop reason.

Only a JSON object counts as a document. The text is kept as it came in every case.
"""

from dataclasses import dataclass
from typing import Literal

from conversations.imports import UnusableJSON, load_json

Outcome = Literal["parsed", "truncated", "refused", "parse_error", "unexpected_stop"]
TRUNCATING = ("max_tokens", "model_context_window_exceeded")


@dataclass(frozen=True)
class Parsed:
    outcome: Outcome
    text: str
    document: dict | None = None
    parse_method: Literal["direct", "repaired"] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "parsed"


def parse_answer(stop_reason: str | None, text: str) -> Parsed:
    if stop_reason in TRUNCATING:
        return Parsed(
            "truncated",
            text,
            error=f"The answer was cut off (stop reason {stop_reason}): raise max tokens.",
        )
    if stop_reason == "refusal":
        return Parsed("refused", text, error="The model refused to write this conversation.")
    if stop_reason != "end_turn":
        return Parsed(
            "unexpected_stop",
            text,
            error=f"The answer stopped for {stop_reason or 'no stated reason'}, not at its end.",
        )
    if not text.strip():
        return Parsed("parse_error", text, error="The answer has no text.")
    try:
        document = load_json(text)
    except UnusableJSON as exc:
        direct_error = str(exc)
    else:
        if isinstance(document, dict):
            return Parsed("parsed", text, document, "direct")
        direct_error = f"the text is JSON but a {type(document).__name__}, not an object"
    repaired = _repair(text)
    if repaired is not None:
        return Parsed("parsed", text, repaired, "repaired")
    return Parsed("parse_error", text, error=f"The answer is not a JSON document: {direct_error}.")


def _repair(text: str) -> dict | None:
    from json_repair import repair_json

    try:
        repaired = repair_json(text, return_objects=True, skip_json_loads=True)
    except Exception:  # noqa: BLE001 (a repair library failing on odd input is "no repair")
        return None
    if isinstance(repaired, dict) and repaired:
        return repaired
    return None
