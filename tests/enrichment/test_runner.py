"""Outcome recording of the runner: every outcome lands in a named state, in one write."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from conversations.models import Conversation, EnrichmentStatus
from enrichment.pipeline.inputs import StageFailure
from enrichment.pipeline.process import failure_fields
from enrichment.pipeline.run import SEQUENTIAL, Grouped, claim, enrich_conversations
from tests.factories import ConversationFactory, conversation_document

pytestmark = pytest.mark.django_db


def test_success_clears_an_earlier_error():
    conversation = ConversationFactory(
        enrichment_status=EnrichmentStatus.ENRICHMENT_FAILED,
        enrichment_error="disk full",
        enrichment_error_category="storage",
    )

    [outcome] = enrich_conversations([conversation.pk])

    conversation.refresh_from_db()
    assert outcome.status == "enriched"
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED
    assert conversation.enrichment_error is None
    assert conversation.enrichment_error_category is None
    assert conversation.enrichment_lease_expires_at is None
    assert conversation.enrichment_claim_token is None
    # Revision 1's output, at its claim's own path.
    assert conversation.enriched_file_path.startswith(
        f"{conversation.created_by_id}/{conversation.conversation_id}/enriched/1-"
    )
    assert conversation.enriched_file_size == default_storage.size(conversation.enriched_file_path)
    assert conversation.validation_report["isValid"] is True
    assert conversation.normalization_report is not None


def test_a_storage_failure_ends_in_enrichment_failed_with_nothing_written(media_root):
    conversation = ConversationFactory()
    # A file where the folder of enriched files should go makes the write fail.
    folder = media_root / str(conversation.created_by_id) / str(conversation.conversation_id)
    (folder / "enriched").write_bytes(b"in the way")

    [outcome] = enrich_conversations([conversation.pk])

    conversation.refresh_from_db()
    assert outcome.status == "failed"
    assert outcome.error_category == "storage"
    assert conversation.enrichment_status == EnrichmentStatus.ENRICHMENT_FAILED
    assert conversation.enrichment_error_category == "storage"
    assert conversation.enrichment_error.startswith("The enriched file could not be stored")
    assert conversation.enriched_file_path == ""
    assert conversation.enriched_at is None
    assert sorted(p.name for p in folder.iterdir()) == ["conversation.json", "enriched"]
    assert (folder / "enriched").read_bytes() == b"in the way"


def test_a_missing_input_file_is_a_named_failure(media_root):
    conversation = ConversationFactory()
    default_storage.delete(conversation.file_path)

    [outcome] = enrich_conversations([conversation.pk])

    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.ENRICHMENT_FAILED
    assert conversation.enrichment_error_category == "missing_input"
    assert conversation.file_path in conversation.enrichment_error


def test_a_conversation_without_any_file_is_a_missing_input_failure():
    conversation = ConversationFactory(document=None)

    [outcome] = enrich_conversations([conversation.pk])

    assert outcome.error_category == "missing_input"
    assert outcome.enrichment_status == EnrichmentStatus.ENRICHMENT_FAILED


def test_the_raw_response_is_used_when_there_is_no_parsed_file():
    conversation = ConversationFactory(document=b'{"conversation_metadata": {}, "turns": []}')

    [outcome] = enrich_conversations([conversation.pk])

    conversation.refresh_from_db()
    codes = [b["code"] for b in conversation.validation_report["blockers"]]
    assert outcome.enrichment_status == EnrichmentStatus.VALIDATION_FAILED
    assert "INSUFFICIENT_TURNS" in codes


def test_a_row_whose_lease_expired_can_be_claimed_again():
    conversation = ConversationFactory()
    claim([conversation.pk])
    Conversation.objects.filter(pk=conversation.pk).update(
        enrichment_lease_expires_at=timezone.now() - timedelta(seconds=1)
    )

    [outcome] = enrich_conversations([conversation.pk])

    assert outcome.status == "enriched"
    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED


def test_a_live_claim_cannot_be_claimed_again():
    conversation = ConversationFactory()
    first_token, _ = claim([conversation.pk])

    [outcome] = enrich_conversations([conversation.pk], force=True)

    conversation.refresh_from_db()
    assert outcome.status == "skipped"
    assert outcome.reason == "in_progress"
    assert conversation.enrichment_claim_token == first_token


def test_an_outcome_is_not_written_over_a_newer_claim():
    from enrichment.pipeline.record import Processed as _Processed
    from enrichment.pipeline.record import record_one as _record

    conversation = ConversationFactory()
    stale_token, _ = claim([conversation.pk])
    Conversation.objects.filter(pk=conversation.pk).update(
        enrichment_lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    fresh_token, _ = claim([conversation.pk])

    outcome = _record(
        _Processed(conversation, {"enrichment_status": EnrichmentStatus.COMPLETED}, 0.0),
        stale_token,
    )

    conversation.refresh_from_db()
    assert outcome.status == "skipped"
    assert conversation.enrichment_status == EnrichmentStatus.IN_PROGRESS
    assert conversation.enrichment_claim_token == fresh_token


def test_a_batch_of_outcomes_skips_only_the_rows_taken_over_by_a_newer_claim():
    from enrichment.pipeline.record import Processed as _Processed
    from enrichment.pipeline.record import record_many as _record_many

    kept, lost = ConversationFactory(), ConversationFactory()
    token, _ = claim([kept.pk, lost.pk])
    Conversation.objects.filter(pk=lost.pk).update(
        enrichment_lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    fresh_token, _ = claim([lost.pk])
    failure = failure_fields(kept, StageFailure("validation_failed", "validation", "Broken"))

    outcomes = _record_many([_Processed(kept, failure, 0.0), _Processed(lost, failure, 0.0)], token)

    assert [(o.status, o.reason) for o in outcomes] == [
        ("failed", None),
        ("skipped", "in_progress"),
    ]
    kept.refresh_from_db()
    lost.refresh_from_db()
    assert (kept.enrichment_status, kept.enrichment_claim_token) == ("validation_failed", None)
    assert kept.enrichment_error_category == "validation"
    assert lost.enrichment_status == EnrichmentStatus.IN_PROGRESS
    assert lost.enrichment_claim_token == fresh_token


def test_enriched_output_is_byte_stable_for_the_same_input_and_configuration(
    django_capture_on_commit_callbacks,
):
    conversation = ConversationFactory(document=conversation_document(turns=6))

    enrich_conversations([conversation.pk])
    conversation.refresh_from_db()
    first_path = conversation.enriched_file_path
    first = default_storage.open(first_path).read()
    # (The superseded file goes once the new outcome is committed.)
    with django_capture_on_commit_callbacks(execute=True):
        enrich_conversations([conversation.pk], force=True)
    conversation.refresh_from_db()
    second = default_storage.open(conversation.enriched_file_path).read()

    assert first == second
    # Each enrichment wrote a file of its own; the superseded one is gone.
    assert conversation.enriched_file_path != first_path
    assert not default_storage.exists(first_path)


def test_enriched_output_is_normalized_to_nfc_without_control_characters():
    document = conversation_document()
    document["turns"][0]["content"] = "Cafe\u0301 budget\u0007 plan, with a tab\tand more text."
    conversation = ConversationFactory(document=document)

    enrich_conversations([conversation.pk])

    conversation.refresh_from_db()
    text = default_storage.open(conversation.enriched_file_path).read().decode()
    assert "Caf\u00e9 budget plan, with a tab\\tand more text." in text
    assert "\u0301" not in text and "\u0007" not in text


def test_failed_conversations_are_skipped_when_failures_are_not_retried():
    failed = ConversationFactory(document=b"{")
    fresh = ConversationFactory()
    enrich_conversations([failed.pk])
    failed.refresh_from_db()
    failed_at = failed.updated_at

    skipped, enriched = enrich_conversations([failed.pk, fresh.pk], retry_failed=False)

    failed.refresh_from_db()
    assert (skipped.status, skipped.reason) == ("skipped", "previously_failed")
    assert skipped.enrichment_status == EnrichmentStatus.VALIDATION_FAILED
    assert enriched.status == "enriched"
    assert failed.updated_at == failed_at


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "mode, statuses",
    [
        # One by one: the first is recorded; the second rolled back with its outcome; the
        # third was never reached.
        (SEQUENTIAL, ["completed", "not_started", "not_started"]),
        # A group's outcomes are committed together or not at all.
        (Grouped(3), ["not_started"] * 3),
    ],
)
def test_an_error_while_recording_gives_the_unrecorded_claims_back_at_once(mode, statuses):
    conversations = [ConversationFactory() for _ in range(3)]
    calls = []

    def fail_on_second(outcome):
        calls.append(outcome)
        if len(calls) == 2:
            raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        enrich_conversations([c.pk for c in conversations], on_outcome=fail_on_second, mode=mode)

    assert [Conversation.objects.get(pk=c.pk).enrichment_status for c in conversations] == (
        statuses
    )
    # Nothing stays claimed.
    assert not Conversation.objects.filter(enrichment_claim_token__isnull=False).exists()


def test_a_claim_given_back_restores_exactly_the_status_it_replaced():
    from enrichment.pipeline.run import release

    failed = ConversationFactory(enrichment_status=EnrichmentStatus.VALIDATION_FAILED)
    token, _ = claim([failed.pk])

    assert release(token) == 1

    failed.refresh_from_db()
    assert failed.enrichment_status == EnrichmentStatus.VALIDATION_FAILED
    assert failed.enrichment_claim_token is None


def test_scaffolding_reaches_the_output_alike_for_one_conversation_and_for_many():
    # Up to a few conversations their scaffolding is joined into one SELECT; for more it
    # is loaded once per relation. Both must give the same enriched bytes.
    from tests.factories import (
        EmotionalArcFactory,
        PersonaFactory,
        PromptTemplateFactory,
        TrainingTopicFactory,
    )

    def scaffolded():
        return ConversationFactory(
            persona=PersonaFactory(),
            emotional_arc=EmotionalArcFactory(),
            training_topic=TrainingTopicFactory(),
            template=PromptTemplateFactory(),
        )

    target = scaffolded()
    others = [scaffolded() for _ in range(5)]
    enrich_conversations([target.pk])
    target.refresh_from_db()
    alone = default_storage.open(target.enriched_file_path).read()

    outcomes = enrich_conversations([target.pk, *(o.pk for o in others)], force=True)

    assert [o.status for o in outcomes] == ["enriched"] * 6
    assert default_storage.open(target.enriched_file_path).read() == alone
    for conversation in (target, *others):
        conversation.refresh_from_db()
        content = default_storage.open(conversation.enriched_file_path).read().decode()
        # The persona row names the client; the topic key becomes the learning objective.
        persona = conversation.persona
        assert f'"client_persona": "{persona.name} - {persona.archetype}"' in content
        assert f'"key_learning_objective": "{conversation.training_topic.topic_key}"' in content


def test_a_deactivated_conversation_is_skipped_as_inactive_and_left_unchanged():
    conversation = ConversationFactory(is_active=False)

    [outcome] = enrich_conversations([conversation.pk])

    conversation.refresh_from_db()
    assert (outcome.status, outcome.reason) == ("skipped", "inactive")
    assert outcome.enrichment_status == EnrichmentStatus.NOT_STARTED
    assert conversation.enrichment_status == EnrichmentStatus.NOT_STARTED
    assert conversation.enriched_file_path == ""


def test_each_outcome_in_a_group_times_only_its_own_work(monkeypatch):
    import itertools
    import threading

    from enrichment.pipeline import overlap

    # A clock per thread that moves one second per reading: a conversation's duration is
    # the readings around its own steps (reading, the stages, writing: one second each),
    # whatever ran on the other threads or was processed after it in the group.
    local = threading.local()

    def clock() -> float:
        if not hasattr(local, "ticks"):
            local.ticks = itertools.count()
        return float(next(local.ticks))

    monkeypatch.setattr(overlap, "perf_counter", clock)
    conversations = [ConversationFactory() for _ in range(3)]

    outcomes = enrich_conversations([c.pk for c in conversations], mode=Grouped(3))

    assert [o.status for o in outcomes] == ["enriched"] * 3
    assert [o.duration_ms for o in outcomes] == [3000.0] * 3
