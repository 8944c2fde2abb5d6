import json
import random

import pytest

from devtools.demo.generator import (
    generate_conversation,
    invalid_conversation,
    load_demo_scaffolding,
    pick_scaffolding,
    truncated_conversation_bytes,
)

INPUT_PARAMETER_KEYS = {
    "persona_id",
    "persona_key",
    "persona_name",
    "emotional_arc_id",
    "emotional_arc_key",
    "emotional_arc_name",
    "training_topic_id",
    "training_topic_key",
    "training_topic_name",
}


@pytest.fixture
def scaffolding() -> dict[str, list[dict]]:
    return load_demo_scaffolding()


def rows(scaffolding: dict, persona_key: str, arc_key: str, topic_key: str) -> dict:
    def find(kind: str, key: str, value: str) -> dict:
        return next(row for row in scaffolding[kind] if row[key] == value)

    return {
        "persona": find("personas", "persona_key", persona_key),
        "arc": find("emotional_arcs", "arc_key", arc_key),
        "topic": find("training_topics", "topic_key", topic_key),
    }


@pytest.fixture
def late_starter(scaffolding) -> dict:
    return rows(
        scaffolding, "late_starter", "embarrassment_to_pride", "catch_up_retirement_contributions"
    )


def test_load_demo_scaffolding_has_our_rows(scaffolding):
    counts = {kind: len(kind_rows) for kind, kind_rows in scaffolding.items()}
    arc_keys = {arc["arc_key"] for arc in scaffolding["emotional_arcs"]}
    template_arcs = {t["emotional_arc_type"] for t in scaffolding["prompt_templates"]}

    assert counts == {
        "personas": 3,
        "emotional_arcs": 4,
        "training_topics": 6,
        "prompt_templates": 3,
    }
    assert template_arcs <= arc_keys


def test_generate_conversation_is_deterministic_for_a_seed(late_starter):
    first = generate_conversation(random.Random(7), turns=8, **late_starter)
    again = generate_conversation(random.Random(7), turns=8, **late_starter)
    other = generate_conversation(random.Random(8), turns=8, **late_starter)

    assert first == again
    assert first != other


@pytest.mark.parametrize("turns", [2, 6, 7, 10])
def test_generated_conversation_has_the_parsed_shape(late_starter, turns):
    document = generate_conversation(random.Random(turns), turns=turns, **late_starter)

    assert list(document) == ["conversation_metadata", "turns", "input_parameters"]
    assert document["conversation_metadata"]["client_persona"] == ("Priya Raman - The Late Starter")
    assert all(document["conversation_metadata"].values())
    assert [turn["turn_number"] for turn in document["turns"]] == list(range(1, turns + 1))
    assert [turn["role"] for turn in document["turns"]] == ["user", "assistant"] * (turns // 2) + [
        "user"
    ] * (turns % 2)
    for turn in document["turns"]:
        assert 150 <= len(turn["content"]) <= 900, turn["content"]
        assert '"' not in turn["content"]
        context = turn["emotional_context"]
        assert set(context) == {"primary_emotion", "secondary_emotion", "intensity"}
        assert context["primary_emotion"] != context["secondary_emotion"]
        assert 0 < context["intensity"] < 1


def test_input_parameters_name_the_rows_and_their_ids(late_starter):
    persona = {**late_starter["persona"], "id": "11111111-1111-1111-1111-111111111111"}

    document = generate_conversation(
        random.Random(1),
        persona=persona,
        arc=late_starter["arc"],
        topic=late_starter["topic"],
        turns=6,
    )

    assert document["input_parameters"] == {
        "persona_id": "11111111-1111-1111-1111-111111111111",
        "persona_key": "late_starter",
        "persona_name": "Priya Raman",
        "emotional_arc_id": "",
        "emotional_arc_key": "embarrassment_to_pride",
        "emotional_arc_name": "Embarrassment → Pride",
        "training_topic_id": "",
        "training_topic_key": "catch_up_retirement_contributions",
        "training_topic_name": "Catching Up on Retirement After 50",
    }


def test_template_name_is_added_to_input_parameters(late_starter):
    document = generate_conversation(
        random.Random(1), turns=6, template_name="Demo - Some Template", **late_starter
    )

    assert set(document["input_parameters"]) == INPUT_PARAMETER_KEYS | {"template_name"}
    assert document["input_parameters"]["template_name"] == "Demo - Some Template"


