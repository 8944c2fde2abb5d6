"""The pipeline against the original system's exported data (skipped when it is absent)."""

import json
from pathlib import Path

import pytest

from enrichment.pipeline.enrich import EnrichmentContext, enrich_conversation
from enrichment.pipeline.normalize import normalize_document
from enrichment.pipeline.profile import DATASET_METADATA_KEYS, DEFAULT_PROFILE, Profile
from enrichment.pipeline.validate import Code, validate_conversation
from tests.conftest import SHARED_DATA as DATA
from tests.conftest import needs_shared_data

RAW = DATA / "conversations" / "raw"
ENRICHED = DATA / "conversations" / "enriched"

pytestmark = needs_shared_data

# Random jitter in the original; the old bug (template's first topic) in the original.
NOT_REPRODUCED = ("quality_criteria", "key_learning_objective")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def scaffolding(name: str) -> list[dict]:
    lines = (DATA / "scaffolding" / f"{name}.ndjson").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def find(rows: list[dict], key: str, value: str) -> dict:
    return next(row for row in rows if row[key] == value)


def profile_of(enriched: dict) -> Profile:
    return Profile(
        consultant_profile=enriched["consultant_profile"],
        system_prompt=enriched["training_pairs"][0]["system_prompt"],
        dataset_metadata={key: enriched["dataset_metadata"][key] for key in DATASET_METADATA_KEYS},
    )


def context_for(parsed: dict, reference: dict) -> EnrichmentContext:
    params = parsed["input_parameters"]
    arc_key = params["emotional_arc_key"]
    return EnrichmentContext(
        conversation_id=reference["dataset_metadata"]["dataset_name"].removeprefix(
            "fp_conversation_"
        ),
        created_date=reference["dataset_metadata"]["created_date"],
        quality_score=None,
        persona=find(scaffolding("personas"), "persona_key", params["persona_key"]),
        emotional_arc=find(scaffolding("emotional_arcs"), "arc_key", arc_key),
        training_topic=find(
            scaffolding("training_topics"), "topic_key", params["training_topic_key"]
        ),
        template=find(scaffolding("prompt_templates"), "emotional_arc_type", arc_key),
        profile=profile_of(reference),
    )


def without_unreproducible(enriched: dict) -> dict:
    copy = json.loads(json.dumps(enriched))
    for pair in copy["training_pairs"]:
        for key in NOT_REPRODUCED:
            del pair["training_metadata"][key]
    return copy


def key_orders(value: object, path: str = "$") -> list[tuple[str, list]]:
    """Every object's path and key order, to compare documents including key order."""
    if isinstance(value, dict):
        orders = [(path, list(value))]
        for key, item in value.items():
            orders += key_orders(item, f"{path}.{key}")
        return orders
    if isinstance(value, list):
        return [order for i, item in enumerate(value) for order in key_orders(item, f"{path}[{i}]")]
    return []


@pytest.fixture(scope="module")
def shame_529() -> tuple[dict, dict]:
    parsed = read_json(RAW / "shame-to-acceptance-529.parsed.json")
    reference = read_json(ENRICHED / "shame-to-acceptance-529.enriched.json")
    return parsed, reference


def test_enrich_reproduces_the_original_529_output_field_for_field(shame_529):
    parsed, reference = shame_529

    enriched = enrich_conversation(parsed, context_for(parsed, reference))

    ours, theirs = without_unreproducible(enriched), without_unreproducible(reference)
    assert key_orders(ours) == key_orders(theirs)
    assert ours == theirs


def test_enrich_529_uses_the_corrected_objective_and_deterministic_criteria(shame_529):
    parsed, reference = shame_529

    enriched = enrich_conversation(parsed, context_for(parsed, reference))

    for pair in enriched["training_pairs"]:
        assert pair["training_metadata"]["key_learning_objective"] == "grandparent_529"
        assert set(pair["training_metadata"]["quality_criteria"].values()) == {3.0}


def test_normalize_stores_the_529_enrichment_unchanged_in_content(shame_529):
    parsed, reference = shame_529
    enriched = enrich_conversation(parsed, context_for(parsed, reference))

    content, report = normalize_document(enriched)

    assert json.loads(content) == enriched
    assert report == {
        "fixes": {"controlCharactersRemoved": 0, "stringsNfcNormalized": 0},
        "warnings": [],
        "errors": [],
        "sizeBytes": len(content),
    }


def test_validate_accepts_every_raw_file_except_the_truncated_one():
    reports = {
        path.name: validate_conversation(
            path.read_bytes(), conversation_id=path.stem, validated_at="2026-01-15T00:00:00Z"
        )[1]
        for path in sorted(RAW.glob("*.json"))
    }

    truncated = reports.pop("truncated-credit-card-debt.json")
    assert [issue["code"] for issue in truncated["blockers"]] == [Code.INVALID_JSON_SYNTAX]
    assert truncated["warnings"] == []
    assert reports and all(report["summary"] == "Valid" for report in reports.values())


def test_enrich_a_conversation_without_scaffolding_uses_the_generic_derivations():
    parsed = read_json(RAW / "hsa-vs-fsa-no-scaffolding.json")
    context = EnrichmentContext(
        conversation_id="00000000-0000-4000-8000-000000000001",
        created_date="2026-01-15",
        quality_score=None,
        persona=None,
        emotional_arc=None,
        training_topic=None,
        template=None,
        profile=DEFAULT_PROFILE,
    )

    enriched = enrich_conversation(parsed, context)
    content, report = normalize_document(enriched)

    client_persona = parsed["conversation_metadata"]["client_persona"]
    first = enriched["training_pairs"][0]
    assert list(enriched) == ["dataset_metadata", "consultant_profile", "training_pairs"]
    assert [pair["id"] for pair in enriched["training_pairs"]] == [
        f"fp_conversation_turn{n}" for n in range(1, 9)
    ]
    assert first["conversation_metadata"]["client_background"] == (
        f"Client profile: {client_persona}"
    )
    assert first["training_metadata"]["key_learning_objective"] == (
        "Provide emotionally intelligent financial guidance"
    )
    assert enriched["dataset_metadata"]["notes"] == "Generated via template: unknown"
    assert report["warnings"] == []


def test_our_pairs_have_the_structure_of_the_original_eldercare_output(shame_529):
    parsed, reference = shame_529
    eldercare = read_json(ENRICHED / "fear-to-confidence-eldercare.enriched.json")
    ours = enrich_conversation(parsed, context_for(parsed, reference))

    assert list(ours) == list(eldercare)
    assert list(ours["dataset_metadata"]) == list(eldercare["dataset_metadata"])
    for ours_pair, their_pair in zip(
        ours["training_pairs"], eldercare["training_pairs"][:5], strict=True
    ):
        assert shape(ours_pair) == shape(their_pair)


def shape(pair: dict) -> list[list[str]]:
    return [
        list(pair),
        list(pair["conversation_metadata"]),
        list(pair["emotional_context"]["detected_emotions"]),
        list(pair["training_metadata"]),
        [list(entry) for entry in pair["conversation_history"]],
    ]


def test_normalize_keeps_the_original_eldercare_output_intact():
    path = ENRICHED / "fear-to-confidence-eldercare.enriched.json"
    original = read_json(path)

    content, report = normalize_document(original)

    assert json.loads(content) == original
    assert content.decode("utf-8").rstrip("\n") == path.read_text(encoding="utf-8").rstrip("\n")
    assert report["warnings"] == []
