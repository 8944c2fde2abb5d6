import copy
import dataclasses

import pytest

from enrichment.pipeline.enrich import (
    NEGATIVE_EMOTIONS,
    POSITIVE_EMOTIONS,
    EnrichmentContext,
    enrich_conversation,
    valence,
)
from enrichment.pipeline.profile import Profile

CONVERSATION_ID = "5b0f3a52-6a51-4c0e-9d51-2f7f0d1c9e11"

PROFILE = Profile(
    consultant_profile={
        "name": "Test Consultant",
        "business": "Test Planning Co",
        "core_philosophy": {"principle_1": "Listen first"},
        "communication_style": {"tone": "kind", "techniques": ["reflect"], "avoid": ["jargon"]},
    },
    system_prompt="You are a test consultant.",
    dataset_metadata={
        "vertical": "test_vertical",
        "consultant_persona": "Test Consultant - Test Planning Co",
        "target_use": "tests",
        "conversation_source": "unit_test",
    },
)

PERSONA = {
    "persona_key": "late_starter",
    "name": "Priya Nair",
    "archetype": "The Late Starter",
    "demographics": {
        "age": 48,
        "gender": "female",
        "family_status": "divorced, one teenager",
        "location": "Leeds",
    },
    "financial_background": "Steady salary, one old workplace pension.",
}
ARC = {
    "arc_key": "confusion_to_clarity",
    "name": "Confusion → Clarity",
    "starting_emotion": "confusion",
    "ending_emotion": "clarity",
}
TOPIC = {
    "topic_key": "pension_transfer",
    "name": "Transferring an Old Pension",
    "complexity_level": "advanced",
}
TEMPLATE = {
    "template_name": "Template - Confusion → Clarity - Pensions",
    "category": "educational",
    "suitable_personas": ["late_starter", "anxious_planner"],
}


def conversation() -> dict:
    return {
        "conversation_metadata": {
            "client_persona": "Priya - unknown",
            "session_context": "Priya found a letter about an old pension",
            "conversation_phase": "initial_opportunity_exploration",
            "expected_outcome": "Priya knows her first step",
        },
        "turns": [
            {
                "turn_number": 1,
                "role": "user",
                "content": "I found a letter about an old pension.",
                "emotional_context": {
                    "primary_emotion": "confusion",
                    "secondary_emotion": "embarrassment",
                    "intensity": 0.7,
                },
            },
            {
                "turn_number": 2,
                "role": "assistant",
                "content": "That's a good find. Let's read it together.",
                "emotional_context": {"primary_emotion": "calm", "intensity": 0.4},
            },
            {
                "turn_number": 3,
                "role": "user",
                "content": "It says I can transfer it. Should I?",
                "emotional_context": {
                    "primary_emotion": "worry",
                    "secondary_emotion": "hope",
                    "intensity": 0.55,
                },
            },
            {
                "turn_number": 4,
                "role": "assistant",
                "content": "First we compare the fees; then you decide.",
                "emotional_context": {
                    "primary_emotion": "confidence",
                    "secondary_emotion": "care",
                    "intensity": 0.5,
                },
            },
        ],
        "input_parameters": {
            "persona_id": "p-1",
            "persona_key": "late_starter",
            "persona_name": "Priya Nair",
            "emotional_arc_id": "a-1",
            "emotional_arc_key": "confusion_to_clarity",
            "emotional_arc_name": "Confusion → Clarity",
            "training_topic_id": "t-1",
            "training_topic_key": "pension_transfer",
            "training_topic_name": "Transferring an Old Pension",
        },
    }


def context(**changes: object) -> EnrichmentContext:
    base = EnrichmentContext(
        conversation_id=CONVERSATION_ID,
        created_date="2026-01-15",
        quality_score=None,
        persona=PERSONA,
        emotional_arc=ARC,
        training_topic=TOPIC,
        template=TEMPLATE,
        profile=PROFILE,
    )
    return dataclasses.replace(base, **changes)


