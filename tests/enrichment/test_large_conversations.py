"""Very large conversations: refused by their predicted size before their document is
built, and written a pair at a time when they pass."""

import json
import tracemalloc

import pytest
from django.core.files.storage import default_storage

from conversations.models import EnrichmentStatus
from enrichment.pipeline import inputs, normalize, process
from enrichment.pipeline.enrich import EnrichmentContext, enrich_conversation
from enrichment.pipeline.profile import DEFAULT_PROFILE
from enrichment.pipeline.run import PARALLEL, enrich_conversations
from tests.factories import ConversationFactory, conversation_document

pytestmark = pytest.mark.django_db


def long_document(turns: int, turn_chars: int) -> dict:
    document = conversation_document(turns=turns)
    for turn in document["turns"]:
        turn["content"] = ("I keep worrying about the mortgage. " * (turn_chars // 36 + 1))[
            :turn_chars
        ]
    return document


def test_a_conversation_whose_document_would_pass_the_limit_fails_without_building_it():
    # 300 turns of 10 KB: a 3 MB conversation whose document would be about 460 MB.
    conversation = ConversationFactory(document=long_document(300, 10_000))

    tracemalloc.start()
    try:
        [outcome] = enrich_conversations([conversation.pk])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    conversation.refresh_from_db()
    report = conversation.normalization_report
    assert (outcome.status, outcome.error_category) == ("failed", "normalization")
    assert conversation.enrichment_status == EnrichmentStatus.NORMALIZATION_FAILED
    assert [error["code"] for error in report["errors"]] == ["DOCUMENT_TOO_LARGE"]
    assert report["sizeBytes"] > 400_000_000
    assert conversation.enrichment_error == (
        f"Normalization failed: The document would be {report['sizeBytes']:,} bytes; "
        f"the limit is {normalize.MAX_SIZE_BYTES:,}."
    )
    assert conversation.enriched_file_path == ""
    # A small multiple of the conversation, nowhere near its document.
    assert peak < 40_000_000


def test_several_large_conversations_at_once_are_all_refused_and_nothing_is_stored():
    conversations = [ConversationFactory(document=long_document(200, 10_000)) for _ in range(3)]

    outcomes = enrich_conversations([c.pk for c in conversations], mode=PARALLEL)

    assert [(o.status, o.enrichment_status) for o in outcomes] == [
        ("failed", "normalization_failed")
    ] * 3
    for conversation in conversations:
        conversation.refresh_from_db()
        assert conversation.normalization_report["sizeBytes"] > normalize.MAX_SIZE_BYTES
        assert not default_storage.exists(
            f"{conversation.created_by_id}/{conversation.conversation_id}/enriched"
        )


def test_a_large_document_is_written_a_pair_at_a_time_byte_for_byte(monkeypatch):
    # Every document counts as large here, so the piecewise write is the one used.
    monkeypatch.setattr(process, "LARGE_DOCUMENT_BYTES", 1_000)
    document = long_document(40, 2_000)
    document["turns"][3]["content"] += " Cafe\u0301\x07"
    conversation = ConversationFactory(document=document)

    [outcome] = enrich_conversations([conversation.pk])

    conversation.refresh_from_db()
    stored = default_storage.open(conversation.enriched_file_path).read()
    context = EnrichmentContext(
        conversation_id=str(conversation.conversation_id),
        created_date=conversation.created_at.date().isoformat(),
        quality_score=None,
        persona=None,
        emotional_arc=None,
        training_topic=None,
        template=None,
        profile=DEFAULT_PROFILE,
    )
    expected, report = normalize.normalize_document(enrich_conversation(document, context))
    assert outcome.status == "enriched"
    assert stored == expected
    assert conversation.enriched_file_size == len(stored) > 1_000_000
    assert conversation.normalization_report == report
    # The fixed reply counts where it appears: its own pair and the history of the 36 after.
    assert report["fixes"] == {"controlCharactersRemoved": 37, "stringsNfcNormalized": 37}
    pairs = json.loads(stored)["training_pairs"]
    assert [len(pair["conversation_history"]) for pair in pairs] == list(range(40))


def test_an_input_file_over_the_limit_is_refused_before_it_is_read_whole(monkeypatch):
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 2_000)
    conversation = ConversationFactory(document=long_document(4, 1_000))

    [outcome] = enrich_conversations([conversation.pk])

    conversation.refresh_from_db()
    assert (outcome.status, outcome.error_category) == ("failed", "validation")
    assert conversation.enrichment_status == EnrichmentStatus.VALIDATION_FAILED
    assert conversation.enrichment_error == (
        f"The input file {conversation.file_path} is over 2,000 bytes, the largest "
        "conversation enrichment reads."
    )
    assert conversation.validation_report is None
