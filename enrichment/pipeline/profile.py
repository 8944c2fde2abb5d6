"""The consultant the enriched training data speaks for (DOMAIN.md §4, "consultant_profile").

``DEFAULT_PROFILE`` is our own invented consultant. ``load_profile`` reads a JSON file of
the shape ``{"consultant_profile": {...}, "system_prompt": "...", "dataset_metadata": {...}}``;
every part is optional and falls back to the default, key by key:

- ``consultant_profile``: each top-level key given replaces the default's (``core_philosophy``
  and ``communication_style`` are replaced whole, not merged); extra keys are kept.
- ``dataset_metadata``: each of ``vertical``, ``consultant_persona``, ``target_use`` and
  ``conversation_source`` falls back separately; a missing ``consultant_persona`` is
  "<name> - <business>" of the effective consultant, so renaming the consultant is enough.
- ``system_prompt``: when absent it is rendered from the effective consultant (name,
  business, principles, tone), so it never names a different consultant than the profile.
- ``training_file``: what a training file's metadata says it is: ``format_spec``
  (default "brightrun-lora-v4"), ``target_model`` (default "claude-sonnet-4-5") and
  ``vertical`` (default: ``dataset_metadata.vertical``), each falling back separately.

Any problem with the file raises ``ProfileError`` naming the file.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_PROFILE", "Profile", "ProfileError", "load_profile"]

DATASET_METADATA_KEYS = ("vertical", "consultant_persona", "target_use", "conversation_source")
TRAINING_FILE_KEYS = ("format_spec", "target_model", "vertical")
# The original's values: the files it produced say so, and readers of them check.
DEFAULT_TRAINING_FILE = {"format_spec": "brightrun-lora-v4", "target_model": "claude-sonnet-4-5"}
_TOP_LEVEL_KEYS = ("consultant_profile", "system_prompt", "dataset_metadata", "training_file")


class ProfileError(ValueError):
    pass


@dataclass(frozen=True)
class Profile:
    consultant_profile: dict
    system_prompt: str
    dataset_metadata: dict  # keys: vertical, consultant_persona, target_use, conversation_source
    # Only what the file overrides; ``training_file_metadata()`` gives the effective values.
    training_file: dict = field(default_factory=dict)

    def training_file_metadata(self) -> dict:
        """``format_spec``, ``target_model`` and ``vertical`` of the training files."""
        return {
            "format_spec": self.training_file.get(
                "format_spec", DEFAULT_TRAINING_FILE["format_spec"]
            ),
            "target_model": self.training_file.get(
                "target_model", DEFAULT_TRAINING_FILE["target_model"]
            ),
            "vertical": self.training_file.get("vertical", self.dataset_metadata.get("vertical")),
        }


_DEFAULT_CONSULTANT: dict = {
    "name": "Maya Okafor, CFP",
    "business": "Harborlight Financial Planning",
    "expertise": "fee-only financial planning for families and small-business owners",
    "years_experience": 12,
    "core_philosophy": {
        "principle_1": "Feelings first - name the emotion before discussing the numbers",
        "principle_2": "No shame, no blame - past decisions are information, not failures",
        "principle_3": "Explain the reasoning - people decide better when they understand why",
        "principle_4": "Small steps count - one concrete next action beats a perfect plan",
        "principle_5": "Your life, your plan - personal goals come before rules of thumb",
    },
    "communication_style": {
        "tone": "calm, warm and plain-spoken, never patronising",
        "techniques": [
            "reflect the client's feelings back in their own words",
            "explain one idea at a time with everyday examples",
            "use real numbers from the client's situation",
            "check understanding before moving on",
            "end with one clear next step",
        ],
        "avoid": [
            "unexplained jargon",
            "lecturing about past choices",
            "presenting too many options at once",
            "vague reassurance without specifics",
            "assuming what the client already knows",
        ],
    },
}

_DEFAULT_DATASET_METADATA: dict = {
    "vertical": "financial_planning_consultant",
    "target_use": "LoRA fine-tuning for emotionally intelligent chatbot",
    "conversation_source": "synthetic_platform_generated",
}


def _consultant_persona(consultant: dict) -> str:
    return f"{consultant.get('name', '')} - {consultant.get('business', '')}".strip(" -")


def _render_system_prompt(consultant: dict) -> str:
    principles = consultant.get("core_philosophy") or {}
    numbered = ", ".join(
        f"({number}) {principle}" for number, principle in enumerate(principles.values(), 1)
    )
    tone = (consultant.get("communication_style") or {}).get("tone")
    parts = [
        "You are an emotionally intelligent financial planning assistant speaking for "
        f"{_consultant_persona(consultant)}."
    ]
    if numbered:
        parts.append(f"Your core principles: {numbered}.")
    parts.append(
        "When a client shows shame, fear or anxiety, acknowledge it plainly before giving "
        "any advice. Explain one step at a time, use the client's own numbers, and ask "
        "before teaching something new. Close with one concrete next step."
    )
    if tone:
        parts.append(f"Your tone is {tone}.")
    return " ".join(parts)


def _build_profile(
    consultant: dict, system_prompt: str | None, metadata: dict, training_file: dict | None = None
) -> Profile:
    dataset_metadata = {
        "vertical": metadata.get("vertical", _DEFAULT_DATASET_METADATA["vertical"]),
        "consultant_persona": metadata.get("consultant_persona", _consultant_persona(consultant)),
        "target_use": metadata.get("target_use", _DEFAULT_DATASET_METADATA["target_use"]),
        "conversation_source": metadata.get(
            "conversation_source", _DEFAULT_DATASET_METADATA["conversation_source"]
        ),
    }
    return Profile(
        consultant_profile=consultant,
        system_prompt=system_prompt or _render_system_prompt(consultant),
        dataset_metadata=dataset_metadata,
        training_file=dict(training_file or {}),
    )


DEFAULT_PROFILE: Profile = _build_profile(_DEFAULT_CONSULTANT, None, {})


def load_profile(path: str | Path) -> Profile:
    """Read a profile JSON file; parts it leaves out come from ``DEFAULT_PROFILE``."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ProfileError(
            f"Cannot read consultant profile file {path}: {exc.strerror or exc}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ProfileError(f"Consultant profile file {path} is not UTF-8 text: {exc}") from exc
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ProfileError(f"Consultant profile file {path} is not valid JSON: {exc}") from exc

    def fail(problem: str) -> ProfileError:
        return ProfileError(f"Consultant profile file {path}: {problem}")

    if not isinstance(document, dict):
        raise fail("the top level must be a JSON object")
    unknown = sorted(set(document) - set(_TOP_LEVEL_KEYS))
    if unknown:
        # A misspelt key would otherwise silently fall back to the default.
        raise fail(f"unknown keys {unknown}; expected some of {list(_TOP_LEVEL_KEYS)}")

    overrides = _object(document, "consultant_profile", fail)
    _check_consultant(overrides, fail)
    consultant = {**DEFAULT_PROFILE.consultant_profile, **overrides}

    system_prompt = document.get("system_prompt")
    if system_prompt is not None and (not isinstance(system_prompt, str) or not system_prompt):
        raise fail("system_prompt must be a non-empty string")

    metadata = _object(document, "dataset_metadata", fail)
    for key, value in metadata.items():
        if key not in DATASET_METADATA_KEYS:
            raise fail(
                f"unknown key dataset_metadata.{key}; expected {list(DATASET_METADATA_KEYS)}"
            )
        if not isinstance(value, str):
            raise fail(f"dataset_metadata.{key} must be a string")

    training_file = _object(document, "training_file", fail)
    for key, value in training_file.items():
        if key not in TRAINING_FILE_KEYS:
            raise fail(f"unknown key training_file.{key}; expected {list(TRAINING_FILE_KEYS)}")
        if not isinstance(value, str) or not value:
            raise fail(f"training_file.{key} must be a non-empty string")

    return _build_profile(consultant, system_prompt, metadata, training_file)


