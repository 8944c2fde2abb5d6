"""The shared reference data through the real imports and the runner (skips without it)."""

import json
import uuid
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.management import call_command

from conversations.models import Conversation, EnrichmentStatus
from enrichment.pipeline.inputs import _load_profile
from enrichment.pipeline.run import enrich_conversations

pytestmark = pytest.mark.django_db

IGNORED_PAIR_KEYS = {"quality_criteria", "key_learning_objective"}


@pytest.fixture
def reference_profile(shared_data, tmp_path, settings):
    """The original's consultant profile and prompt, taken from its enriched file."""
    enriched = json.loads(
        (shared_data / "conversations/enriched/shame-to-acceptance-529.enriched.json").read_text()
    )
    meta = enriched["dataset_metadata"]
    profile = {
        "consultant_profile": enriched["consultant_profile"],
        "system_prompt": enriched["training_pairs"][0]["system_prompt"],
        "dataset_metadata": {
            key: meta[key]
            for key in ("vertical", "consultant_persona", "target_use", "conversation_source")
        },
    }
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile))
    settings.ENRICHMENT_PROFILE = path
    _load_profile.cache_clear()
    return enriched


def import_files(shared_data, *names):
    owner = get_user_model().objects.create_user("importer")
    call_command(
        "import_scaffolding", *sorted((shared_data / "scaffolding").glob("*.ndjson")), stdout=None
    )
    paths = [shared_data / "conversations/raw" / name for name in names]
    call_command("import_conversations", *paths, "--owner", owner.username, stdout=None)
    return list(Conversation.objects.order_by("batch_items__position"))


def strip_ignored(pairs: list[dict]) -> list[dict]:
    out = []
    for pair in pairs:
        pair = json.loads(json.dumps(pair))
        for key in IGNORED_PAIR_KEYS:
            pair["training_metadata"].pop(key)
        out.append(pair)
    return out


def test_parsed_529_reproduces_the_original_enriched_file(shared_data, reference_profile):
    [conversation] = import_files(shared_data, "shame-to-acceptance-529.parsed.json")
    expected = reference_profile
    # Same business id and creation date as the original row, so every field can match.
    business_id = expected["dataset_metadata"]["dataset_name"].removeprefix("fp_conversation_")
    Conversation.objects.filter(pk=conversation.pk).update(
        conversation_id=uuid.UUID(business_id),
        created_at=datetime.fromisoformat(expected["dataset_metadata"]["created_date"]).replace(
            tzinfo=UTC, hour=12
        ),
    )

    [outcome] = enrich_conversations([conversation.pk])

    conversation.refresh_from_db()
    assert outcome.status == "enriched", outcome.error
    assert conversation.template.name == "Template - Shame → Acceptance - Financial Trauma"
    produced = json.loads(default_storage.open(conversation.enriched_file_path).read())
    assert list(produced) == list(expected)
    assert produced["dataset_metadata"] == expected["dataset_metadata"]
    assert produced["consultant_profile"] == expected["consultant_profile"]
    assert produced["input_parameters"] == expected["input_parameters"]
    assert [list(p) for p in produced["training_pairs"]] == [
        list(p) for p in expected["training_pairs"]
    ]
    assert strip_ignored(produced["training_pairs"]) == strip_ignored(expected["training_pairs"])
    assert {
        p["training_metadata"]["key_learning_objective"] for p in produced["training_pairs"]
    } == {"grandparent_529"}


def test_the_truncated_file_is_kept_and_fails_validation(shared_data):
    [conversation] = import_files(shared_data, "truncated-credit-card-debt.json")
    original = (shared_data / "conversations/raw/truncated-credit-card-debt.json").read_bytes()

    [outcome] = enrich_conversations([conversation.pk])

    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.VALIDATION_FAILED
    assert [b["code"] for b in conversation.validation_report["blockers"]] == [
        "INVALID_JSON_SYNTAX"
    ]
    assert outcome.error_category == "validation"
    assert default_storage.open(conversation.raw_response_path).read() == original


def test_every_shared_conversation_enriches_or_fails_by_name(shared_data):
    conversations = import_files(
        shared_data,
        "hsa-vs-fsa-no-scaffolding.json",
        "shame-to-acceptance-529.json",
        "shame-to-acceptance-529.parsed.json",
        "truncated-credit-card-debt.json",
    )

    outcomes = enrich_conversations([c.pk for c in conversations])

    assert [o.enrichment_status for o in outcomes] == [
        "completed",
        "completed",
        "completed",
        "validation_failed",
    ]