def test_enrich_orders_top_level_pair_and_nested_keys_like_the_v1_format():
    enriched = enrich_conversation(conversation(), context())

    pair = enriched["training_pairs"][1]
    assert list(enriched) == [
        "dataset_metadata",
        "consultant_profile",
        "training_pairs",
        "input_parameters",
    ]
    assert list(pair) == [
        "id",
        "conversation_id",
        "turn_number",
        "conversation_metadata",
        "system_prompt",
        "conversation_history",
        "current_user_input",
        "emotional_context",
        "target_response",
        "training_metadata",
    ]
    assert list(pair["conversation_metadata"]) == [
        "client_persona",
        "client_background",
        "session_context",
        "conversation_phase",
        "expected_outcome",
        "persona_archetype",
        "emotional_arc",
        "emotional_arc_key",
        "training_topic",
        "training_topic_key",
    ]
    assert list(pair["training_metadata"]) == [
        "difficulty_level",
        "key_learning_objective",
        "demonstrates_skills",
        "conversation_turn",
        "emotional_progression_target",
        "quality_score",
        "quality_criteria",
        "human_reviewed",
        "reviewer_notes",
        "use_as_seed_example",
        "generate_variations_count",
    ]


def test_enrich_builds_dataset_metadata_from_context_and_profile():
    enriched = enrich_conversation(conversation(), context())

    assert enriched["dataset_metadata"] == {
        "dataset_name": f"fp_conversation_{CONVERSATION_ID}",
        "version": "1.0.0",
        "created_date": "2026-01-15",
        "vertical": "test_vertical",
        "consultant_persona": "Test Consultant - Test Planning Co",
        "target_use": "tests",
        "conversation_source": "unit_test",
        "quality_tier": "experimental",
        "total_conversations": 1,
        "total_turns": 4,
        "notes": "Generated via template: Template - Confusion → Clarity - Pensions",
    }
    assert enriched["consultant_profile"] == PROFILE.consultant_profile
    assert enriched["input_parameters"] == conversation()["input_parameters"]


def test_enrich_makes_one_pair_per_turn_with_the_full_derivation():
    enriched = enrich_conversation(conversation(), context())

    assert enriched["training_pairs"][2] == {
        "id": "educational_turn3",
        "conversation_id": "educational",
        "turn_number": 3,
        "conversation_metadata": {
            "client_persona": "Priya Nair - The Late Starter",
            "client_background": (
                "Age 48, female, Leeds, divorced, one teenager; "
                "Steady salary, one old workplace pension."
            ),
            "session_context": "Priya found a letter about an old pension",
            "conversation_phase": "initial_opportunity_exploration",
            "expected_outcome": "Priya knows her first step",
            "persona_archetype": "late_starter",
            "emotional_arc": "Confusion → Clarity",
            "emotional_arc_key": "confusion_to_clarity",
            "training_topic": "Transferring an Old Pension",
            "training_topic_key": "pension_transfer",
        },
        "system_prompt": "You are a test consultant.",
        "conversation_history": [
            {
                "turn": 1,
                "role": "user",
                "content": "I found a letter about an old pension.",
                "emotional_state": {
                    "primary": "confusion",
                    "secondary": "embarrassment",
                    "intensity": 0.7,
                },
            },
            {
                "turn": 2,
                "role": "assistant",
                "content": "That's a good find. Let's read it together.",
                "emotional_state": {"primary": "calm", "intensity": 0.4},
            },
        ],
        "current_user_input": "It says I can transfer it. Should I?",
        "emotional_context": {
            "detected_emotions": {
                "primary": "worry",
                "primary_confidence": 0.8,
                "secondary": "hope",
                "secondary_confidence": 0.7,
                "intensity": 0.55,
                "valence": "negative",
            }
        },
        "target_response": None,
        "training_metadata": {
            "difficulty_level": "advanced_conversation_turn_3",
            "key_learning_objective": "pension_transfer",
            "demonstrates_skills": ["late_starter", "anxious_planner"],
            "conversation_turn": 3,
            "emotional_progression_target": "confusion(0.8) → clarity(0.8)",
            "quality_score": 3,
            "quality_criteria": {
                "empathy_score": 3.0,
                "clarity_score": 3.0,
                "appropriateness_score": 3.0,
                "brand_voice_alignment": 3.0,
            },
            "human_reviewed": False,
            "reviewer_notes": None,
            "use_as_seed_example": False,
            "generate_variations_count": 0,
        },
    }


def test_enrich_user_turn_pair_has_its_own_content_as_input_and_no_target():
    pair = enrich_conversation(conversation(), context())["training_pairs"][0]

    assert pair["current_user_input"] == "I found a letter about an old pension."
    assert pair["target_response"] is None
    assert pair["conversation_history"] == []