def _object(document: dict, key: str, fail: Callable[[str], ProfileError]) -> dict:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise fail(f"{key} must be a JSON object")
    return value


def _check_consultant(consultant: dict, fail: Callable[[str], ProfileError]) -> None:
    for key in ("name", "business", "expertise"):
        if key in consultant and not isinstance(consultant[key], str):
            raise fail(f"consultant_profile.{key} must be a string")
    years = consultant.get("years_experience", 0)
    if isinstance(years, bool) or not isinstance(years, int | float):
        raise fail("consultant_profile.years_experience must be a number")
    if "core_philosophy" in consultant:
        philosophy = consultant["core_philosophy"]
        if not isinstance(philosophy, dict) or not all(
            isinstance(value, str) for value in philosophy.values()
        ):
            raise fail("consultant_profile.core_philosophy must map principle keys to strings")
    if "communication_style" in consultant:
        style = consultant["communication_style"]
        if not isinstance(style, dict):
            raise fail("consultant_profile.communication_style must be a JSON object")
        if "tone" in style and not isinstance(style["tone"], str):
            raise fail("consultant_profile.communication_style.tone must be a string")
        for key in ("techniques", "avoid"):
            items = style.get(key, [])
            if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
                raise fail(
                    f"consultant_profile.communication_style.{key} must be a list of strings"
                )
