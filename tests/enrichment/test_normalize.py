import json
import pickle
from collections import OrderedDict
from enum import IntEnum, StrEnum

import pytest

from enrichment.pipeline import normalize
from enrichment.pipeline.normalize import NormalizationError, normalize_document


def document(**changes: object) -> dict:
    """A small enriched document, padded past the 1,000-byte size warning."""
    base = {
        "dataset_metadata": {"dataset_name": "fp_conversation_test", "total_turns": 2},
        "consultant_profile": {"name": "Test Consultant"},
        "training_pairs": [
            {"id": "fp_conversation_turn1", "current_user_input": "Hello there " * 40},
            {"id": "fp_conversation_turn2", "target_response": "Welcome back " * 40},
        ],
    }
    return base | changes


def test_normalize_writes_indented_utf8_json_with_a_trailing_newline():
    doc = document(notes="Café → plan")

    content, report = normalize_document(doc)

    assert content == (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    assert "Café → plan".encode() in content
    assert report == {
        "fixes": {"controlCharactersRemoved": 0, "stringsNfcNormalized": 0},
        "warnings": [],
        "errors": [],
        "sizeBytes": len(content),
    }


def test_normalize_applies_nfc_to_values_and_keys():
    doc = document(notes="Cafe\u0301", extra={"re\u0301sume\u0301": ["nai\u0308ve", "ok"]})

    content, report = normalize_document(doc)

    parsed = json.loads(content)
    assert parsed["notes"] == "Caf\u00e9"
    assert parsed["extra"] == {"r\u00e9sum\u00e9": ["na\u00efve", "ok"]}
    assert report["fixes"] == {"controlCharactersRemoved": 0, "stringsNfcNormalized": 3}


def test_normalize_strips_control_characters_but_keeps_tab_lf_and_cr():
    doc = document(notes="a\x00b\x07c\td\ne\rf\x1b\x7fg", **{"k\x01ey": "v"})

    content, report = normalize_document(doc)

    parsed = json.loads(content)
    assert parsed["notes"] == "abc\td\ne\rfg"
    assert parsed["key"] == "v"
    assert report["fixes"] == {"controlCharactersRemoved": 5, "stringsNfcNormalized": 0}


def test_normalize_strips_control_characters_before_composing():
    content, report = normalize_document(document(notes="e\x00\u0301"))

    assert json.loads(content)["notes"] == "\u00e9"
    assert report["fixes"] == {"controlCharactersRemoved": 1, "stringsNfcNormalized": 1}


def test_normalize_counts_each_occurrence_of_a_repeated_string():
    text = "Cafe\u0301\x00"

    _, report = normalize_document(document(history=[text, text, text]))

    assert report["fixes"] == {"controlCharactersRemoved": 3, "stringsNfcNormalized": 3}


def test_normalize_is_byte_stable_and_idempotent():
    doc = document(notes="Cafe\u0301\x00", numbers=[1, 2.5, -0.0, 10**15, True, None])

    first, _ = normalize_document(doc)
    second, _ = normalize_document(json.loads(json.dumps(doc)))
    again, report = normalize_document(json.loads(first))

    assert first == second == again
    assert report["fixes"] == {"controlCharactersRemoved": 0, "stringsNfcNormalized": 0}


def test_normalize_writes_exactly_what_json_dumps_writes():
    class Tone(StrEnum):
        WARM = "warm"

    class Level(IntEnum):
        HIGH = 3

    doc = document(
        empty_object={},
        empty_list=[],
        nested=[[], {}, [{"a": [1, [2, {}]]}]],
        floats=[0.1, 0.85, 3.0, -2.5, 123456.789],
        escapes='quote " backslash \\ slash / newline \n tab \t unicode \u2028 é 😀',
        enum_values=[Tone.WARM, Level.HIGH],
        ordered=OrderedDict([("z", 1), ("a", 2)]),
        as_tuple=("x", 1),
    )

    content, _ = normalize_document(doc)

    assert content == (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def test_normalize_warns_about_a_document_under_1000_bytes():
    doc = {"dataset_metadata": {}, "consultant_profile": {}, "training_pairs": [{"id": "x"}]}

    content, report = normalize_document(doc)

    assert report["warnings"] == [
        {
            "code": "DOCUMENT_TOO_SMALL",
            "message": (
                f"The document is only {len(content)} bytes; real enriched files are 15-130 KB."
            ),
        }
    ]
    assert report["sizeBytes"] == len(content)


def test_normalize_warns_about_empty_pairs_and_missing_consultant_profile():
    doc = document(training_pairs=[], padding="x" * 1000)
    del doc["consultant_profile"]

    _, report = normalize_document(doc)

    assert [warning["code"] for warning in report["warnings"]] == [
        "EMPTY_TRAINING_PAIRS",
        "MISSING_CONSULTANT_PROFILE",
    ]
    assert report["errors"] == []


def test_normalize_rejects_a_document_without_dataset_metadata():
    doc = document()
    del doc["dataset_metadata"]

    with pytest.raises(NormalizationError) as raised:
        normalize_document(doc)

    assert raised.value.report["errors"] == [
        {
            "code": "MISSING_DATASET_METADATA",
            "message": "dataset_metadata is missing or not an object.",
        }
    ]
    assert str(raised.value) == "dataset_metadata is missing or not an object."


def test_normalize_rejects_training_pairs_that_are_not_an_array():
    with pytest.raises(NormalizationError) as raised:
        normalize_document(document(training_pairs={"0": {}}))

    assert [error["code"] for error in raised.value.report["errors"]] == ["MISSING_TRAINING_PAIRS"]


def test_normalize_rejects_something_that_is_not_an_object():
    with pytest.raises(NormalizationError) as raised:
        normalize_document([document()])

    assert [error["code"] for error in raised.value.report["errors"]] == ["NOT_AN_OBJECT"]


@pytest.mark.parametrize(
    "bad_value",
    [{1: "int key"}, object(), "\ud800", {"e\u0301": 1, "\u00e9": 2}, 2**64],
    ids=["non-string-key", "object", "lone-surrogate", "colliding-keys", "int-over-64-bits"],
)
def test_normalize_rejects_values_json_cannot_hold(bad_value):
    with pytest.raises(NormalizationError) as raised:
        normalize_document(document(bad=bad_value))

    report = raised.value.report
    assert [error["code"] for error in report["errors"]] == ["NOT_SERIALIZABLE"]
    assert report["sizeBytes"] == 0


def test_normalize_writes_exponent_floats_in_shortest_form():
    content, _ = normalize_document(document(floats=[1e-07, 1e16]))

    assert b'"floats": [\n    1e-7,\n    1e+16\n  ]' in content


def test_normalize_writes_non_finite_numbers_as_null_like_json_stringify():
    # Validation rejects them, so they never reach this stage from a conversation.
    content, report = normalize_document(document(bad=[float("nan"), float("inf")]))

    assert json.loads(content)["bad"] == [None, None]
    assert report["errors"] == []


def test_normalization_error_keeps_its_report_when_pickled():
    error = NormalizationError("x is broken", {"errors": [{"code": "X"}]})

    restored = pickle.loads(pickle.dumps(error))

    assert (str(restored), restored.report) == (str(error), error.report)
    assert isinstance(restored, ValueError)


def test_normalize_rejects_a_document_over_the_size_limit(monkeypatch):
    # Lowering the limit stands in for writing 100 MiB in a unit test.
    monkeypatch.setattr(normalize, "MAX_SIZE_BYTES", 1_500)

    with pytest.raises(NormalizationError) as raised:
        normalize_document(document(padding="x" * 2_000))

    report = raised.value.report
    assert [error["code"] for error in report["errors"]] == ["DOCUMENT_TOO_LARGE"]
    assert report["sizeBytes"] > 1_500


def test_normalize_keeps_text_that_only_looks_like_an_escaped_control_character():
    content, report = normalize_document(document(notes="C:\\bin\\files and \\u0007 typed out"))

    assert json.loads(content)["notes"] == "C:\\bin\\files and \\u0007 typed out"
    assert report["fixes"] == {"controlCharactersRemoved": 0, "stringsNfcNormalized": 0}
