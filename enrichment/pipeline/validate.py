"""Validation of a parsed conversation (DOMAIN.md §3): the first pipeline stage.

Pure: the caller passes the conversation (text, bytes or an already parsed object) and the
timestamp to stamp on the report; nothing is read from a clock, a database or storage.

Decisions the spec leaves open:
- Bytes are decoded as strict UTF-8 (a leading BOM is tolerated); anything else is reported
  as ``INVALID_JSON_SYNTAX``, like the non-standard constants ``NaN``/``Infinity`` and
  numbers too large for a float (``1e999``), which no later stage could write back.
- A top-level value that is not an object yields both ``MISSING_CONVERSATION_METADATA`` and
  ``MISSING_TURNS_ARRAY`` with field ``$``, and the returned data is ``None`` because no
  later stage can use it.
- A turn that is not an object is checked as an empty object, so each of its required
  fields is reported with its own code and path.
- ``ROLE_NOT_ALTERNATING`` compares each valid role with the previous turn's valid role.
- ``NaN`` given in an already parsed object counts as "not a number".
"""

import json
import math
from typing import Any

from .codes import Code, Severity

__all__ = ["Code", "Severity", "validate_conversation"]


ROOT = "$"
MIN_TURNS = 2
MIN_CONTENT_LENGTH = 10
_ROLES = ("user", "assistant")
_MISSING: Any = object()

_JSON_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}

# (metadata key, code, severity, suggestion)
_METADATA_FIELDS = (
    (
        "client_persona",
        Code.MISSING_CLIENT_PERSONA,
        Severity.BLOCKER,
        'Name the client, e.g. "Sam Ortiz - The Cautious Saver".',
    ),
    (
        "session_context",
        Code.MISSING_SESSION_CONTEXT,
        Severity.BLOCKER,
        "Describe why the client came to this session.",
    ),
    (
        "conversation_phase",
        Code.MISSING_CONVERSATION_PHASE,
        Severity.BLOCKER,
        'Give the phase, e.g. "initial_opportunity_exploration".',
    ),
    (
        "expected_outcome",
        Code.MISSING_EXPECTED_OUTCOME,
        Severity.WARNING,
        "Describe the outcome the conversation should reach; enrichment uses a generic default.",
    ),
)


def validate_conversation(
    source: str | bytes | dict, *, conversation_id: str, validated_at: str
) -> tuple[dict | None, dict]:
    """Parse (if str/bytes) and validate. Returns (parsed data or None when unparseable, report).

    The report has the shape of DOMAIN.md §3; ``isValid`` is true when there is no blocker.
    """
    issues = _Issues()
    data: Any = source
    if isinstance(source, bytes | bytearray | str):
        try:
            data = _parse(source)
        except ValueError as exc:
            message = f"Invalid JSON: {exc}"
            issues.blocker(
                Code.INVALID_JSON_SYNTAX,
                ROOT,
                message,
                "The model output is not complete JSON (often cut off); regenerate it.",
            )
            return None, _report(issues, conversation_id, validated_at, summary=message)

    if not isinstance(data, dict):
        kind = _json_type(data)
        issues.blocker(
            Code.MISSING_CONVERSATION_METADATA,
            ROOT,
            f"The document is {kind}, not an object with conversation_metadata.",
        )
        issues.blocker(
            Code.MISSING_TURNS_ARRAY,
            ROOT,
            f"The document is {kind}, not an object with a turns array.",
        )
        return None, _report(issues, conversation_id, validated_at)

    _check_metadata(data.get("conversation_metadata", _MISSING), issues)
    _check_turns(data.get("turns", _MISSING), issues)
    return data, _report(issues, conversation_id, validated_at)


