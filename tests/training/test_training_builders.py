"""The pure builders of the three formats, field by field."""

import json
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from training import builders
from training.builders import Member, Summary

CREATED = datetime(2025, 11, 30, 23, 30, 5, 123456, tzinfo=UTC)


def pair(turn: int, *, target: str | None, score=3, **extra) -> dict:
    return {
        "id": f"fp_conversation_turn{turn}",
        "conversation_id": "fp_conversation",
        "turn_number": turn,
        "conversation_metadata": {"client_persona": "Sam Ortiz - The Cautious Saver"},
        "system_prompt": "You are Maya.",
        "conversation_history": [],
        "current_user_input": f"user says {turn}",
        "emotional_context": {"detected_emotions": {"primary": "worry", "intensity": 0.6}},
        "target_response": target,
        "training_metadata": {"quality_score": score, "quality_criteria": {"empathy_score": 3.0}},
        **extra,
    }


def member(**fields) -> Member:
    return Member(
        **{"conversation_id": "4f1c2b3a-0000-4000-8000-000000000001", "created_at": CREATED}
        | fields
    )


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (3.0, "3"),
        (-0.0, "0"),
        (0.85, "0.85"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (1.5e-5, "0.000015"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (2.0**60, "1152921504606847000"),
        (12345678901234567890.0, "12345678901234567000"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
    ],
)
def test_numbers_are_written_as_javascript_writes_them(value, written):
    assert orjson.dumps(builders.javascript_number(value)).decode() == written


def test_javascript_numbers_keep_ints_strings_and_booleans():
    value = {"a": [1, 2.5, "3.0", True, None, {"b": 4.0}]}

    assert orjson.dumps(builders.javascript_numbers(value)) == (
        b'{"a":[1,2.5,"3.0",true,null,{"b":4}]}'
    )


def test_iso_timestamp_is_utc_with_milliseconds_and_z():
    moment = datetime(2025, 12, 1, 1, 2, 3, 987654, tzinfo=timezone(timedelta(hours=2)))

    assert builders.iso_timestamp(moment) == "2025-11-30T23:02:03.987Z"


@pytest.mark.parametrize(
    ("score", "tier"),
    [
        (None, "experimental"),
        (0, "experimental"),
        (5, "seed_dataset"),
        (4.5, "seed_dataset"),
        (4.49, "production"),
        (3.5, "production"),
        (3.49, "experimental"),
        (2.5, "experimental"),
        (2.49, "rejected"),
        (1, "rejected"),
    ],
)
def test_quality_tiers_are_the_originals(score, tier):
    assert builders.quality_tier(score) == tier


def test_a_conversation_without_a_score_is_tiered_by_the_mean_of_its_pairs():
    pairs = [
        pair(1, target=None, score=4),
        pair(2, target="a", score=5),
        pair(3, target="b", score=5),
    ]
    unscored = [pair(1, target="a", score=None)]

    assert builders.conversation_tier(member(quality_score=None), pairs) == "seed_dataset"
    assert builders.conversation_tier(member(quality_score=2.0), pairs) == "rejected"
    # 0 is "never scored" for the tier, as in the original.
    assert builders.conversation_tier(member(quality_score=0), pairs) == "seed_dataset"
    assert builders.conversation_tier(member(), unscored) == "experimental"


def test_summary_uses_conversation_scores_else_each_pair_score_and_counts_nonempty_keys():
    summary = Summary()
    summary.add(member(quality_score=4.5, persona_key="saver", training_topic_key="hsa"), [])
    summary.add(
        member(persona_key="saver", emotional_arc_key="shame_to_acceptance"),
        [pair(1, target=None, score=2), pair(2, target="x", score=3)],
    )
    summary.add(member(persona_key="2024", training_topic_key=""), [pair(1, target="y")])

    assert summary.conversations == 3
    assert summary.training_pairs == 3
    assert summary.quality_summary() == {
        "avg_quality_score": (4.5 + 2 + 3 + 3) / 4,
        "min_quality_score": 2,
        "max_quality_score": 4.5,
        "human_reviewed_count": 0,
        "human_reviewed_percentage": 0,
    }
    distribution = summary.distribution()
    assert distribution == {
        "personas": {"saver": 2, "2024": 1},
        "emotional_arcs": {"shame_to_acceptance": 1},
        "training_topics": {"hsa": 1},
    }
    # A JavaScript object lists integer-like keys first.
    assert list(distribution["personas"]) == ["2024", "saver"]


def test_summary_of_nothing_scored_is_zero():
    summary = Summary()
    summary.add(member(), [pair(1, target="x", score=None)])

    assert summary.quality_summary()["avg_quality_score"] == 0
    assert summary.quality_summary()["min_quality_score"] == 0
    assert summary.quality_summary()["max_quality_score"] == 0


def test_conversation_entry_names_the_scaffolding_and_keeps_the_pairs_whole():
    pairs = [pair(1, target=None), pair(2, target="Let's look at it together.")]
    scaffolded = member(
        quality_score=3.8,
        persona_key="cautious_saver",
        persona_name="Sam Ortiz",
        emotional_arc_key="shame_to_acceptance",
        emotional_arc="Shame → Acceptance",
    )

    entry = builders.conversation_entry(scaffolded, pairs)

    assert entry == {
        "conversation_metadata": {
            "conversation_id": "4f1c2b3a-0000-4000-8000-000000000001",
            "source_file": "fp_conversation_4f1c2b3a-0000-4000-8000-000000000001.json",
            "created_date": "2025-11-30",
            "total_turns": 2,
            "quality_tier": "production",
            "scaffolding": {
                "persona_key": "cautious_saver",
                "persona_name": "Sam Ortiz",
                "emotional_arc_key": "shame_to_acceptance",
                "emotional_arc": "Shame → Acceptance",
                "training_topic_key": "",
                "training_topic": "",
            },
            "review_status": None,
        },
        "training_pairs": pairs,
    }
    assert list(entry["conversation_metadata"]) == [
        "conversation_id",
        "source_file",
        "created_date",
        "total_turns",
        "quality_tier",
        "scaffolding",
        "review_status",
    ]


def test_the_json_pieces_make_what_json_stringify_with_2_spaces_writes():
    profile = {"name": "Maya", "years_experience": 12.0}
    first = builders.conversation_entry(
        member(), builders.training_pairs({"training_pairs": [pair(1, target="a")]})
    )
    second = builders.conversation_entry(
        member(conversation_id="9"), builders.training_pairs({"training_pairs": []})
    )
    summary = Summary()
    metadata = builders.file_metadata(
        summary,
        name="March",
        created_at=CREATED,
        built_at=CREATED,
        format_spec="brightrun-lora-v4",
        target_model="claude-sonnet-4-5",
        vertical="financial_planning_consultant",
    )

    text = (
        builders.json_head(metadata, profile)
        + builders.json_conversation(first, first=True)
        + builders.json_conversation(second, first=False)
        + builders.json_tail(empty=False)
    ).decode()
    empty = (builders.json_head(metadata, profile) + builders.json_tail(empty=True)).decode()

    document = {
        "training_file_metadata": metadata,
        "consultant_profile": {"name": "Maya", "years_experience": 12},
        "conversations": [first, second],
    }
    assert text == json.dumps(document, indent=2, ensure_ascii=False)
    assert '"empathy_score": 3\n' in text
    assert empty == json.dumps({**document, "conversations": []}, indent=2, ensure_ascii=False)
    assert list(metadata) == [
        "file_name",
        "version",
        "created_date",
        "last_updated",
        "format_spec",
        "target_model",
        "vertical",
        "total_conversations",
        "total_training_pairs",
        "quality_summary",
        "scaffolding_distribution",
    ]


def test_jsonl_lines_skip_null_targets_and_suffix_the_pair_id_with_the_conversation():
    pairs = [
        pair(1, target=None),
        pair(2, target="Reply two."),
        pair(3, target=None),
        pair(4, target=""),
    ]
    del pairs[3]["emotional_context"]

    lines = list(builders.jsonl_lines(member(), pairs))

    assert [json.loads(line)["id"] for line in lines] == [
        "fp_conversation_turn2_4f1c2b3a",
        "fp_conversation_turn4_4f1c2b3a",
    ]
    first = json.loads(lines[0])
    assert list(first) == [
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
    assert first["conversation_id"] == "4f1c2b3a-0000-4000-8000-000000000001"
    assert first["target_response"] == "Reply two."
    assert first["conversation_metadata"] == pairs[1]["conversation_metadata"]
    assert "emotional_context" not in json.loads(lines[1])
    assert lines[0].decode() == json.dumps(first, separators=(",", ":"), ensure_ascii=False)


def test_jsonl_meta_line_is_the_originals():
    assert builders.jsonl_meta(name="March", total_pairs=12) == (
        b'{"_meta":{"file_name":"March","total_pairs":12,"version":"4.0.0"}}'
    )


def test_chat_messages_alternate_and_end_with_the_assistant():
    pairs = [
        pair(1, target=None),
        pair(2, target="Hello."),
        pair(3, target=None),
        pair(4, target=None),
        pair(5, target="Both answered."),
        pair(6, target=None),
    ]

    messages = builders.chat_messages(pairs, default_system_prompt="unused")

    assert messages == [
        {"role": "system", "content": "You are Maya."},
        {"role": "user", "content": "user says 1"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "user says 3\n\nuser says 4"},
        {"role": "assistant", "content": "Both answered."},
    ]


def test_chat_uses_the_default_prompt_and_skips_conversations_without_an_answer():
    pairs = [pair(1, target=None, system_prompt=""), pair(2, target="Hi.")]
    pairs[0]["system_prompt"] = ""

    line = builders.chat_line(pairs, default_system_prompt="Default prompt.")

    assert json.loads(line) == {
        "messages": [
            {"role": "system", "content": "Default prompt."},
            {"role": "user", "content": "user says 1"},
            {"role": "assistant", "content": "Hi."},
        ]
    }
    assert line.endswith(b"}\n")
    assert builders.chat_line([pair(1, target=None)], default_system_prompt="x") is None


@pytest.mark.parametrize(
    "document",
    [[], {"training_pairs": "no"}, {"training_pairs": [1]}, {"dataset_metadata": {}}],
)
def test_training_pairs_refuse_what_is_not_a_training_document(document):
    with pytest.raises(builders.MalformedDocument):
        builders.training_pairs(document)