def test_enrich_assistant_turn_pair_answers_the_latest_user_input():
    pair = enrich_conversation(conversation(), context())["training_pairs"][3]

    assert pair["current_user_input"] == "It says I can transfer it. Should I?"
    assert pair["target_response"] == "First we compare the fees; then you decide."
    assert [entry["turn"] for entry in pair["conversation_history"]] == [1, 2, 3]


def test_enrich_assistant_turn_without_earlier_user_turn_has_empty_input():
    data = conversation()
    data["turns"][0]["role"] = "assistant"

    pair = enrich_conversation(data, context())["training_pairs"][0]

    assert pair["current_user_input"] == ""
    assert pair["target_response"] == "I found a letter about an old pension."


def test_enrich_omits_secondary_emotion_when_the_turn_has_none():
    pair = enrich_conversation(conversation(), context())["training_pairs"][1]

    assert pair["emotional_context"]["detected_emotions"] == {
        "primary": "calm",
        "primary_confidence": 0.8,
        "intensity": 0.4,
        "valence": "positive",
    }


def test_enrich_without_persona_uses_the_input_client_persona():
    pair = enrich_conversation(conversation(), context(persona=None))["training_pairs"][0]

    assert pair["conversation_metadata"]["client_persona"] == "Priya - unknown"
    assert pair["conversation_metadata"]["client_background"] == "Client profile: Priya - unknown"


def test_enrich_persona_without_archetype_is_called_client():
    persona = {"name": "Priya Nair", "demographics": {"age": 48}}

    pair = enrich_conversation(conversation(), context(persona=persona))["training_pairs"][0]

    assert pair["conversation_metadata"]["client_persona"] == "Priya Nair - Client"
    assert pair["conversation_metadata"]["client_background"] == "Age 48"


def test_enrich_uses_string_demographics_as_is():
    persona = PERSONA | {"demographics": "late forties, renting in Leeds"}

    pair = enrich_conversation(conversation(), context(persona=persona))["training_pairs"][0]

    assert pair["conversation_metadata"]["client_background"] == (
        "late forties, renting in Leeds; Steady salary, one old workplace pension."
    )


def test_enrich_joins_only_the_demographic_parts_present():
    persona = PERSONA | {
        "demographics": {"gender": "female", "location": "Leeds"},
        "financial_background": "",
    }

    pair = enrich_conversation(conversation(), context(persona=persona))["training_pairs"][0]

    assert pair["conversation_metadata"]["client_background"] == "female, Leeds"


def test_enrich_without_arc_has_no_progression_target():
    pair = enrich_conversation(conversation(), context(emotional_arc=None))["training_pairs"][0]

    assert pair["training_metadata"]["emotional_progression_target"] == ""


def test_enrich_without_topic_defaults_difficulty_and_keeps_input_topic_key():
    pair = enrich_conversation(conversation(), context(training_topic=None))["training_pairs"][1]

    assert pair["training_metadata"]["difficulty_level"] == "intermediate_conversation_turn_2"
    assert pair["training_metadata"]["key_learning_objective"] == "pension_transfer"


def test_enrich_learning_objective_falls_back_to_topic_row_then_default():
    data = conversation()
    del data["input_parameters"]
    topic_without_key = {"name": "Transferring an Old Pension"}

    from_topic_key = enrich_conversation(data, context())
    from_topic_name = enrich_conversation(data, context(training_topic=topic_without_key))
    from_nothing = enrich_conversation(data, context(training_topic=None))

    objective = ["training_pairs", 0, "training_metadata", "key_learning_objective"]
    assert dig(from_topic_key, objective) == "pension_transfer"
    assert dig(from_topic_name, objective) == "Transferring an Old Pension"
    assert dig(from_nothing, objective) == "Provide emotionally intelligent financial guidance"


def test_enrich_without_template_uses_the_generic_conversation_key_and_skills():
    enriched = enrich_conversation(conversation(), context(template=None))

    pair = enriched["training_pairs"][1]
    assert (pair["id"], pair["conversation_id"]) == ("fp_conversation_turn2", "fp_conversation")
    assert pair["training_metadata"]["demonstrates_skills"] == ["empathy", "active_listening"]
    assert enriched["dataset_metadata"]["notes"] == "Generated via template: unknown"


