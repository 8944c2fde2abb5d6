import json

import pytest

from enrichment.pipeline.validate import Code, validate_conversation

VALIDATED_AT = "2026-01-15T09:30:00+00:00"


def valid_conversation() -> dict:
    return {
        "conversation_metadata": {
            "client_persona": "Priya Nair - The Late Starter",
            "session_context": "Priya inherited a small pension and does not know where to begin",
            "conversation_phase": "initial_opportunity_exploration",
            "expected_outcome": "Priya leaves with one concrete step for the pension pot",
        },
        "turns": [
            {
                "turn_number": 1,
                "role": "user",
                "content": "I got a letter about an old pension and I feel silly asking.",
                "emotional_context": {
                    "primary_emotion": "embarrassment",
                    "secondary_emotion": "confusion",
                    "intensity": 0.7,
                },
            },
            {
                "turn_number": 2,
                "role": "assistant",
                "content": "Nothing silly about it. Lots of people find these letters confusing.",
                "emotional_context": {
                    "primary_emotion": "calm",
                    "secondary_emotion": "warmth",
                    "intensity": 0.4,
                },
            },
            {
                "turn_number": 3,
                "role": "user",
                "content": "Okay. It says I can transfer it. Should I?",
                "emotional_context": {
                    "primary_emotion": "hope",
                    "secondary_emotion": "worry",
                    "intensity": 0.55,
                },
            },
            {
                "turn_number": 4,
                "role": "assistant",
                "content": "Let's first look at the fees it charges today, then decide together.",
                "emotional_context": {
                    "primary_emotion": "confidence",
                    "secondary_emotion": "care",
                    "intensity": 0.5,
                },
            },
        ],
    }


def issues(report: dict) -> list[tuple[str, str, str]]:
    return [
        (issue["code"], issue["severity"], issue["field"])
        for issue in report["blockers"] + report["warnings"]
    ]


def validate(data: object) -> dict:
    return validate_conversation(data, conversation_id="conv-1", validated_at=VALIDATED_AT)[1]


def test_validate_accepts_a_valid_conversation_without_issues():
    data = valid_conversation()

    parsed, report = validate_conversation(
        data, conversation_id="conv-1", validated_at=VALIDATED_AT
    )

    assert parsed is data
    assert report == {
        "isValid": True,
        "hasBlockers": False,
        "hasWarnings": False,
        "blockers": [],
        "warnings": [],
        "conversationId": "conv-1",
        "validatedAt": VALIDATED_AT,
        "summary": "Valid",
    }


def test_validate_parses_text_and_bytes_like_the_object():
    data = valid_conversation()
    text = json.dumps(data)

    from_text = validate_conversation(text, conversation_id="c", validated_at=VALIDATED_AT)
    from_bytes = validate_conversation(
        text.encode("utf-8"), conversation_id="c", validated_at=VALIDATED_AT
    )

    assert from_text == (data, validate(data) | {"conversationId": "c"})
    assert from_bytes == from_text


def test_validate_accepts_bytes_with_a_utf8_byte_order_mark():
    raw = b"\xef\xbb\xbf" + json.dumps(valid_conversation()).encode("utf-8")

    parsed, report = validate_conversation(raw, conversation_id="c", validated_at=VALIDATED_AT)

    assert parsed == valid_conversation()
    assert report["isValid"] is True


def test_validate_flags_truncated_text_as_invalid_json_syntax_and_stops():
    text = json.dumps(valid_conversation(), indent=2)[:-120]

    parsed, report = validate_conversation(text, conversation_id="c", validated_at=VALIDATED_AT)

    assert parsed is None
    assert issues(report) == [(Code.INVALID_JSON_SYNTAX, "blocker", "$")]
    assert report["isValid"] is False
    assert report["hasBlockers"] is True
    assert report["summary"].startswith("Invalid JSON: ")
    assert report["summary"] == report["blockers"][0]["message"]


def test_validate_flags_bytes_that_are_not_utf8_as_invalid_json_syntax():
    raw = json.dumps(valid_conversation()).encode("utf-16")

    parsed, report = validate_conversation(raw, conversation_id="c", validated_at=VALIDATED_AT)

    assert parsed is None
    assert issues(report) == [(Code.INVALID_JSON_SYNTAX, "blocker", "$")]
    assert report["summary"].startswith("Invalid JSON: not UTF-8 text")


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_validate_rejects_non_finite_numbers_as_invalid_json_syntax(number):
    text = json.dumps(valid_conversation()).replace('"intensity": 0.7', f'"intensity": {number}')

    parsed, report = validate_conversation(text, conversation_id="c", validated_at=VALIDATED_AT)

    assert parsed is None
    assert issues(report) == [(Code.INVALID_JSON_SYNTAX, "blocker", "$")]


