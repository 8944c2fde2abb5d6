"""A conversation as people read it on its page: its turns (from the stored input file)
and its training pairs (from the stored enriched file). Stored files are whatever a model
produced, so every shape is read defensively: what cannot be shown is said, never a 500."""

import json
from dataclasses import dataclass, field

from conversations.models import Conversation
from core import storage

# Characters of an unparseable reply shown on the page (the download has all of it).
RAW_SHOWN = 20_000


@dataclass(frozen=True)
class Emotion:
    primary: str = ""
    secondary: str = ""
    intensity: float | None = None


@dataclass(frozen=True)
class Turn:
    number: int | str
    role: str
    content: str
    emotion: Emotion | None = None


@dataclass
class Transcript:
    turns: list[Turn] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)  # conversation_metadata, as stored
    input_parameters: dict = field(default_factory=dict)
    raw_text: str = ""  # the reply as it came, when it is not a JSON object
    truncated: bool = False
    problem: str = ""  # why there is nothing to show


@dataclass(frozen=True)
class TrainingPair:
    number: int
    id: str
    turn_number: int | str
    role: str
    current_user_input: str
    target_response: str | None
    emotions: dict
    history: list[Turn]
    training_metadata: dict
    system_prompt: str


@dataclass
class EnrichedOutput:
    pairs: list[TrainingPair] = field(default_factory=list)
    dataset_metadata: dict = field(default_factory=dict)
    problem: str = ""

    @property
    def pairs_quality(self) -> float | None:
        """The mean of the pairs' ``training_metadata.quality_score`` (what a training
        file scores a conversation by when it has no score of its own); ``None`` when no
        pair has one."""
        scores = [
            score
            for pair in self.pairs
            if isinstance(score := pair.training_metadata.get("quality_score"), int | float)
            and not isinstance(score, bool)
        ]
        return sum(scores) / len(scores) if scores else None


def _text(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _optional_text(value) -> str | None:
    return None if value is None else _text(value)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _emotion(context, *, primary: str, secondary: str) -> Emotion | None:
    if not isinstance(context, dict):
        return None
    return Emotion(
        _text(context.get(primary)),
        _text(context.get(secondary)),
        _number(context.get("intensity")),
    )


def _read(path: str) -> tuple[bytes | None, str]:
    try:
        return storage.read_file(path), ""
    except FileNotFoundError:
        return None, f"The file {path} is missing from storage."
    except OSError as exc:
        return None, f"The file {path} could not be read: {exc}"


def read_transcript(conversation: Conversation) -> Transcript:
    """The turns of the stored input (the parsed file, else the raw reply)."""
    path = conversation.file_path or conversation.raw_response_path
    if not path:
        return Transcript(problem="This conversation has no stored file.")
    content, problem = _read(path)
    if content is None:
        return Transcript(problem=problem)
    try:
        document = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        document = None
    if not isinstance(document, dict):
        text = content.decode("utf-8", errors="replace")
        return Transcript(raw_text=text[:RAW_SHOWN], truncated=len(text) > RAW_SHOWN)
    turns = document.get("turns")
    return Transcript(
        turns=[
            Turn(
                turn.get("turn_number", index + 1),
                _text(turn.get("role")),
                _text(turn.get("content")),
                _emotion(
                    turn.get("emotional_context"),
                    primary="primary_emotion",
                    secondary="secondary_emotion",
                ),
            )
            for index, turn in enumerate(turns if isinstance(turns, list) else [])
            if isinstance(turn, dict)
        ],
        metadata=_dict(document.get("conversation_metadata")),
        input_parameters=_dict(document.get("input_parameters")),
        problem="" if isinstance(turns, list) else "The document has no list of turns.",
    )


def _history(entries) -> list[Turn]:
    return [
        Turn(
            entry.get("turn", ""),
            _text(entry.get("role")),
            _text(entry.get("content")),
            _emotion(entry.get("emotional_state"), primary="primary", secondary="secondary"),
        )
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, dict)
    ]


def read_enriched(conversation: Conversation) -> EnrichedOutput | None:
    """The training pairs of the stored enriched file; ``None`` when not enriched."""
    if not conversation.is_completed or not conversation.enriched_file_path:
        return None
    content, problem = _read(conversation.enriched_file_path)
    if content is None:
        return EnrichedOutput(problem=problem)
    try:
        document = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return EnrichedOutput(problem="The enriched file is not valid JSON.")
    pairs = document.get("training_pairs") if isinstance(document, dict) else None
    if not isinstance(pairs, list):
        return EnrichedOutput(problem="The enriched file has no training pairs.")
    return EnrichedOutput(
        pairs=[
            TrainingPair(
                number=index + 1,
                id=_text(pair.get("id")),
                turn_number=pair.get("turn_number", index + 1),
                role="user" if pair.get("target_response") is None else "assistant",
                current_user_input=_text(pair.get("current_user_input")),
                target_response=_optional_text(pair.get("target_response")),
                emotions=_dict(_dict(pair.get("emotional_context")).get("detected_emotions")),
                history=_history(pair.get("conversation_history")),
                training_metadata=_dict(pair.get("training_metadata")),
                system_prompt=_text(pair.get("system_prompt")),
            )
            for index, pair in enumerate(pairs)
            if isinstance(pair, dict)
        ],
        dataset_metadata=_dict(document.get("dataset_metadata")),
    )