def test_enrich_copies_scaffolding_names_only_when_present_in_input_parameters():
    data = conversation()
    data["input_parameters"].update(emotional_arc_key="", emotional_arc_name="")

    metadata = enrich_conversation(data, context())["training_pairs"][0]["conversation_metadata"]

    assert "emotional_arc" not in metadata
    assert "emotional_arc_key" not in metadata
    assert metadata["training_topic_key"] == "pension_transfer"


def test_enrich_without_input_parameters_omits_them_and_scaffolding_names():
    data = conversation()
    del data["input_parameters"]

    enriched = enrich_conversation(data, context())

    assert list(enriched) == ["dataset_metadata", "consultant_profile", "training_pairs"]
    assert list(enriched["training_pairs"][0]["conversation_metadata"]) == [
        "client_persona",
        "client_background",
        "session_context",
        "conversation_phase",
        "expected_outcome",
    ]


def test_enrich_defaults_a_missing_expected_outcome():
    data = conversation()
    del data["conversation_metadata"]["expected_outcome"]

    pair = enrich_conversation(data, context())["training_pairs"][0]

    assert pair["conversation_metadata"]["expected_outcome"] == (
        "Provide emotionally intelligent support"
    )


@pytest.mark.parametrize(
    ("quality_score", "tier", "rounded", "criterion"),
    [
        (None, "experimental", 3, 3.0),
        (0, "experimental", 3, 3.0),
        (3.44, "experimental", 3, 3.4),
        (3.5, "production", 4, 3.5),
        (4.49, "production", 4, 4.5),
        (4.5, "seed_dataset", 5, 4.5),
    ],
)
def test_enrich_derives_quality_tier_score_and_criteria(quality_score, tier, rounded, criterion):
    enriched = enrich_conversation(conversation(), context(quality_score=quality_score))

    metadata = enriched["training_pairs"][0]["training_metadata"]
    assert enriched["dataset_metadata"]["quality_tier"] == tier
    assert metadata["quality_score"] == rounded
    assert metadata["quality_criteria"] == dict.fromkeys(
        ["empathy_score", "clarity_score", "appropriateness_score", "brand_voice_alignment"],
        criterion,
    )


@pytest.mark.parametrize("emotion", POSITIVE_EMOTIONS)
def test_valence_is_positive_for_the_positive_list(emotion):
    assert valence(emotion) == "positive"


@pytest.mark.parametrize("emotion", NEGATIVE_EMOTIONS)
def test_valence_is_negative_for_the_negative_list(emotion):
    assert valence(emotion) == "negative"


def test_valence_matches_lower_cased_substrings_positive_first():
    assert valence("Cautious_Hope") == "positive"
    assert valence("hopeful fear") == "positive"
    assert valence("FINANCIAL_STRESS") == "negative"


def test_valence_is_mixed_for_anything_else():
    assert [valence("acceptance"), valence("vulnerability"), valence(None)] == ["mixed"] * 3


def test_enrich_is_deterministic_and_leaves_its_input_alone():
    data = conversation()
    before = copy.deepcopy(data)

    first = enrich_conversation(data, context(quality_score=4.2))
    second = enrich_conversation(data, context(quality_score=4.2))

    assert first == second
    assert data == before


def test_enrich_output_does_not_share_the_profile_objects():
    enriched = enrich_conversation(conversation(), context())

    enriched["consultant_profile"]["communication_style"]["techniques"].append("shouting")

    assert PROFILE.consultant_profile["communication_style"]["techniques"] == ["reflect"]


def test_enrich_tolerates_missing_optional_fields():
    data = {
        "conversation_metadata": {"client_persona": "Sam"},
        "turns": [{"role": "user"}, {"role": "assistant", "emotional_context": None}],
    }

    enriched = enrich_conversation(data, context(persona=None, template=None))

    assert enriched["training_pairs"][1]["emotional_context"] == {
        "detected_emotions": {
            "primary": None,
            "primary_confidence": 0.8,
            "intensity": None,
            "valence": "mixed",
        }
    }
    assert enriched["training_pairs"][1]["id"] == "fp_conversation_turn2"


def dig(value: object, path: list) -> object:
    for step in path:
        value = value[step]
    return value
