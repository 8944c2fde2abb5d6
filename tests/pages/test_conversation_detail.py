"""The page of one conversation: transcript with emotional context, scaffolding, batch job,
enrichment status and validation report, training pairs, downloads and actions; and the
links to it from every list."""

import html

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from conversations.models import Conversation, EnrichmentStatus
from enrichment.models import EnrichmentRun, RunSource
from enrichment.runs import lanes
from enrichment.services import enrich_one
from tests.factories import (
    TRUNCATED_REPLY,
    ConversationFactory,
    EmotionalArcFactory,
    PersonaFactory,
    TrainingTopicFactory,
    UserFactory,
    a_run,
)

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def page(client, conversation) -> str:
    response = client.get(f"/conversations/{conversation.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_the_transcript_scaffolding_and_batch_job(make_job, user_client, user):
    job = make_job(user, valid=1, name="June batch")
    conversation = job.items.get().conversation
    conversation.persona = PersonaFactory(name="Sam Ortiz", archetype="The Cautious Saver")
    conversation.emotional_arc = EmotionalArcFactory(name="Worry → Calm")
    conversation.training_topic = TrainingTopicFactory(name="Building an Emergency Fund")
    conversation.save()

    body = page(user_client, conversation)

    assert "<h1>Valid chat 1 " in body
    assert f"<code>{conversation.conversation_id}</code>" in body
    assert f'<a href="/batch-jobs/{job.pk}/">June batch</a>' in body
    assert f'<a href="/conversations/?batch={job.pk}">June batch</a> /' in body
    assert 'Sam Ortiz <span class="muted">(The Cautious Saver)</span>' in body
    assert "Worry → Calm" in body
    assert "Building an Emergency Fund" in body
    assert "Jordan wants a safety net before changing jobs." in body
    assert body.count('class="turn turn--user"') == 2
    assert body.count('class="turn turn--assistant"') == 2
    assert "worry, hope · intensity 0.60" in body
    assert "Turn 3: a thoughtful message about saving for emergencies." in body
    assert "Not validated yet" in body
    assert "Not enriched yet: the training pairs appear here once it is." in body
    assert f'href="/api/conversations/{conversation.conversation_id}/download/raw"' in body
    assert "download/enriched" not in body
    assert '<button type="submit" class="button button--primary">Enrich</button>' in body


def test_an_enriched_conversation_shows_its_training_pairs_with_collapsed_history(
    user_client, user
):
    conversation = ConversationFactory(created_by=user, conversation_name="Done chat")
    enrich_one(conversation, user=user, source=RunSource.PAGE)
    conversation.refresh_from_db()

    body = page(user_client, conversation)

    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED
    assert body.count('<article id="pair-') == 4
    assert "Pair 4 of 4 · turn 4 (assistant)" in body
    assert "Pair 1 of 4 · turn 1 (user)" in body
    assert '<details class="history">' in body
    assert "<summary>Conversation history (3 earlier turns)</summary>" in body
    assert "None (a user turn)" in body
    assert '<a href="#pair-3">3</a>' in body
    assert f'href="/api/conversations/{conversation.conversation_id}/download/enriched"' in body
    assert '<summary class="button">Re-enrich…</summary>' in body
    assert ">Enrich</button>" not in body
    assert '<span class="text-ok">Valid</span>' in body


def test_an_unparseable_reply_is_shown_as_it_came(user_client, user):
    conversation = ConversationFactory(created_by=user, document=TRUNCATED_REPLY)

    body = page(user_client, conversation)

    assert "The stored reply is not a JSON object" in body
    assert '<pre class="raw-text">{&quot;conversation_metadata&quot;: {&quot;client_persona' in body
    assert body.count('class="turn ') == 0


def test_a_missing_file_is_said_not_a_server_error(user_client, user):
    conversation = ConversationFactory(created_by=user)
    default_storage.delete(conversation.file_path)

    body = page(user_client, conversation)

    assert f"The file {conversation.file_path} is missing from storage." in body


def test_the_page_of_someone_elses_or_a_deactivated_conversation_is_not_found(
    user_client, user, other_user
):
    theirs = ConversationFactory(created_by=other_user)
    gone = ConversationFactory(created_by=user, is_active=False)
    staff = Client()
    staff.force_login(UserFactory(is_staff=True))

    assert user_client.get(f"/conversations/{theirs.pk}/").status_code == 404
    assert user_client.get(f"/conversations/{gone.pk}/").status_code == 404
    assert staff.get(f"/conversations/{theirs.pk}/").status_code == 200


def test_enrich_from_the_page_redirects_back_with_the_outcome(user_client, user):
    conversation = ConversationFactory(created_by=user, conversation_name="Fresh chat")

    response = user_client.post(
        f"/conversations/{conversation.pk}/actions/", {"action": "enrich"}, follow=True
    )

    assert response.redirect_chain == [(f"/conversations/{conversation.pk}/", 302)]
    assert "“Fresh chat” is enriched." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED
    assert default_storage.exists(conversation.enriched_file_path)


def test_retry_from_the_page_reports_the_failure_again(user_client, user):
    conversation = ConversationFactory(
        created_by=user, conversation_name="Broken chat", document=TRUNCATED_REPLY
    )
    enrich_one(conversation, user=user, source=RunSource.PAGE)

    body = page(user_client, Conversation.objects.get(pk=conversation.pk))
    response = user_client.post(
        f"/conversations/{conversation.pk}/actions/", {"action": "enrich"}, follow=True
    )

    assert ">Retry enrichment</button>" in body
    assert "INVALID_JSON_SYNTAX" in body
    assert "“Broken chat” failed enrichment: Validation failed: INVALID_JSON_SYNTAX" in (
        response.content.decode()
    )
    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.VALIDATION_FAILED


def test_force_re_enrich_replaces_the_enriched_file(user_client, user):
    conversation = ConversationFactory(created_by=user)
    enrich_one(conversation, user=user, source=RunSource.PAGE)
    conversation.refresh_from_db()
    first = conversation.enriched_at
    plain = user_client.post(
        f"/conversations/{conversation.pk}/actions/", {"action": "enrich"}, follow=True
    )

    forced = user_client.post(
        f"/conversations/{conversation.pk}/actions/", {"action": "force"}, **HX
    )

    assert "was not enriched: already enriched (use Re-enrich to run it again)." in (
        plain.content.decode()
    )
    assert forced.status_code == 200
    assert forced["HX-Redirect"] == f"/conversations/{conversation.pk}/"
    conversation.refresh_from_db()
    assert conversation.enriched_at > first
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED


def test_deactivate_takes_it_out_of_the_lists_and_goes_to_the_list(user_client, user):
    conversation = ConversationFactory(created_by=user, conversation_name="Old chat")

    response = user_client.post(
        f"/conversations/{conversation.pk}/actions/", {"action": "deactivate"}, follow=True
    )

    assert response.redirect_chain == [("/conversations/", 302)]
    body = response.content.decode()
    assert "“Old chat” is deactivated" in body
    assert response.context["page"].paginator.count == 0
    conversation.refresh_from_db()
    assert conversation.is_active is False
    assert default_storage.exists(conversation.file_path)


def test_deactivate_goes_back_to_the_filtered_list_the_page_was_opened_from(user_client, user):
    conversation = ConversationFactory(created_by=user, conversation_name="Old chat")
    ConversationFactory(created_by=user, conversation_name="Other chat")
    listed = "/conversations/?q=chat&status=not_started"

    opened = user_client.get(
        f"/conversations/{conversation.pk}/", headers={"Referer": f"http://testserver{listed}"}
    )
    body = opened.content.decode()
    # What the browser posts from the page's hidden field.
    back = html.unescape(body.split('name="back" value="')[1].split('"')[0])
    enriched = user_client.post(
        f"/conversations/{conversation.pk}/actions/", {"action": "enrich", "back": back}
    )
    response = user_client.post(
        f"/conversations/{conversation.pk}/actions/",
        {"action": "deactivate", "back": back},
        follow=True,
    )

    assert back == listed
    assert '<a href="/conversations/?q=chat&amp;status=not_started">Conversations</a>' in body
    # Enriching keeps the way back on the page's address.
    assert enriched["Location"] == (
        f"/conversations/{conversation.pk}/?back=%2Fconversations%2F%3Fq%3Dchat%26status%3Dnot_started"
    )
    assert response.redirect_chain == [(listed, 302)]


def test_a_foreign_or_other_page_is_not_a_way_back(user_client, user):
    conversation = ConversationFactory(created_by=user)

    other = user_client.get(
        f"/conversations/{conversation.pk}/", headers={"Referer": "http://testserver/runs/"}
    )
    foreign = user_client.post(
        f"/conversations/{conversation.pk}/actions/",
        {"action": "deactivate", "back": "https://evil.example/conversations/?q=x"},
    )

    assert foreign["Location"] == "/conversations/"
    assert 'name="back" value="/conversations/"' in other.content.decode()


def test_an_unknown_action_changes_nothing(user_client, user):
    conversation = ConversationFactory(created_by=user)

    response = user_client.post(
        f"/conversations/{conversation.pk}/actions/", {"action": "delete"}, follow=True
    )
    refused = user_client.get(f"/conversations/{conversation.pk}/actions/")

    assert "Unknown action; nothing was done." in response.content.decode()
    assert refused.status_code == 405
    conversation.refresh_from_db()
    assert (conversation.is_active, conversation.enrichment_status) == (True, "not_started")


def test_actions_on_someone_elses_conversation_are_not_found(user_client, other_user):
    theirs = ConversationFactory(created_by=other_user)

    response = user_client.post(f"/conversations/{theirs.pk}/actions/", {"action": "deactivate"})

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active is True


def test_the_report_page_leads_back_to_the_conversation_and_offers_its_actions(user_client, user):
    conversation = ConversationFactory(created_by=user, conversation_name="Report chat")

    body = user_client.get(f"/conversations/{conversation.pk}/validation-report/").content.decode()

    assert f'<a href="/conversations/{conversation.pk}/">Report chat</a> /' in body
    assert f'action="/conversations/{conversation.pk}/actions/"' in body
    assert ">Enrich</button>" in body


def test_conversation_names_in_every_list_link_to_its_page(make_job, user_client, user):
    job = make_job(user, valid=1, invalid=1)
    truncated = Conversation.objects.get(conversation_name="Truncated chat 1")
    valid = Conversation.objects.get(conversation_name="Valid chat 1")
    user_client.post(f"/batch-jobs/{job.pk}/enrich/")
    run = a_run([truncated.pk], user=user, source="page")
    lanes.process_run(run.pk)
    run = EnrichmentRun.objects.get(pk=run.pk)

    listing = user_client.get("/conversations/").content.decode()
    job_page = user_client.get(f"/batch-jobs/{job.pk}/").content.decode()
    run_page = user_client.get(f"/runs/{run.pk}/").content.decode()
    enriched = user_client.post(
        "/conversations/enrich/", {"ids": [truncated.pk]}, **HX
    ).content.decode()

    for conversation in (truncated, valid):
        link = f'href="/conversations/{conversation.pk}/"'
        assert link in listing
        assert link in job_page
    truncated_link = f'href="/conversations/{truncated.pk}/"'
    assert run.failed == 1
    assert truncated_link in run_page
    assert truncated_link in enriched
    assert job_page.count(truncated_link) == 2  # the items table and the failures list


def test_quality_without_a_score_of_its_own_is_its_pairs_mean_as_in_its_training_file(
    user_client, user
):
    from tests.factories import enriched_conversation
    from training import services
    from training.eligibility import select_ids

    conversation = enriched_conversation(created_by=user, quality_score=None)
    change = services.create_training_file(
        name="Set", user=user, selection=select_ids([conversation.pk], user=user)
    )
    training_file = change.training_file
    training_file.refresh_from_db()
    assert training_file.avg_quality_score is not None

    body = page(user_client, conversation)

    shown = f"{training_file.avg_quality_score:.2f}"
    assert f'<dt>Quality</dt><dd>{shown} <span class="muted">(its training pairs\' mean)' in body


def test_quality_of_its_own_is_shown_with_two_decimals(user_client, user):
    conversation = ConversationFactory(created_by=user, quality_score=4)

    assert "<dt>Quality</dt><dd>4.00</dd>" in page(user_client, conversation)
