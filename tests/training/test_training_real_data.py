"""Training files of the shared sample (imported and enriched for real; skips without the
shared data) asserted field by field in all three formats, and of the demo data."""

import json
from collections import Counter
from io import StringIO

import pytest
from rest_framework.test import APIClient

from conversations.models import Conversation, EnrichmentStatus
from devtools.demo.seed import seed_demo
from enrichment.pipeline.inputs import _load_profile, current_profile
from enrichment.pipeline.run import enrich_conversations
from tests.factories import PersonaFactory, enriched_conversation
from tests.training.helpers import enrich, stored
from training import services
from training.builders import iso_timestamp
from training.eligibility import NotEligible, select_ids
from training.models import TrainingFile

pytestmark = pytest.mark.django_db


@pytest.fixture
def four_tiers(shared_sample, owner) -> list[Conversation]:
    """The two enrichable sample conversations plus two of ours, one per quality tier, in
    the order they go into the file."""
    scored = shared_sample["shame-to-acceptance-529.parsed.json"]
    unscored = shared_sample["hsa-vs-fsa-no-scaffolding.json"]
    Conversation.objects.filter(pk=scored.pk).update(quality_score=4.5)
    enrich(scored, unscored, shared_sample["truncated-credit-card-debt.json"])
    production = enriched_conversation(
        created_by=owner, quality_score=3.5, persona=PersonaFactory(persona_key="careful_builder")
    )
    rejected = enriched_conversation(created_by=owner, quality_score=2.0)
    return [scored, production, unscored, rejected]


def build(conversations, owner, name="March fine-tune"):
    selection = select_ids([str(c.conversation_id) for c in conversations], user=owner)
    change = services.create_training_file(name=name, user=owner, selection=selection)
    training_file = change.training_file
    training_file.refresh_from_db()
    return training_file


def enriched_pairs(conversation: Conversation) -> list[dict]:
    return json.loads(stored(conversation.enriched_file_path))["training_pairs"]


def test_the_truncated_sample_is_refused_with_its_reason(shared_sample, owner):
    enrich(*shared_sample.values())
    truncated = shared_sample["truncated-credit-card-debt.json"]

    with pytest.raises(NotEligible) as refused:
        select_ids([str(c.pk) for c in shared_sample.values()], user=owner)

    [item] = refused.value.ineligible
    assert item.conversation_id == truncated.conversation_id
    assert item.sent_id == str(truncated.pk)
    assert item.enrichment_status == EnrichmentStatus.VALIDATION_FAILED
    assert item.reason == "not_completed"
    assert item.message == "Its enrichment is not completed (status: validation failed)."


def test_the_json_file_is_the_originals_full_file(four_tiers, owner):
    training_file = build(four_tiers, owner)

    text = stored(training_file.json_file_path).decode()
    document = json.loads(text)

    # Exactly JSON.stringify(document, null, 2): 2 spaces, ", " and ": ", no trailing
    # newline, integral numbers without ".0".
    assert text == json.dumps(document, indent=2, ensure_ascii=False)
    assert ".0," not in text and ".0\n" not in text
    assert list(document) == ["training_file_metadata", "consultant_profile", "conversations"]
    assert document["training_file_metadata"] == {
        "file_name": "March fine-tune",
        "version": "4.0.0",
        "created_date": iso_timestamp(training_file.created_at),
        "last_updated": iso_timestamp(training_file.last_updated_at),
        "format_spec": "brightrun-lora-v4",
        "target_model": "claude-sonnet-4-5",
        "vertical": "financial_planning_consultant",
        "total_conversations": 4,
        "total_training_pairs": 5 + 4 + 8 + 4,
        "quality_summary": {
            # 4.5 and 3.5 (conversation scores), eight pair scores of 3 (unscored), 2.0
            "avg_quality_score": (4.5 + 3.5 + 8 * 3 + 2.0) / 11,
            "min_quality_score": 2,
            "max_quality_score": 4.5,
            "human_reviewed_count": 0,
            "human_reviewed_percentage": 0,
        },
        "scaffolding_distribution": {
            "personas": {"pragmatic_optimist": 1, "careful_builder": 1},
            "emotional_arcs": {"shame_to_acceptance": 1},
            "training_topics": {"grandparent_529": 1},
        },
    }
    assert document["training_file_metadata"]["last_updated"].endswith("Z")
    assert len(document["training_file_metadata"]["last_updated"]) == len(
        "2025-11-30T12:00:00.000Z"
    )
    assert document["consultant_profile"] == current_profile().consultant_profile
    tiers = [c["conversation_metadata"]["quality_tier"] for c in document["conversations"]]
    assert tiers == ["seed_dataset", "production", "experimental", "rejected"]
    for entry, conversation in zip(document["conversations"], four_tiers, strict=True):
        business_id = str(conversation.conversation_id)
        metadata = entry["conversation_metadata"]
        assert metadata["conversation_id"] == business_id
        assert metadata["source_file"] == f"fp_conversation_{business_id}.json"
        assert metadata["created_date"] == conversation.created_at.date().isoformat()
        assert metadata["total_turns"] == len(enriched_pairs(conversation))
        assert entry["training_pairs"] == enriched_pairs(conversation)
    scored, production, unscored, _ = document["conversations"]
    assert scored["conversation_metadata"]["scaffolding"] == {
        "persona_key": "pragmatic_optimist",
        "persona_name": four_tiers[0].persona.name,
        "emotional_arc_key": "shame_to_acceptance",
        "emotional_arc": "Shame → Acceptance",
        "training_topic_key": "grandparent_529",
        "training_topic": "Grandparent 529 Contributions",
    }
    assert production["conversation_metadata"]["scaffolding"]["persona_key"] == "careful_builder"
    assert unscored["conversation_metadata"]["scaffolding"] == dict.fromkeys(
        scored["conversation_metadata"]["scaffolding"], ""
    )


