"""The batch-job page says where the job stands and offers the action that can do
something: an open job shows its items arriving, the two kinds of failure are named, and
the items table shows why an enrichment failed."""

import pytest

from conversations import counts
from conversations.models import BatchJobStatus, Conversation, EnrichmentStatus
from enrichment.services import enrich_batch_job
from intake.items import NewItem, add_items, create_batch_job
from tests.factories import conversation_document

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
PRIMARY = 'class="button button--primary"'


def mark(job, name: str, status: str, error: str | None = None) -> None:
    """A conversation of the job left in ``status`` (as an earlier enrichment left it),
    the job's counts with it."""
    Conversation.objects.filter(batch_items__batch_job=job, conversation_name=name).update(
        enrichment_status=status, enrichment_error=error
    )
    counts.recount([job])


def enrichment_panel(client, job) -> str:
    return client.get(f"/batch-jobs/{job.pk}/enrichment/", **HX).content.decode()


def test_a_job_with_only_failures_left_offers_retry_failed_as_the_primary_action(
    make_job, user_client, user
):
    job = make_job(user, valid=2, invalid=1)
    mark(job, "Valid chat 1", EnrichmentStatus.COMPLETED)
    mark(job, "Valid chat 2", EnrichmentStatus.COMPLETED)
    # A failure a retry may fix (not a validation failure, which a retry repeats).
    mark(job, "Truncated chat 1", EnrichmentStatus.ENRICHMENT_FAILED, "Storage unavailable")

    body = enrichment_panel(user_client, job)

    assert "Enrich All" not in body
    assert f'<button type="submit" {PRIMARY}>Retry failed</button>' in body
    assert "<strong>1 of 3</strong> failed enrichment; the rest are enriched." in body
    # The enriched ones can already go into a training file, as a second choice.
    new_file = f"/training-files/new/?batch_job={job.pk}"
    assert f'<a class="button" href="{new_file}">Create training file</a>' in body


def test_a_job_with_unenriched_conversations_offers_enrich_all_first(make_job, user_client, user):
    job = make_job(user, valid=2, invalid=1)
    mark(job, "Truncated chat 1", EnrichmentStatus.VALIDATION_FAILED, "Validation failed: X")

    body = enrichment_panel(user_client, job)

    assert f'<button type="submit" {PRIMARY}>Enrich All</button>' in body
    assert '<button type="submit" class="button">Retry failed</button>' in body
    assert (
        "<strong>2 of 3</strong> successful conversations are not enriched yet, and 1 failed."
        in body
    )


def test_a_fully_enriched_job_offers_a_training_file_instead_of_enrichment(
    make_job, user_client, user
):
    job = make_job(user, valid=2)
    enrich_batch_job(job, user=user)

    body = enrichment_panel(user_client, job)

    assert "Enrich All" not in body
    assert "Retry failed" not in body
    assert "All 2 successful conversations are enriched." in body
    new_file = f"/training-files/new/?batch_job={job.pk}"
    assert f'<a class="button button--primary" href="{new_file}">Create training file</a>' in body


def test_the_two_kinds_of_failure_are_named_and_the_error_column_shows_both(
    make_job, user_client, user, failed_item_factory
):
    job = make_job(user, valid=1, invalid=1)
    failed_item_factory(job, 3, error="The model timed out.")
    job.failed_items = 1
    job.save()
    mark(job, "Truncated chat 1", EnrichmentStatus.VALIDATION_FAILED, "Validation failed: X")

    body = user_client.get(f"/batch-jobs/{job.pk}/").content.decode()

    assert "<dt>Generation failed</dt><dd>1</dd>" in body
    assert "<dt>Enrichment failed</dt><dd>1</dd>" in body
    assert "<dt>Failed</dt>" not in body
    assert '<span class="error-kind">Enrichment:</span> Validation failed: X' in body
    assert '<span class="error-kind">Generation:</span> The model timed out.' in body
    truncated = Conversation.objects.get(conversation_name="Truncated chat 1")
    assert f'<a href="/conversations/{truncated.pk}/">Truncated chat 1</a>' in body
    assert "Conversations of this job" in body
    assert "Its conversations" not in body


def test_an_open_job_shows_its_items_arriving(user_client, user):
    job = create_batch_job(owner=user, name="Live generator")

    waiting = user_client.get(f"/batch-jobs/{job.pk}/").content.decode()
    add_items(job, [NewItem(conversation=conversation_document()), NewItem(error="timeout")])
    stale = user_client.get(f"/batch-jobs/{job.pk}/progress/?seen=0", **HX)
    current = user_client.get(f"/batch-jobs/{job.pk}/progress/?seen=2", **HX)

    assert "<strong>0</strong> items received so far; waiting for the first." in waiting
    assert f'hx-get="/batch-jobs/{job.pk}/progress/?seen=0" hx-trigger="every 2s"' in waiting
    assert "Enrichment is offered when the job has finished." in waiting
    body = stale.content.decode()
    assert "<strong>2</strong> items received so far." in body
    assert "<dt>Successful</dt><dd>1</dd>" in body
    assert "<dt>Generation failed</dt><dd>1</dd>" in body
    assert f'hx-get="/batch-jobs/{job.pk}/progress/?seen=2"' in body
    assert stale["HX-Trigger"] == "items-added"
    assert "HX-Trigger" not in current
    job.refresh_from_db()
    assert job.status == BatchJobStatus.PROCESSING


def test_a_job_with_skipped_duplicates_says_how_many(user_client, user):
    job = create_batch_job(owner=user, name="Repeating generator")
    document = conversation_document()
    add_items(job, [NewItem(conversation=document), NewItem(conversation=document)])

    body = user_client.get(f"/batch-jobs/{job.pk}/").content.decode()

    assert "<dt>Duplicates skipped</dt><dd>1</dd>" in body
    job.refresh_from_db()
    assert (job.total_items, job.duplicate_items) == (1, 1)
