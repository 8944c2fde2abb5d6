"""What a conversation's pages show of its repair: the edit form (its name, its metadata
and each turn's role, text and emotional context), the document it builds (the current one
with the edits, every key the form does not show kept as it was), the validation problems
of each turn, and its revisions."""

import re
from dataclasses import dataclass, field

from django import forms

from conversations.models import Conversation

from ..revisions import is_being_enriched, revisions_of

METADATA_FIELDS = {
    "client_persona": "Client persona",
    "session_context": "Session context",
    "conversation_phase": "Conversation phase",
    "expected_outcome": "Expected outcome (optional)",
}
ROLES = [("user", "User"), ("assistant", "Assistant")]
_TURN_FIELD = re.compile(r"^turns\[(\d+)\]")


def _metadata(key: str, *, rows: int | None = None) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": rows}) if rows else None
    return forms.CharField(label=METADATA_FIELDS[key], required=False, widget=widget)


class ConversationEditForm(forms.Form):
    name = forms.CharField(label="Conversation name", max_length=255)
    client_persona = _metadata("client_persona")
    session_context = _metadata("session_context", rows=2)
    conversation_phase = _metadata("conversation_phase")
    expected_outcome = _metadata("expected_outcome", rows=2)


class TurnForm(forms.Form):
    # Which turn of the stored document this one is (its index), so that what the form
    # does not show of it is kept when turns are added or removed before it; "new" for a
    # turn added on the page; absent (an older form, a script): the turn at its position.
    source = forms.CharField(required=False, widget=forms.HiddenInput)
    role = forms.ChoiceField(choices=ROLES)
    content = forms.CharField(
        label="Text", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    primary_emotion = forms.CharField(label="Primary emotion", required=False, max_length=100)
    secondary_emotion = forms.CharField(label="Secondary emotion", required=False, max_length=100)
    intensity = forms.FloatField(
        label="Intensity (0–1)",
        required=False,
        widget=forms.NumberInput(attrs={"step": "0.05", "min": "0", "max": "1"}),
    )


TurnFormSet = forms.formset_factory(TurnForm, extra=0, max_num=500, validate_max=True)


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def initial_metadata(document: dict, name: str) -> dict:
    metadata = document.get("conversation_metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    return {"name": name, **{key: _text(metadata.get(key)) for key in METADATA_FIELDS}}


def initial_turns(document: dict) -> list[dict]:
    turns = document.get("turns")
    initial = []
    for turn in turns if isinstance(turns, list) else []:
        turn = turn if isinstance(turn, dict) else {}
        context = turn.get("emotional_context")
        context = context if isinstance(context, dict) else {}
        intensity = context.get("intensity")
        role = turn.get("role")
        initial.append(
            {
                "source": str(len(initial)),
                "role": role if role in dict(ROLES) else "",
                "content": _text(turn.get("content")),
                "primary_emotion": _text(context.get("primary_emotion")),
                "secondary_emotion": _text(context.get("secondary_emotion")),
                "intensity": intensity
                if isinstance(intensity, int | float) and not isinstance(intensity, bool)
                else None,
            }
        )
    return initial


def _set_or_drop(target: dict, key: str, value) -> None:
    if value in ("", None):
        target.pop(key, None)
    else:
        target[key] = value


NEW_TURN = "new"


def source_index(source, position: int) -> int | None:
    """The index in the stored document of the form's turn at ``position`` whose hidden
    ``source`` is given: ``None`` for a turn added on the page."""
    source = str(source or "").strip()
    if source == NEW_TURN:
        return None
    if not source:
        return position
    return int(source) if source.isdigit() else None


def _added_turn(before: dict | None) -> dict:
    role = "assistant" if before and before.get("role") == "user" else "user"
    return {"source": NEW_TURN, "role": role, "content": "", "intensity": None}


def rearranged_turns(data, prefix: str, *, add_after=None, remove=None) -> list[dict]:
    """The turns of a posted form as typed (valid or not), with one added after the turn
    ``add_after`` (an index; -1 for the start) or the turn ``remove`` removed: the initial
    values of the form shown again, not yet saved."""
    try:
        total = min(int(data.get(f"{prefix}-TOTAL_FORMS", 0)), 1000)
    except ValueError:
        total = 0
    turns = []
    for index in range(total):
        turn = {name: data.get(f"{prefix}-{index}-{name}", "") for name in TurnForm.base_fields}
        turn["source"] = turn["source"] or str(index)
        turns.append(turn)
    if _index(remove, len(turns)) is not None:
        del turns[_index(remove, len(turns))]
    if add_after is not None and (
        (at := _index(add_after, len(turns))) is not None or str(add_after) == "-1"
    ):
        at = -1 if at is None else at
        turns.insert(at + 1, _added_turn(turns[at] if at >= 0 else None))
    return turns


def _index(value, length: int) -> int | None:
    value = str(value if value is not None else "")
    return int(value) if value.isdigit() and int(value) < length else None


def edited_document(document: dict, metadata: dict, turns: list[dict]) -> dict:
    """``document`` with the form's edits: the metadata and every turn, numbered 1..n in
    order (turns added or removed on the page renumber the rest); what the form does not
    show (input parameters, a turn's other keys) as it was."""
    edited = dict(document)
    new_metadata = dict(document.get("conversation_metadata") or {})
    for key in METADATA_FIELDS:
        _set_or_drop(new_metadata, key, metadata.get(key, "").strip())
    edited["conversation_metadata"] = new_metadata
    old_turns = document.get("turns") if isinstance(document.get("turns"), list) else []
    new_turns = []
    for index, values in enumerate(turns):
        source = source_index(values.get("source"), index)
        old = old_turns[source] if source is not None and source < len(old_turns) else {}
        turn = dict(old) if isinstance(old, dict) else {}
        old_context = turn.get("emotional_context")
        context = dict(old_context) if isinstance(old_context, dict) else {}
        turn["turn_number"] = index + 1
        turn["role"] = values["role"]
        turn["content"] = values["content"]
        _set_or_drop(context, "primary_emotion", values["primary_emotion"].strip())
        _set_or_drop(context, "secondary_emotion", values["secondary_emotion"].strip())
        _set_or_drop(context, "intensity", values["intensity"])
        turn["emotional_context"] = context
        new_turns.append(turn)
    edited["turns"] = new_turns
    return edited


@dataclass
class Problems:
    """A validation report's issues by where they belong: a turn (by its index), the
    metadata, or the document as a whole."""

    turns: dict[int, list[dict]] = field(default_factory=dict)
    metadata: list[dict] = field(default_factory=list)
    document: list[dict] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.turns or self.metadata or self.document)


def problems_of(report: dict | None) -> Problems:
    problems = Problems()
    if not isinstance(report, dict):
        return problems
    for issue in [*(report.get("blockers") or []), *(report.get("warnings") or [])]:
        if not isinstance(issue, dict):
            continue
        where = str(issue.get("field") or "")
        if match := _TURN_FIELD.match(where):
            problems.turns.setdefault(int(match.group(1)), []).append(issue)
        elif where.startswith("conversation_metadata"):
            problems.metadata.append(issue)
        else:
            problems.document.append(issue)
    return problems


def repair_context(conversation: Conversation) -> dict:
    """What the conversation's page shows of its repair: its revisions, whether the latest
    is being enriched, and the validation problems of each turn."""
    return {
        "revisions": list(revisions_of(conversation)),
        "being_enriched": is_being_enriched(conversation),
        "problems": problems_of(conversation.validation_report),
    }