def test_validate_flags_a_top_level_array_as_missing_metadata_and_turns():
    parsed, report = validate_conversation("[1, 2]", conversation_id="c", validated_at=VALIDATED_AT)

    assert parsed is None
    assert issues(report) == [
        (Code.MISSING_CONVERSATION_METADATA, "blocker", "$"),
        (Code.MISSING_TURNS_ARRAY, "blocker", "$"),
    ]
    assert report["summary"] == "2 blockers"


def test_validate_flags_missing_conversation_metadata():
    data = valid_conversation()
    del data["conversation_metadata"]

    assert issues(validate(data)) == [
        (Code.MISSING_CONVERSATION_METADATA, "blocker", "conversation_metadata")
    ]


def test_validate_flags_conversation_metadata_that_is_not_an_object():
    data = valid_conversation()
    data["conversation_metadata"] = ["client"]

    assert issues(validate(data)) == [
        (Code.MISSING_CONVERSATION_METADATA, "blocker", "conversation_metadata")
    ]


def test_validate_flags_missing_turns_array():
    data = valid_conversation()
    data["turns"] = {"0": data["turns"][0]}

    assert issues(validate(data)) == [(Code.MISSING_TURNS_ARRAY, "blocker", "turns")]


def test_validate_flags_insufficient_turns_and_skips_per_turn_checks():
    data = valid_conversation()
    data["turns"] = [{"role": "narrator"}]

    assert issues(validate(data)) == [(Code.INSUFFICIENT_TURNS, "blocker", "turns")]


def test_validate_flags_blank_client_persona():
    data = valid_conversation()
    data["conversation_metadata"]["client_persona"] = "   "

    assert issues(validate(data)) == [
        (Code.MISSING_CLIENT_PERSONA, "blocker", "conversation_metadata.client_persona")
    ]


def test_validate_flags_session_context_that_is_not_a_string():
    data = valid_conversation()
    data["conversation_metadata"]["session_context"] = 42

    assert issues(validate(data)) == [
        (Code.MISSING_SESSION_CONTEXT, "blocker", "conversation_metadata.session_context")
    ]


def test_validate_flags_missing_conversation_phase():
    data = valid_conversation()
    del data["conversation_metadata"]["conversation_phase"]

    assert issues(validate(data)) == [
        (Code.MISSING_CONVERSATION_PHASE, "blocker", "conversation_metadata.conversation_phase")
    ]


def test_validate_flags_turn_number_that_is_not_a_number():
    data = valid_conversation()
    data["turns"][1]["turn_number"] = "2"

    assert issues(validate(data)) == [(Code.INVALID_TURN_NUMBER, "blocker", "turns[1].turn_number")]


def test_validate_flags_boolean_turn_number_as_not_a_number():
    data = valid_conversation()
    data["turns"][0]["turn_number"] = True

    assert issues(validate(data)) == [(Code.INVALID_TURN_NUMBER, "blocker", "turns[0].turn_number")]


def test_validate_flags_role_that_is_not_exactly_user_or_assistant():
    data = valid_conversation()
    data["turns"][1]["role"] = "Assistant"

    assert issues(validate(data)) == [(Code.INVALID_ROLE, "blocker", "turns[1].role")]


def test_validate_flags_blank_content():
    data = valid_conversation()
    data["turns"][2]["content"] = " \n "

    assert issues(validate(data)) == [(Code.MISSING_CONTENT, "blocker", "turns[2].content")]


def test_validate_flags_emotional_context_that_is_not_an_object_and_skips_its_checks():
    data = valid_conversation()
    data["turns"][3]["emotional_context"] = "calm"

    assert issues(validate(data)) == [
        (Code.MISSING_EMOTIONAL_CONTEXT, "blocker", "turns[3].emotional_context")
    ]


def test_validate_flags_missing_primary_emotion():
    data = valid_conversation()
    del data["turns"][0]["emotional_context"]["primary_emotion"]

    assert issues(validate(data)) == [
        (Code.MISSING_PRIMARY_EMOTION, "blocker", "turns[0].emotional_context.primary_emotion")
    ]