def test_the_row_records_what_the_files_hold(four_tiers, owner):
    training_file = build(four_tiers, owner)

    assert training_file.status == "active"
    assert training_file.error == ""
    assert training_file.conversation_count == 4
    assert training_file.total_training_pairs == 21
    assert training_file.avg_quality_score == (4.5 + 3.5 + 8 * 3 + 2.0) / 11
    assert training_file.min_quality_score == 2
    assert training_file.max_quality_score == 4.5
    assert training_file.human_reviewed_count == 0
    assert training_file.scaffolding_distribution == {
        "personas": {"pragmatic_optimist": 1, "careful_builder": 1},
        "emotional_arcs": {"shame_to_acceptance": 1},
        "training_topics": {"grandparent_529": 1},
    }
    for path, size in (
        (training_file.json_file_path, training_file.json_file_size),
        (training_file.jsonl_file_path, training_file.jsonl_file_size),
        (training_file.chat_jsonl_file_path, training_file.chat_jsonl_file_size),
    ):
        assert path.startswith(f"training-files/{training_file.pk}/")
        assert len(stored(path)) == size
    assert list(training_file.memberships.values_list("conversation_id", flat=True)) == [
        c.conversation_id for c in four_tiers
    ]


def test_the_jsonl_file_is_the_originals_pairs_file(four_tiers, owner):
    training_file = build(four_tiers, owner)

    text = stored(training_file.jsonl_file_path).decode()
    meta, *lines = text.split("\n")

    assert not text.endswith("\n")
    assert meta == '{"_meta":{"file_name":"March fine-tune","total_pairs":21,"version":"4.0.0"}}'
    expected = []
    for conversation in four_tiers:
        short = str(conversation.conversation_id)[:8]
        for pair in enriched_pairs(conversation):
            if pair["target_response"] is not None:
                expected.append((f"{pair['id']}_{short}", conversation, pair))
    # The user turns (null target) are skipped: 2 + 2 + 4 + 2 of 21 pairs remain.
    assert len(lines) == len(expected) == 10
    for line, (line_id, conversation, pair) in zip(lines, expected, strict=True):
        row = json.loads(line)
        assert line == json.dumps(row, separators=(",", ":"), ensure_ascii=False)
        assert row == {
            "id": line_id,
            "conversation_id": str(conversation.conversation_id),
            "turn_number": pair["turn_number"],
            "conversation_metadata": pair["conversation_metadata"],
            "system_prompt": pair["system_prompt"],
            "conversation_history": pair["conversation_history"],
            "current_user_input": pair["current_user_input"],
            "emotional_context": pair["emotional_context"],
            "target_response": pair["target_response"],
            "training_metadata": pair["training_metadata"],
        }
        assert list(row)[:3] == ["id", "conversation_id", "turn_number"]
    # The 529 conversation's template category names its pairs.
    assert [row[0] for row in expected[:2]] == [
        f"therapeutic_turn2_{str(four_tiers[0].conversation_id)[:8]}",
        f"therapeutic_turn4_{str(four_tiers[0].conversation_id)[:8]}",
    ]


