"""Browsing conversations in the admin: list, filters, search, detail."""

import pytest

from conversations.models import EnrichmentStatus, ErrorCategory, Tier
from tests.admin.helpers import CONVERSATIONS
from tests.counting import COUNT_QUERIES
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    PersonaFactory,
    UserFactory,
)

# Session, user, the count (no second one of all rows), persona and batch-job filter
# choices, the page of rows with owner joined in, and the batch jobs of the page's rows.
LIST_QUERIES = 6 + COUNT_QUERIES


def listed(response) -> list:
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize("rows", [1, 3])
def test_conversation_list_costs_the_same_queries_for_1_and_3_rows(
    admin_client, django_assert_num_queries, rows
):
    persona = PersonaFactory()
    for _ in range(rows):
        BatchItemFactory(conversation__persona=persona)

    with django_assert_num_queries(LIST_QUERIES):
        response = admin_client.get(CONVERSATIONS)

    assert response.status_code == 200
    assert len(listed(response)) == rows


def test_conversation_list_shows_the_columns(admin_client):
    owner = UserFactory(username="dana")
    item = BatchItemFactory(
        batch_job__name="March batch",
        batch_job__created_by=owner,
        conversation__conversation_name="Windfall chat",
        conversation__tier=Tier.EDGE_CASE,
    )
    conversation = item.conversation

    response = admin_client.get(CONVERSATIONS)

    content = response.content.decode()
    business_id = str(conversation.conversation_id)
    assert f'<code title="{business_id}">{business_id[:8]}</code>' in content
    assert '<span class="truncate" title="Windfall chat">Windfall chat</span>' in content
    assert '<td class="field-owner"><span class="truncate" title="dana">dana</span></td>' in content
    job_url = f"/admin/conversations/batchjob/{item.batch_job_id}/change/"
    assert (
        f'<td class="field-groups"><a href="{job_url}" class="truncate" title="March batch">'
        "March batch</a></td>"
    ) in content
    assert 'class="status-badge status-badge--not_started"' in content
    assert '<td class="field-turns">4</td>' in content


def test_conversation_without_a_batch_job_shows_a_dash(admin_client):
    ConversationFactory()

    response = admin_client.get(CONVERSATIONS)

    assert '<td class="field-groups">-</td>' in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"enrichment_status__exact": EnrichmentStatus.COMPLETED}, "completed"),
        ({"tier__exact": Tier.SCENARIO}, "scenario"),
        ({"enrichment_error_category__exact": ErrorCategory.STORAGE}, "storage error"),
    ],
)
def test_conversation_list_filters_by_field(admin_client, query, expected):
    ConversationFactory(conversation_name="plain")
    ConversationFactory(conversation_name="completed", enrichment_status=EnrichmentStatus.COMPLETED)
    ConversationFactory(conversation_name="scenario", tier=Tier.SCENARIO)
    ConversationFactory(
        conversation_name="storage error",
        enrichment_status=EnrichmentStatus.ENRICHMENT_FAILED,
        enrichment_error_category=ErrorCategory.STORAGE,
    )

    response = admin_client.get(CONVERSATIONS, query)

    assert [c.conversation_name for c in listed(response)] == [expected]


def test_conversation_list_filters_by_persona(admin_client):
    persona = PersonaFactory()
    ConversationFactory(conversation_name="other")
    ConversationFactory(conversation_name="with persona", persona=persona)

    response = admin_client.get(CONVERSATIONS, {"persona__id__exact": str(persona.pk)})

    assert [c.conversation_name for c in listed(response)] == ["with persona"]


def test_conversation_list_filters_by_batch_job(admin_client):
    job = BatchJobFactory(name="Wanted job")
    BatchItemFactory(batch_job=job, conversation__conversation_name="in job")
    BatchItemFactory(conversation__conversation_name="in another job")
    ConversationFactory(conversation_name="in no job")

    response = admin_client.get(CONVERSATIONS, {"batch_job": str(job.pk)})

    assert [c.conversation_name for c in listed(response)] == ["in job"]
    assert '<a href="?batch_job=' + str(job.pk) + '">Wanted job</a>' in response.content.decode()


