"""Two enrichments of two revisions of one conversation, racing on PostgreSQL: the one of
the older revision finishes last and must not overwrite the newer output, and no file is
left behind but the current one."""

import threading

import pytest
from django.db import connection

from conversations.models import Conversation, EnrichmentStatus, RevisionSource
from enrichment.models import RunSource
from enrichment.pipeline import run as runner
from enrichment.pipeline.outcomes import SKIPPED
from enrichment.pipeline.run import enrich_conversations
from enrichment.revisions import save_revision
from tests.factories import ConversationFactory, UserFactory, conversation_document
from tests.jobs import run_jobs

pytestmark = [pytest.mark.django_db(transaction=True)]

OLD = "enrichment-of-revision-1"


def test_the_older_revisions_enrichment_finishing_last_loses_and_leaves_no_file(
    media_root, monkeypatch
):
    user = UserFactory()
    conversation = ConversationFactory(created_by=user, document=conversation_document(turns=4))
    [first] = enrich_conversations([conversation.pk])
    conversation.refresh_from_db()
    first_output = conversation.enriched_file_path
    assert first.status == "enriched" and first_output

    # The older enrichment stops between its stages and its write, until told to go on.
    staged, go_on = threading.Event(), threading.Event()
    stage = runner.stage

    def held_stage(*args, **kwargs):
        result = stage(*args, **kwargs)
        if threading.current_thread().name == OLD:
            staged.set()
            assert go_on.wait(timeout=120)
        return result

    monkeypatch.setattr(runner, "stage", held_stage)
    old_outcomes = []

    def enrich_old_revision() -> None:
        try:
            old_outcomes.extend(enrich_conversations([conversation.pk], force=True))
        finally:
            connection.close()

    old = threading.Thread(target=enrich_old_revision, name=OLD)
    old.start()
    try:
        assert staged.wait(timeout=120)
        # Revision 2 while revision 1 is being enriched; its run enriches it to the end.
        revised = conversation_document(turns=6)
        revised["turns"][0]["content"] = "Revision two: a question about an emergency fund."
        save_revision(
            conversation, revised, user=user, source=RevisionSource.EDIT, run_source=RunSource.API
        )
        run_jobs()
        conversation.refresh_from_db()
        newer_output = conversation.enriched_file_path
        assert newer_output.startswith(
            f"{conversation.owner_segment}/{conversation.conversation_id}/enriched/2-"
        )
    finally:
        go_on.set()
        old.join(timeout=120)

    [outcome] = old_outcomes
    assert (outcome.status, outcome.reason) == (SKIPPED, "in_progress")
    conversation = Conversation.objects.get(pk=conversation.pk)
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED
    assert conversation.enriched_file_path == newer_output
    assert conversation.revision == 2
    folder = media_root / conversation.owner_segment / str(conversation.conversation_id)
    # The loser removed its own file; the first output, superseded, is gone too.
    assert [p.name for p in (folder / "enriched").iterdir()] == [newer_output.rsplit("/", 1)[1]]
    assert not (media_root / first_output).exists()
    assert b"Revision two" in (media_root / newer_output).read_bytes()
    # Both revisions are kept.
    assert (folder / "conversation.json").exists()
    assert (folder / "revisions" / "2.json").exists()
