"""The conversation's page: its review status and review history, and for a failed
conversation what to do about its failure category."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission

from conversations.models import Conversation
from enrichment.failure_advice import ADVICE
from enrichment.pipeline.run import enrich_conversations
from generation.models import GenerationSettings
from review import services as review
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    UserFactory,
    conversation_document,
    enriched_conversation,
)

pytestmark = pytest.mark.django_db


def page_of(client, conversation) -> str:
    response = client.get(f"/conversations/{conversation.pk}/")
    assert response.status_code == 200
    assert response.context["conversation"].pk == conversation.pk
    return response.content.decode()


def section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]


def failed(**fields) -> Conversation:
    conversation = ConversationFactory(**fields)
    [outcome] = enrich_conversations([conversation.pk])
    assert outcome.status == "failed"
    conversation.refresh_from_db()
    return conversation


def test_the_page_shows_the_review_status_and_every_action_newest_first(user_client, user):
    conversation = enriched_conversation(created_by=user)
    other = UserFactory(username="rosa")
    other.user_permissions.add(Permission.objects.get(codename="review_others_conversations"))
    review.review(conversation, user, "revision_requested", "Turn 3 drifts.", ["persona_drift"])
    review.review(conversation, other, "rejected", "Unsafe advice.", ["safety", "accuracy"])

    html = section(page_of(user_client, conversation), "review")

    assert '<span class="badge badge--review-rejected">Rejected</span>' in html
    rejected, revision = html.index("Rejected</strong>"), html.index("Revision requested</strong>")
    assert rejected < revision  # newest first
    assert "by rosa" in html and f"by {user.username}" in html
    assert "Reasons: Accuracy, Safety" in html  # stored in the fixed list's order
    assert "Reasons: Persona drift" in html
    assert "Unsafe advice." in html and "Turn 3 drifts." in html
    assert html.count("<time datetime=") == 2


def test_an_approved_conversation_says_who_approved_it_and_when(user_client, user):
    conversation = enriched_conversation(created_by=user)
    review.review(conversation, user, "approved", "Good.")
    conversation.refresh_from_db()

    html = section(page_of(user_client, conversation), "review")

    assert f'by {user.username}, <time datetime="{conversation.approved_at:%Y-%m-%dT%H:%M:%S}' in (
        html
    )
    assert "Approved</strong>" in html


def test_a_conversation_never_enriched_is_not_reviewable_and_has_no_history(user_client, user):
    conversation = ConversationFactory(created_by=user)

    html = page_of(user_client, conversation)

    assert "Not reviewable until it is enriched" in section(html, "review")
    assert "No review actions yet." in html
    assert 'id="failure-advice"' not in html


def test_a_blocker_in_a_turn_says_to_edit_the_turn_or_replace_the_file(user_client, user):
    document = conversation_document()
    document["turns"][1]["content"] = ""
    conversation = failed(created_by=user, document=document)
    assert conversation.enrichment_error_category == "validation"

    html = section(page_of(user_client, conversation), "failure-advice")
    # The edit page has what the links point at.
    edit_page = user_client.get(f"/conversations/{conversation.pk}/edit/").content.decode()
    assert 'id="edit-form"' in edit_page and 'id="replace"' in edit_page

    assert "What to do: validation failure" in html
    assert "Blockers in turn 2." in html
    assert "Fix the turn the blocker names (Edit the conversation)" in html
    edit = f"/conversations/{conversation.pk}/edit/"
    assert f'<a href="{edit}#edit-form">Edit the conversation</a>' in html
    assert f'<a href="{edit}#replace">Replace the file</a>' in html
    assert "#actions" not in html  # retrying as it is would fail again


def test_a_file_that_is_not_json_says_to_replace_it(user_client, user):
    conversation = failed(created_by=user, document=b'{"conversation_metadata": {"client_pers')

    html = section(page_of(user_client, conversation), "failure-advice")
    edit_page = user_client.get(f"/conversations/{conversation.pk}/edit/")
    assert edit_page.status_code == 200 and 'id="replace"' in edit_page.content.decode()

    assert "correct its text where the file is replaced" in html
    edit = f"/conversations/{conversation.pk}/edit/"
    assert f'<a href="{edit}#replace">' in html and "#edit-form" not in html


def test_a_missing_input_file_says_to_replace_it(user_client, user):
    conversation = ConversationFactory(created_by=user)
    (Path(django_settings.MEDIA_ROOT) / conversation.file_path).unlink()
    [outcome] = enrich_conversations([conversation.pk])
    assert outcome.status == "failed"

    html = section(page_of(user_client, conversation), "failure-advice")

    assert "What to do: missing input failure" in html
    assert ADVICE["missing_input"][1] in html


def test_a_storage_failure_says_to_retry(user_client, user):
    conversation = ConversationFactory(created_by=user)
    stored = Path(django_settings.MEDIA_ROOT) / conversation.file_path
    stored.unlink()
    stored.mkdir()  # reading it fails with an OSError that is not "not found"
    [outcome] = enrich_conversations([conversation.pk])
    conversation.refresh_from_db()
    assert (outcome.status, conversation.enrichment_error_category) == ("failed", "storage")

    html = section(page_of(user_client, conversation), "failure-advice")

    assert "retry once the storage answers again" in html
    assert '<a href="#actions">Retry enrichment</a>' in html


def test_an_internal_failure_says_to_retry_and_report(user_client, user):
    conversation = ConversationFactory(created_by=user)
    Conversation.objects.filter(pk=conversation.pk).update(
        enrichment_status="enrichment_failed",
        enrichment_error_category="internal",
        enrichment_error="KeyError: 'turns'",
    )

    html = section(page_of(user_client, conversation), "failure-advice")

    assert "report it with the conversation" in html
    assert '<a href="#actions">Retry enrichment</a>' in html


def test_a_generated_conversation_also_offers_its_generation_job(user_client, user):
    job = BatchJobFactory(created_by=user, name="Windfall run")
    GenerationSettings.objects.create(
        batch_job=job, model="claude-sonnet-4-5", max_tokens=4000, system_prompt="You are Elena."
    )
    document = conversation_document()
    document["turns"][0]["emotional_context"]["intensity"] = 7
    conversation = failed(created_by=user, document=document)
    BatchItemFactory(batch_job=job, conversation=conversation)
    imported = failed(created_by=user, document=document)
    BatchItemFactory(batch_job=BatchJobFactory(created_by=user), conversation=imported)

    generated_html = section(page_of(user_client, conversation), "failure-advice")
    imported_html = section(page_of(user_client, imported), "failure-advice")

    assert f'href="/batch-jobs/{job.pk}/"' in generated_html
    assert "generate it again from its generation job “Windfall run”" in generated_html
    assert "Retry failed generations" not in imported_html