def test_conversation_list_batch_job_filter_matches_nothing_for_a_malformed_id(admin_client):
    BatchItemFactory()

    response = admin_client.get(CONVERSATIONS, {"batch_job": "not-a-uuid"})

    assert listed(response) == []


@pytest.mark.parametrize("id_field", ["conversation_id", "pk"])
def test_conversation_search_finds_either_id(admin_client, id_field):
    wanted = ConversationFactory(conversation_name="wanted")
    ConversationFactory(conversation_name="other")

    response = admin_client.get(CONVERSATIONS, {"q": str(getattr(wanted, id_field))})

    assert [c.conversation_name for c in listed(response)] == ["wanted"]


def test_conversation_search_matches_words_of_the_name(admin_client):
    ConversationFactory(conversation_name="Windfall allocation chat")
    ConversationFactory(conversation_name="Debt payoff chat")

    response = admin_client.get(CONVERSATIONS, {"q": "windfall chat"})

    assert [c.conversation_name for c in listed(response)] == ["Windfall allocation chat"]


# Detail ----------------------------------------------------------------------------------------


def change_page(client, conversation) -> str:
    response = client.get(f"{CONVERSATIONS}{conversation.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_validation_report_renders_as_an_escaped_table(admin_client):
    conversation = ConversationFactory(
        enrichment_status=EnrichmentStatus.VALIDATION_FAILED,
        enrichment_error="Validation failed: MISSING_SESSION_CONTEXT at conversation_metadata",
        enrichment_error_category=ErrorCategory.VALIDATION,
        validation_report={
            "isValid": False,
            "hasBlockers": True,
            "hasWarnings": True,
            "blockers": [
                {
                    "code": "MISSING_SESSION_CONTEXT",
                    "severity": "blocker",
                    "field": "conversation_metadata.session_context",
                    "message": "session_context is <missing>",
                    "suggestion": "Describe why the client came to this session.",
                }
            ],
            "warnings": [
                {
                    "code": "SHORT_CONTENT",
                    "severity": "warning",
                    "field": "turns[1].content",
                    "message": "Content is shorter than 10 characters.",
                }
            ],
            "conversationId": "x",
            "validatedAt": "2025-03-01T10:00:00+00:00",
            "summary": "1 blocker, 1 warning",
        },
    )

    content = change_page(admin_client, conversation)

    assert (
        "<p><strong>1 blocker, 1 warning</strong> (validated 2025-03-01T10:00:00+00:00)</p>"
        in content
    )
    assert (
        "<tr><td>blocker</td><td><code>MISSING_SESSION_CONTEXT</code></td>"
        "<td><code>conversation_metadata.session_context</code></td>"
        "<td>session_context is &lt;missing&gt;</td>"
        "<td>Describe why the client came to this session.</td></tr>"
        "<tr><td>warning</td><td><code>SHORT_CONTENT</code></td>"
        "<td><code>turns[1].content</code></td>"
        "<td>Content is shorter than 10 characters.</td><td></td></tr>"
    ) in content
    assert (
        "<p><strong>Validation</strong></p>"
        '<p><span class="preformatted">Validation failed: MISSING_SESSION_CONTEXT at '
        "conversation_metadata</span></p>"
    ) in content
    assert '"hasBlockers"' not in content


def test_validation_report_from_a_real_failed_run_is_readable(admin_client, enricher_client):
    conversation = ConversationFactory(document=b'{"turns": [')
    enricher_client.post(
        CONVERSATIONS,
        {"action": "enrich_selected", "_selected_action": [str(conversation.pk)], "index": 0},
    )

    content = change_page(admin_client, conversation)

    assert "<td>blocker</td><td><code>INVALID_JSON_SYNTAX</code></td>" in content
    assert "<p><strong>Validation</strong></p>" in content


def test_a_conversation_never_validated_says_so(admin_client):
    conversation = ConversationFactory()

    content = change_page(admin_client, conversation)

    assert "Not validated yet." in content
    assert "Not normalized yet." in content


def test_a_report_that_is_not_an_object_is_shown_as_escaped_json(admin_client):
    conversation = ConversationFactory(validation_report=["<odd>"])

    content = change_page(admin_client, conversation)

    assert "<pre>[\n  &quot;&lt;odd&gt;&quot;\n]</pre>" in content


def test_normalization_report_renders_fixes_and_warnings(admin_client):
    conversation = ConversationFactory(
        normalization_report={
            "fixes": {"controlCharactersRemoved": 3, "stringsNfcNormalized": 2},
            "warnings": [{"code": "DOCUMENT_TOO_SMALL", "message": "Only 812 bytes."}],
            "errors": [],
            "sizeBytes": 812,
        }
    )

    content = change_page(admin_client, conversation)

    assert (
        "<p>Fixes: 3 control characters removed, 2 strings put in Unicode NFC. Size: 812 bytes.</p>"
    ) in content
    assert (
        "<tr><td>warning</td><td><code>DOCUMENT_TOO_SMALL</code></td><td><code></code></td>"
        "<td>Only 812 bytes.</td><td></td></tr>"
    ) in content


def test_completed_conversation_links_both_downloads(admin_client, enricher_client):
    conversation = ConversationFactory()
    enricher_client.post(
        CONVERSATIONS,
        {"action": "enrich_selected", "_selected_action": [str(conversation.pk)], "index": 0},
    )

    content = change_page(admin_client, conversation)

    base = f"/api/conversations/{conversation.conversation_id}/download"
    assert (
        f'<a href="{base}/raw">Raw file</a> · <a href="{base}/enriched">Enriched file</a>'
        in content
    )


def test_conversation_not_completed_links_only_the_raw_download(admin_client):
    conversation = ConversationFactory()

    content = change_page(admin_client, conversation)

    base = f"/api/conversations/{conversation.conversation_id}/download"
    assert f'<a href="{base}/raw">Raw file</a>' in content
    assert f"{base}/enriched" not in content


def test_conversation_without_files_says_so(admin_client):
    conversation = ConversationFactory(document=None)

    content = change_page(admin_client, conversation)

    assert "No stored files" in content
    assert "/download/" not in content


def test_enrichment_history_is_read_only(admin_client):
    conversation = ConversationFactory()

    response = admin_client.get(f"{CONVERSATIONS}{conversation.pk}/change/")

    form_fields = set(response.context["adminform"].form.fields)
    assert form_fields == {
        "conversation_name",
        "created_by",
        "is_active",
        "tier",
        "quality_score",
        "persona",
        "emotional_arc",
        "training_topic",
        "template",
    }


def test_editing_a_conversation_keeps_its_enrichment_history(admin_client):
    conversation = ConversationFactory(
        enrichment_status=EnrichmentStatus.ENRICHMENT_FAILED,
        enrichment_error="Unexpected error: boom",
        enrichment_error_category=ErrorCategory.INTERNAL,
    )

    response = admin_client.post(
        f"{CONVERSATIONS}{conversation.pk}/change/",
        {
            "conversation_name": "Renamed",
            "created_by": conversation.created_by_id,
            "is_active": "on",
            "tier": Tier.SCENARIO,
            "quality_score": "4.5",
        },
    )

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.conversation_name == "Renamed"
    assert conversation.tier == Tier.SCENARIO
    assert conversation.enrichment_status == EnrichmentStatus.ENRICHMENT_FAILED
    assert conversation.enrichment_error == "Unexpected error: boom"


def test_conversations_cannot_be_added_in_the_admin(admin_client):
    response = admin_client.get(f"{CONVERSATIONS}add/")

    assert response.status_code == 403
