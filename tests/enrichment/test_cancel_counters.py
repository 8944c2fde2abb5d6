"""A cancelled run's numbers are final when its status is: a lane that was processing a
group of conversations when the cancel came records none of it, so the counters never
move after the run says "cancelled" (they used to: 50 enriched, then 100)."""

import time

import pytest

from conversations.models import Conversation
from enrichment.models import EnrichmentRun, ItemOutcome, RunSource, RunStatus
from enrichment.pipeline import run as runner
from enrichment.runs import lanes, lifecycle
from tests.factories import ConversationFactory, UserFactory, a_run
from tests.workers import seed, wait_for


def counters(run: EnrichmentRun) -> tuple:
    run.refresh_from_db()
    return (run.status, run.enriched, run.failed, run.skipped)


@pytest.mark.django_db(transaction=True)
def test_a_cancel_during_a_group_leaves_nothing_recorded_after_it(settings, monkeypatch):
    settings.ENRICHMENT_RUN_CHUNK_SIZE = 20
    settings.ENRICHMENT_RUN_COMMIT_EVERY = 5
    monkeypatch.setattr(lanes, "CANCEL_CHECK_SECONDS", 0)
    conversations = [ConversationFactory() for _ in range(12)]
    run = a_run([c.pk for c in conversations], user=None, source=RunSource.CLI)
    original = runner.stage
    seen: dict = {"n": 0}

    def cancel_in_the_second_group(*args, **kwargs):
        fields = original(*args, **kwargs)
        seen["n"] += 1
        if seen["n"] == 7:
            # The first group (1-5) is committed, or on its way; 6 and 7 are processed,
            # not recorded.
            seen["at_cancel"] = counters(lifecycle.cancel_run(EnrichmentRun.objects.get(pk=run.pk)))
        return fields

    monkeypatch.setattr(runner, "stage", cancel_in_the_second_group)

    stopped = lanes.process_run(run.pk)

    assert stopped == lanes.CANCELLED
    status, enriched, failed, skipped = seen["at_cancel"]
    assert (status, failed, skipped) == (RunStatus.CANCELLED, 0, 0)
    assert enriched in (0, 5)  # a whole group or none of it
    assert counters(run) == seen["at_cancel"]
    assert run.items.filter(outcome=ItemOutcome.ENRICHED).count() == enriched
    pending = run.items.filter(outcome=ItemOutcome.PENDING, claim_token__isnull=True)
    assert pending.count() == 12 - enriched
    assert Conversation.objects.filter(enrichment_status="completed").count() == enriched
    assert Conversation.objects.filter(enrichment_status="not_started").count() == 12 - enriched
    assert not Conversation.objects.filter(enrichment_claim_token__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
@pytest.mark.e2e
def test_a_worker_cancelled_mid_chunk_never_moves_the_counters_afterwards(workers):
    conversations = seed(UserFactory(), 800)
    run = a_run([c.pk for c in conversations], user=None, source=RunSource.CLI)
    workers.start()
    wait_for(lambda: counters(run)[1] >= 20, timeout=120, what="a first chunk")

    at_cancel = counters(lifecycle.cancel_run(EnrichmentRun.objects.get(pk=run.pk)))
    time.sleep(3)  # the lane notices, and anything it was recording is undone

    assert at_cancel[0] == RunStatus.CANCELLED
    assert counters(run) == at_cancel
    enriched = Conversation.objects.filter(enrichment_status="completed").count()
    assert enriched == at_cancel[1]
    assert run.items.filter(outcome=ItemOutcome.ENRICHED).count() == enriched
    assert enriched < 800
    assert not Conversation.objects.filter(enrichment_status="enrichment_in_progress").exists()