def _parse(source: str | bytes | bytearray) -> Any:
    if isinstance(source, bytes | bytearray):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        return json.loads(source, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise ValueError("nesting too deep") from exc


def _reject_constant(name: str) -> Any:
    # JSON.parse in the original rejected these; accepting them would let NaN intensities in.
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # "1e999" is valid JSON but no JSON writer can write the infinity it becomes.
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is too large for a JSON number")
    return value


class _Issues:
    __slots__ = ("blockers", "warnings")

    def __init__(self) -> None:
        self.blockers: list[dict] = []
        self.warnings: list[dict] = []

    def blocker(self, code: Code, field: str, message: str, suggestion: str | None = None) -> None:
        self.blockers.append(_issue(code, Severity.BLOCKER, field, message, suggestion))

    def warning(self, code: Code, field: str, message: str, suggestion: str | None = None) -> None:
        self.warnings.append(_issue(code, Severity.WARNING, field, message, suggestion))

    def add(
        self,
        severity: Severity,
        code: Code,
        field: str,
        message: str,
        suggestion: str | None = None,
    ) -> None:
        target = self.blockers if severity is Severity.BLOCKER else self.warnings
        target.append(_issue(code, severity, field, message, suggestion))


def _issue(
    code: Code, severity: Severity, field: str, message: str, suggestion: str | None
) -> dict:
    # Plain str values so the report is ordinary JSON data wherever it is stored.
    issue = {"code": code.value, "severity": severity.value, "field": field, "message": message}
    if suggestion:
        issue["suggestion"] = suggestion
    return issue


def _report(
    issues: _Issues, conversation_id: str, validated_at: str, *, summary: str | None = None
) -> dict:
    has_blockers = bool(issues.blockers)
    return {
        "isValid": not has_blockers,
        "hasBlockers": has_blockers,
        "hasWarnings": bool(issues.warnings),
        "blockers": issues.blockers,
        "warnings": issues.warnings,
        "conversationId": conversation_id,
        "validatedAt": validated_at,
        "summary": summary or _summary(len(issues.blockers), len(issues.warnings)),
    }


def _summary(blockers: int, warnings: int) -> str:
    warning_text = f"{warnings} warning{'' if warnings == 1 else 's'}"
    if blockers:
        blocker_text = f"{blockers} blocker{'' if blockers == 1 else 's'}"
        return f"{blocker_text}, {warning_text}" if warnings else blocker_text
    return f"Valid with {warning_text}" if warnings else "Valid"


def _json_type(value: Any) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _text_problem(value: Any) -> str | None:
    """Why ``value`` is not a usable text field, or None when it is one."""
    if value is _MISSING:
        return "is missing"
    if not isinstance(value, str):
        return f"must be a string, not {_json_type(value)}"
    if not value.strip():
        return "is blank"
    return None


def _is_number(value: Any) -> bool:
    # bool is an int subclass, but true/false are not numbers in JSON.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not (isinstance(value, float) and math.isnan(value))


def _number_problem(value: Any) -> str:
    if value is _MISSING:
        return "is missing"
    return f"must be a number, not {_json_type(value)}"


def _check_metadata(metadata: Any, issues: _Issues) -> None:
    if not isinstance(metadata, dict):
        problem = "is missing" if metadata is _MISSING else f"is {_json_type(metadata)}"
        issues.blocker(
            Code.MISSING_CONVERSATION_METADATA,
            "conversation_metadata",
            f"conversation_metadata {problem}; it must be an object.",
            "Add conversation_metadata with client_persona, session_context and "
            "conversation_phase.",
        )
        return
    for key, code, severity, suggestion in _METADATA_FIELDS:
        problem = _text_problem(metadata.get(key, _MISSING))
        if problem:
            issues.add(
                severity,
                code,
                f"conversation_metadata.{key}",
                f"conversation_metadata.{key} {problem}.",
                suggestion,
            )


def _check_turns(turns: Any, issues: _Issues) -> None:
    if not isinstance(turns, list):
        problem = "is missing" if turns is _MISSING else f"is {_json_type(turns)}"
        issues.blocker(
            Code.MISSING_TURNS_ARRAY,
            "turns",
            f"turns {problem}; it must be an array of turns.",
            "Add a turns array, alternating user and assistant turns.",
        )
        return
    if len(turns) < MIN_TURNS:
        issues.blocker(
            Code.INSUFFICIENT_TURNS,
            "turns",
            f"turns has {len(turns)} turn{'' if len(turns) == 1 else 's'}; "
            f"at least {MIN_TURNS} are needed.",
            "Regenerate the conversation with at least one user and one assistant turn.",
        )
        return

    previous_role: str | None = None
    for index, turn in enumerate(turns):
        path = f"turns[{index}]"
        if not isinstance(turn, dict):
            turn = {}
        previous_role = _check_turn(turn, index, path, previous_role, issues)


def _check_turn(
    turn: dict, index: int, path: str, previous_role: str | None, issues: _Issues
) -> str | None:
    number = turn.get("turn_number", _MISSING)
    if not _is_number(number):
        issues.blocker(
            Code.INVALID_TURN_NUMBER,
            f"{path}.turn_number",
            f"{path}.turn_number {_number_problem(number)}.",
            f"Set turn_number to {index + 1}.",
        )
    elif number != index + 1:
        issues.warning(
            Code.TURN_NUMBER_MISMATCH,
            f"{path}.turn_number",
            f"{path}.turn_number is {number}, expected {index + 1}.",
            f"Number turns from 1 in order; this one should be {index + 1}.",
        )

    role = turn.get("role", _MISSING)
    if not isinstance(role, str) or role not in _ROLES:
        shown = "missing" if role is _MISSING else json.dumps(role, default=repr)
        issues.blocker(
            Code.INVALID_ROLE,
            f"{path}.role",
            f'{path}.role is {shown}; it must be "user" or "assistant".',
            'Use exactly "user" or "assistant".',
        )
        role = None
    elif role == previous_role:
        issues.warning(
            Code.ROLE_NOT_ALTERNATING,
            f"{path}.role",
            f"{path}.role repeats the previous turn's role ({role}).",
            "Alternate user and assistant turns.",
        )

    content = turn.get("content", _MISSING)
    problem = _text_problem(content)
    if problem:
        issues.blocker(
            Code.MISSING_CONTENT,
            f"{path}.content",
            f"{path}.content {problem}.",
            "Every turn needs the text that was said.",
        )
    elif len(content.strip()) < MIN_CONTENT_LENGTH:
        issues.warning(
            Code.SHORT_CONTENT,
            f"{path}.content",
            f"{path}.content is shorter than {MIN_CONTENT_LENGTH} characters.",
            "Very short turns teach little; check the generation.",
        )

    _check_emotional_context(turn.get("emotional_context", _MISSING), path, issues)
    return role


def _check_emotional_context(context: Any, path: str, issues: _Issues) -> None:
    field = f"{path}.emotional_context"
    if not isinstance(context, dict):
        problem = "is missing" if context is _MISSING else f"is {_json_type(context)}"
        issues.blocker(
            Code.MISSING_EMOTIONAL_CONTEXT,
            field,
            f"{field} {problem}; it must be an object.",
            "Add emotional_context with primary_emotion and intensity.",
        )
        return

    problem = _text_problem(context.get("primary_emotion", _MISSING))
    if problem:
        issues.blocker(
            Code.MISSING_PRIMARY_EMOTION,
            f"{field}.primary_emotion",
            f"{field}.primary_emotion {problem}.",
            'Name the dominant emotion, e.g. "anxiety".',
        )

    problem = _text_problem(context.get("secondary_emotion", _MISSING))
    if problem:
        issues.warning(
            Code.MISSING_SECONDARY_EMOTION,
            f"{field}.secondary_emotion",
            f"{field}.secondary_emotion {problem}.",
            "A secondary emotion makes the training pair richer.",
        )

    intensity = context.get("intensity", _MISSING)
    if not _is_number(intensity):
        issues.blocker(
            Code.MISSING_INTENSITY,
            f"{field}.intensity",
            f"{field}.intensity {_number_problem(intensity)}.",
            "Give the intensity as a number from 0 to 1.",
        )
    elif intensity < 0 or intensity > 1:
        issues.blocker(
            Code.INTENSITY_OUT_OF_RANGE,
            f"{field}.intensity",
            f"{field}.intensity is {intensity}; it must be between 0 and 1.",
            "Scale the intensity to the range 0 to 1.",
        )
    elif intensity == 0 or intensity == 1:
        issues.warning(
            Code.EXTREME_INTENSITY,
            f"{field}.intensity",
            f"{field}.intensity is exactly {intensity}.",
            "Extreme intensities are rare in real conversations; check the generation.",
        )