def test_user_turns_move_from_the_arcs_starting_to_its_ending_emotion(late_starter):
    document = generate_conversation(random.Random(3), turns=9, **late_starter)

    user_turns = [turn for turn in document["turns"] if turn["role"] == "user"]
    assert user_turns[0]["emotional_context"]["primary_emotion"] == "embarrassment"
    assert user_turns[-1]["emotional_context"]["primary_emotion"] == "pride"
    assert 0.65 <= user_turns[0]["emotional_context"]["intensity"] <= 0.8
    assert 0.55 <= user_turns[-1]["emotional_context"]["intensity"] <= 0.7


def test_generate_conversation_needs_two_turns(late_starter):
    with pytest.raises(ValueError, match="at least 2 turns"):
        generate_conversation(random.Random(1), turns=1, **late_starter)


def test_pick_scaffolding_prefers_the_topics_suitable_rows(scaffolding):
    rng = random.Random(5)

    picks = [pick_scaffolding(rng, scaffolding) for _ in range(30)]

    for pick in picks:
        assert pick["persona"]["persona_key"] in pick["topic"]["suitable_personas"]
        assert pick["arc"]["arc_key"] in pick["topic"]["suitable_emotional_arcs"]
        templates = [
            t["template_name"]
            for t in scaffolding["prompt_templates"]
            if t["emotional_arc_type"] == pick["arc"]["arc_key"]
        ]
        assert pick["template_name"] == (templates[0] if templates else None)


def test_truncated_conversation_bytes_are_cut_off_mid_string(late_starter):
    content = truncated_conversation_bytes(random.Random(2), turns=8, **late_starter)

    text = content.decode("utf-8")
    assert text.startswith("{")
    assert '"turn_number": 8' in text
    with pytest.raises(json.JSONDecodeError, match="Unterminated string"):
        json.loads(content)


def test_truncated_conversation_bytes_are_deterministic(late_starter):
    first = truncated_conversation_bytes(random.Random(2), turns=8, **late_starter)
    again = truncated_conversation_bytes(random.Random(2), turns=8, **late_starter)

    assert first == again


def test_invalid_conversation_parses_but_breaks_two_turns(late_starter):
    document = invalid_conversation(random.Random(4), turns=8, **late_starter)

    parsed = json.loads(json.dumps(document))
    assert [turn["role"] for turn in parsed["turns"]] == ["user", "assistant"] * 3 + [
        "user",
        "coach",
    ]
    assert "intensity" not in parsed["turns"][1]["emotional_context"]


# The checks below need the validation stage of the pipeline.


@pytest.fixture
def validate():
    module = pytest.importorskip("enrichment.pipeline.validate")
    return module.validate_conversation


def test_generated_conversations_pass_validation_without_warnings(scaffolding, validate):
    rng = random.Random(11)
    for _ in range(25):
        document = generate_conversation(
            rng, turns=rng.randint(2, 10), **pick_scaffolding(rng, scaffolding)
        )

        data, report = validate(
            json.dumps(document), conversation_id="c", validated_at="2025-01-01T00:00:00Z"
        )

        assert data == document
        assert (report["isValid"], report["blockers"], report["warnings"]) == (True, [], [])


def test_invalid_conversation_has_validation_blockers(late_starter, validate):
    document = invalid_conversation(random.Random(4), turns=8, **late_starter)

    _, report = validate(document, conversation_id="c", validated_at="2025-01-01T00:00:00Z")

    assert report["isValid"] is False
    assert [(issue["code"], issue["field"]) for issue in report["blockers"]] == [
        ("MISSING_INTENSITY", "turns[1].emotional_context.intensity"),
        ("INVALID_ROLE", "turns[7].role"),
    ]


def test_truncated_conversation_fails_validation_as_invalid_json(late_starter, validate):
    content = truncated_conversation_bytes(random.Random(2), turns=8, **late_starter)

    data, report = validate(content, conversation_id="c", validated_at="2025-01-01T00:00:00Z")

    assert data is None
    assert [issue["code"] for issue in report["blockers"]] == ["INVALID_JSON_SYNTAX"]