def test_the_chat_file_loads_in_hugging_face_datasets(four_tiers, owner, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    from datasets import load_dataset

    training_file = build(four_tiers, owner)
    path = tmp_path / "train.jsonl"
    path.write_bytes(stored(training_file.chat_jsonl_file_path))

    rows = load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))

    assert rows.num_rows == 4
    assert rows.column_names == ["messages"]
    sample = json.loads((four_tiers[0].file_path and stored(four_tiers[0].file_path)).decode())
    first = rows[0]["messages"]
    # The 529 conversation: system, then user/assistant twice; its last (user) turn is
    # dropped so that the example ends with the assistant.
    assert [m["role"] for m in first] == ["system", "user", "assistant", "user", "assistant"]
    assert [m["content"] for m in first[1:]] == [t["content"] for t in sample["turns"][:4]]
    assert first[0]["content"] == enriched_pairs(four_tiers[0])[0]["system_prompt"]
    for messages in rows["messages"]:
        assert messages[0]["role"] == "system"
        assert messages[-1]["role"] == "assistant"
        roles = [m["role"] for m in messages[1:]]
        assert all(a != b for a, b in zip(roles, roles[1:], strict=False))
    hsa = rows[2]["messages"]
    assert len(hsa) == 1 + 8


def test_the_profile_file_may_relabel_the_training_file(four_tiers, owner, tmp_path, settings):
    path = tmp_path / "profile.json"
    path.write_text(
        json.dumps(
            {
                "dataset_metadata": {"vertical": "retirement_coaching"},
                "training_file": {"format_spec": "acme-v1", "target_model": "llama-3-70b"},
            }
        )
    )
    settings.ENRICHMENT_PROFILE = path
    _load_profile.cache_clear()
    try:
        training_file = build(four_tiers[:1], owner)
    finally:
        _load_profile.cache_clear()

    metadata = json.loads(stored(training_file.json_file_path))["training_file_metadata"]
    assert (metadata["format_spec"], metadata["target_model"], metadata["vertical"]) == (
        "acme-v1",
        "llama-3-70b",
        "retirement_coaching",
    )


def test_the_demo_data_makes_a_training_file_of_its_batch_job():
    result = seed_demo(stdout=StringIO(), conversations=6, allow_known_passwords=True)
    job = result.batch_jobs[0]
    conversations = list(
        Conversation.objects.filter(batch_items__batch_job=job).order_by("batch_items__position")
    )
    enrich_conversations([c.pk for c in conversations])
    api = APIClient()
    api.force_login(result.demo_user)

    response = api.post(
        "/api/training-files", {"name": "Demo", "batchJobId": str(job.pk)}, format="json"
    )

    assert response.status_code == 201
    completed = [
        c
        for c in Conversation.objects.filter(pk__in=[c.pk for c in conversations])
        if c.is_eligible_for_training
    ]
    body = response.json()
    assert len(body["added"]) == len(completed) == 4
    assert body["leftOut"] == 2  # the demo's truncated and invalid conversations
    training_file = TrainingFile.objects.get(pk=body["trainingFile"]["id"])
    document = json.loads(stored(training_file.json_file_path))
    by_id = {str(c.conversation_id): c for c in completed}
    for entry in document["conversations"]:
        conversation = by_id[entry["conversation_metadata"]["conversation_id"]]
        scaffolding = entry["conversation_metadata"]["scaffolding"]
        assert scaffolding["persona_key"] == conversation.persona.persona_key
        assert scaffolding["persona_name"] == conversation.persona.name
        assert scaffolding["emotional_arc_key"] == conversation.emotional_arc.arc_key
        assert scaffolding["training_topic"] == conversation.training_topic.name
    distribution = document["training_file_metadata"]["scaffolding_distribution"]
    assert distribution["personas"] == dict(Counter(c.persona.persona_key for c in completed))