def test_validate_flags_intensity_that_is_not_a_number():
    data = valid_conversation()
    data["turns"][1]["emotional_context"]["intensity"] = "0.4"

    assert issues(validate(data)) == [
        (Code.MISSING_INTENSITY, "blocker", "turns[1].emotional_context.intensity")
    ]


def test_validate_flags_intensity_out_of_range_with_field_path():
    data = valid_conversation()
    data["turns"][2]["emotional_context"]["intensity"] = 1.2

    report = validate(data)

    assert report["blockers"] == [
        {
            "code": "INTENSITY_OUT_OF_RANGE",
            "severity": "blocker",
            "field": "turns[2].emotional_context.intensity",
            "message": "turns[2].emotional_context.intensity is 1.2; it must be between 0 and 1.",
            "suggestion": "Scale the intensity to the range 0 to 1.",
        }
    ]
    assert report["warnings"] == []
    assert report["isValid"] is False
    assert report["summary"] == "1 blocker"


def test_validate_flags_negative_intensity_as_out_of_range():
    data = valid_conversation()
    data["turns"][0]["emotional_context"]["intensity"] = -0.1

    assert issues(validate(data)) == [
        (Code.INTENSITY_OUT_OF_RANGE, "blocker", "turns[0].emotional_context.intensity")
    ]


def test_validate_warns_about_missing_expected_outcome():
    data = valid_conversation()
    del data["conversation_metadata"]["expected_outcome"]

    report = validate(data)

    assert issues(report) == [
        (Code.MISSING_EXPECTED_OUTCOME, "warning", "conversation_metadata.expected_outcome")
    ]
    assert report["isValid"] is True
    assert report["hasWarnings"] is True
    assert report["summary"] == "Valid with 1 warning"


def test_validate_warns_about_turn_number_mismatch():
    data = valid_conversation()
    data["turns"][2]["turn_number"] = 7

    assert issues(validate(data)) == [
        (Code.TURN_NUMBER_MISMATCH, "warning", "turns[2].turn_number")
    ]


def test_validate_warns_about_roles_not_alternating():
    data = valid_conversation()
    data["turns"][3]["role"] = "user"

    assert issues(validate(data)) == [(Code.ROLE_NOT_ALTERNATING, "warning", "turns[3].role")]


def test_validate_warns_about_short_content_after_trimming():
    data = valid_conversation()
    data["turns"][2]["content"] = "   Thanks!   "

    assert issues(validate(data)) == [(Code.SHORT_CONTENT, "warning", "turns[2].content")]


def test_validate_warns_about_extreme_intensity():
    data = valid_conversation()
    data["turns"][1]["emotional_context"]["intensity"] = 1
    data["turns"][3]["emotional_context"]["intensity"] = 0.0

    assert issues(validate(data)) == [
        (Code.EXTREME_INTENSITY, "warning", "turns[1].emotional_context.intensity"),
        (Code.EXTREME_INTENSITY, "warning", "turns[3].emotional_context.intensity"),
    ]


def test_validate_warns_about_missing_secondary_emotion():
    data = valid_conversation()
    data["turns"][3]["emotional_context"]["secondary_emotion"] = ""

    assert issues(validate(data)) == [
        (Code.MISSING_SECONDARY_EMOTION, "warning", "turns[3].emotional_context.secondary_emotion")
    ]


def test_validate_checks_a_turn_that_is_not_an_object_field_by_field():
    data = valid_conversation()
    data["turns"][1] = "assistant: hello"

    assert issues(validate(data)) == [
        (Code.INVALID_TURN_NUMBER, "blocker", "turns[1].turn_number"),
        (Code.INVALID_ROLE, "blocker", "turns[1].role"),
        (Code.MISSING_CONTENT, "blocker", "turns[1].content"),
        (Code.MISSING_EMOTIONAL_CONTEXT, "blocker", "turns[1].emotional_context"),
    ]


def test_validate_summarises_blockers_and_warnings_together():
    data = valid_conversation()
    data["conversation_metadata"]["client_persona"] = None
    data["turns"][0]["content"] = ""
    data["turns"][1]["emotional_context"]["intensity"] = 3
    data["turns"][2]["turn_number"] = 9

    report = validate(data)

    assert report["summary"] == "3 blockers, 1 warning"
    assert (report["isValid"], report["hasBlockers"], report["hasWarnings"]) == (
        False,
        True,
        True,
    )
