import json
import re
from pathlib import Path

import pytest

from enrichment.pipeline.profile import DEFAULT_PROFILE, Profile, ProfileError, load_profile


def write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "profile.json"
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(text, encoding="utf-8")
    return path


def test_default_profile_is_our_own_complete_consultant():
    consultant = DEFAULT_PROFILE.consultant_profile

    assert list(consultant) == [
        "name",
        "business",
        "expertise",
        "years_experience",
        "core_philosophy",
        "communication_style",
    ]
    assert list(consultant["core_philosophy"]) == [f"principle_{n}" for n in range(1, 6)]
    assert list(consultant["communication_style"]) == ["tone", "techniques", "avoid"]
    assert "Elena" not in json.dumps(DEFAULT_PROFILE.__dict__)
    assert "Pathways" not in json.dumps(DEFAULT_PROFILE.__dict__)
    assert DEFAULT_PROFILE.dataset_metadata == {
        "vertical": "financial_planning_consultant",
        "consultant_persona": "Maya Okafor, CFP - Harborlight Financial Planning",
        "target_use": "LoRA fine-tuning for emotionally intelligent chatbot",
        "conversation_source": "synthetic_platform_generated",
    }
    assert "Maya Okafor, CFP - Harborlight Financial Planning" in DEFAULT_PROFILE.system_prompt


def test_load_profile_of_an_empty_object_is_the_default(tmp_path):
    assert load_profile(write(tmp_path, {})) == DEFAULT_PROFILE


def test_load_profile_uses_every_part_the_file_gives(tmp_path):
    content = {
        "consultant_profile": {"name": "Jo Park", "business": "Park Planning"},
        "system_prompt": "You speak for Jo Park.",
        "dataset_metadata": {"vertical": "retirement_coaching", "target_use": "evaluation"},
    }

    profile = load_profile(write(tmp_path, content))

    assert profile == Profile(
        consultant_profile=DEFAULT_PROFILE.consultant_profile
        | {"name": "Jo Park", "business": "Park Planning"},
        system_prompt="You speak for Jo Park.",
        dataset_metadata={
            "vertical": "retirement_coaching",
            "consultant_persona": "Jo Park - Park Planning",
            "target_use": "evaluation",
            "conversation_source": "synthetic_platform_generated",
        },
    )


def test_load_profile_renders_the_default_prompt_for_a_renamed_consultant(tmp_path):
    content = {"consultant_profile": {"name": "Jo Park", "business": "Park Planning"}}

    profile = load_profile(write(tmp_path, content))

    assert "Jo Park - Park Planning" in profile.system_prompt
    assert "Maya" not in profile.system_prompt


def test_load_profile_names_the_file_when_it_cannot_be_read(tmp_path):
    path = tmp_path / "missing.json"

    with pytest.raises(
        ProfileError, match=re.escape(f"Cannot read consultant profile file {path}")
    ):
        load_profile(path)


def test_load_profile_names_the_file_when_it_is_not_json(tmp_path):
    path = write(tmp_path, '{"system_prompt": "unterminated')

    with pytest.raises(
        ProfileError, match=re.escape(f"Consultant profile file {path} is not valid JSON")
    ):
        load_profile(str(path))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ([], "the top level must be a JSON object"),
        ({"system_promt": "typo"}, "unknown keys ['system_promt']"),
        ({"consultant_profile": "Jo"}, "consultant_profile must be a JSON object"),
        ({"consultant_profile": {"years_experience": "ten"}}, "years_experience must be"),
        ({"system_prompt": ""}, "system_prompt must be a non-empty string"),
        ({"dataset_metadata": {"vertical": 3}}, "dataset_metadata.vertical must be a string"),
        ({"dataset_metadata": {"colour": "x"}}, "unknown key dataset_metadata.colour"),
    ],
    ids=[
        "array",
        "unknown-key",
        "profile-not-object",
        "years",
        "empty-prompt",
        "metadata-type",
        "metadata-key",
    ],
)
def test_load_profile_rejects_wrong_types_naming_the_file(tmp_path, content, problem):
    path = write(tmp_path, content)

    with pytest.raises(ProfileError) as raised:
        load_profile(path)

    assert str(raised.value).startswith(f"Consultant profile file {path}: ")
    assert problem in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_training_file_labels_default_to_the_originals_and_the_vertical(tmp_path):
    profile = load_profile(write(tmp_path, {"dataset_metadata": {"vertical": "retirement"}}))

    assert DEFAULT_PROFILE.training_file_metadata() == {
        "format_spec": "brightrun-lora-v4",
        "target_model": "claude-sonnet-4-5",
        "vertical": "financial_planning_consultant",
    }
    assert profile.training_file_metadata()["vertical"] == "retirement"


def test_training_file_labels_may_each_be_overridden(tmp_path):
    content = {"training_file": {"target_model": "llama-3-70b", "vertical": "coaching"}}

    profile = load_profile(write(tmp_path, content))

    assert profile.training_file_metadata() == {
        "format_spec": "brightrun-lora-v4",
        "target_model": "llama-3-70b",
        "vertical": "coaching",
    }
    assert profile.dataset_metadata == DEFAULT_PROFILE.dataset_metadata


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"training_file": []}, "training_file must be a JSON object"),
        ({"training_file": {"model": "x"}}, "unknown key training_file.model"),
        ({"training_file": {"format_spec": ""}}, "training_file.format_spec must be a non-empty"),
        ({"training_file": {"vertical": 3}}, "training_file.vertical must be a non-empty"),
    ],
)
def test_bad_training_file_labels_name_the_problem(tmp_path, content, problem):
    with pytest.raises(ProfileError, match=re.escape(problem)):
        load_profile(write(tmp_path, content))
