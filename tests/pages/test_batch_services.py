"""The page-facing batch services: job listing counts, the stored enrichment state and
"Enrich All" in chunks."""

import pytest

from batches.services import enrich_batch_job, get_job_enrichment_state, list_batch_jobs
from enrichment.models import Conversation, EnrichmentStatus
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_enrich_batch_job_processes_more_than_the_bulk_limit_in_chunks(make_job, user, settings):
    settings.ENRICHMENT_BULK_LIMIT = 2
    job = make_job(user, valid=4, invalid=1)

    result = enrich_batch_job(job, user=user)

    assert result.summary == {"total": 5, "successful": 4, "failed": 1, "skipped": 0}
    assert [o.status for o in result.outcomes] == [
        "enriched",
        "enriched",
        "enriched",
        "enriched",
        "failed",
    ]
    assert Conversation.objects.filter(enrichment_status=EnrichmentStatus.COMPLETED).count() == 4


def test_enrich_batch_job_only_failed_leaves_the_others_alone(make_job, user):
    job = make_job(user, valid=2, invalid=1)
    enrich_batch_job(job, user=user)

    result = enrich_batch_job(job, user=user, only_failed=True)

    assert result.summary == {"total": 1, "successful": 0, "failed": 1, "skipped": 0}
    assert [str(o.conversation_id) for o in result.outcomes] == [
        str(Conversation.objects.get(conversation_name="Truncated chat 1").conversation_id)
    ]


def test_enrich_batch_job_ignores_items_without_a_conversation(make_job, user, failed_item_factory):
    job = make_job(user, valid=1)
    failed_item_factory(job, 2)

    result = enrich_batch_job(job, user=user)

    assert result.summary == {"total": 1, "successful": 1, "failed": 0, "skipped": 0}


def test_job_enrichment_state_counts_by_status_and_lists_failures(
    make_job, user, django_assert_num_queries
):
    job = make_job(user, valid=2, invalid=1)
    enrich_batch_job(job, user=user)
    Conversation.objects.filter(conversation_name="Valid chat 2").update(
        enrichment_status=EnrichmentStatus.NOT_STARTED
    )

    with django_assert_num_queries(2):
        state = get_job_enrichment_state(job, user=user)

    assert (state.total, state.enriched, state.failed, state.not_enriched) == (3, 1, 1, 1)
    assert state.has_unenriched is True
    assert [(f.name, f.status_label) for f in state.failures] == [
        ("Truncated chat 1", "Validation failed")
    ]
    assert state.failures[0].error.startswith("Validation failed: INVALID_JSON_SYNTAX")


def test_job_enrichment_state_of_a_fully_enriched_job_needs_one_query(
    make_job, user, django_assert_num_queries
):
    job = make_job(user, valid=2)
    Conversation.objects.update(enrichment_status=EnrichmentStatus.COMPLETED)

    with django_assert_num_queries(1):
        state = get_job_enrichment_state(job, user=user)

    assert (state.total, state.enriched, state.failed, state.failures) == (2, 2, 0, [])
    assert state.has_unenriched is False


def test_list_batch_jobs_counts_conversations_and_enriched_ones(make_job, user):
    job = make_job(user, valid=3)
    Conversation.objects.filter(conversation_name="Valid chat 1").update(
        enrichment_status=EnrichmentStatus.COMPLETED
    )
    Conversation.objects.filter(conversation_name="Valid chat 3").update(is_active=False)

    [listed] = list_batch_jobs(user)

    assert listed == job
    assert (listed.conversation_count, listed.enriched_count) == (2, 1)


def test_list_batch_jobs_hides_other_users_jobs_but_not_from_staff(make_job, user):
    make_job(user, valid=1)
    stranger = UserFactory(username="stranger")
    staff = UserFactory(username="admin", is_staff=True)

    assert list(list_batch_jobs(stranger)) == []
    assert len(list_batch_jobs(staff)) == 1
