"""The conversations page: list, filters, ordering, enrich selected / per row, and the
validation report panel."""

import pytest

from conversations.models import Conversation, EnrichmentStatus, Tier
from enrichment.models import EnrichmentRun, RunSource
from enrichment.runs import lanes
from tests.counting import COUNT_QUERIES
from tests.factories import TRUNCATED_REPLY, ConversationFactory, PersonaFactory, UserFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def names(response) -> list[str]:
    return [c.display_name for c in response.context["page"].object_list]


# List ----------------------------------------------------------------------------


def test_conversation_list_redirects_anonymous_users_to_login(client):
    response = client.get("/conversations/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/conversations/"


def test_conversation_list_shows_own_conversations_with_their_columns(
    make_job, user_client, user, other_user
):
    persona = PersonaFactory(name="Sam Ortiz")
    job = make_job(user, valid=1, name="May batch")
    in_batch = job.items.get().conversation
    in_batch.persona = persona
    in_batch.tier = Tier.EDGE_CASE
    in_batch.save()
    untitled = ConversationFactory(created_by=user, conversation_name="")
    ConversationFactory(created_by=other_user, conversation_name="Mallory's chat")

    response = user_client.get("/conversations/")

    assert response.status_code == 200
    body = response.content.decode()
    assert names(response) == ["Untitled", "Valid chat 1"]
    assert "Mallory" not in body
    assert f'<code title="{in_batch.conversation_id}">' in body
    assert f'<a href="/batch-jobs/{job.pk}/" title="May batch">May batch</a>' in body
    assert '<td class="truncate" data-label="Persona" title="Sam Ortiz">Sam Ortiz</td>' in body
    assert '<td class="truncate" data-label="Tier">Edge case</td>' in body
    assert '<span class="badge badge--not_started">Not started</span>' in body
    assert '<td class="num" data-label="Turns">4</td>' in body
    assert f'value="{untitled.pk}" form="bulk-enrich"' in body
    assert f'href="/api/conversations/{in_batch.conversation_id}/download/raw"' in body
    assert "download/enriched" not in body
    assert ">Enrich</button>" in body


def test_conversation_list_shows_every_conversation_to_staff(client, user):
    ConversationFactory(created_by=user, conversation_name="Dana's chat")
    client.force_login(UserFactory(username="admin", is_staff=True))

    response = client.get("/conversations/")

    assert names(response) == ["Dana's chat"]


def test_conversation_list_offers_retry_for_failed_and_download_for_completed(user_client, user):
    failed = ConversationFactory(
        created_by=user,
        conversation_name="Broken",
        enrichment_status=EnrichmentStatus.VALIDATION_FAILED,
    )
    done = ConversationFactory(
        created_by=user, conversation_name="Done", enrichment_status=EnrichmentStatus.COMPLETED
    )

    response = user_client.get("/conversations/")

    body = response.content.decode()
    assert body.count(">Retry</button>") == 1
    assert ">Enrich</button>" not in body
    assert f'<input type="hidden" name="ids" value="{failed.pk}">' in body
    assert f'<input type="hidden" name="ids" value="{done.pk}">' not in body
    assert f'href="/api/conversations/{done.conversation_id}/download/enriched"' in body
    assert f'href="/api/conversations/{failed.conversation_id}/download/enriched"' not in body
    assert '<span class="badge badge--validation_failed">Validation failed</span>' in body
    assert '<span class="badge badge--completed">Completed</span>' in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=completed", ["Done"]),
        ("status=failed", ["Broken"]),
        ("status=not_started", ["Fresh"]),
        ("q=brok", ["Broken"]),
        ("q=sam+ort", ["Fresh"]),
        ("status=bogus", ["Fresh", "Done", "Broken"]),
    ],
)
def test_conversation_list_filters(query, expected, user_client, user):
    ConversationFactory(
        created_by=user,
        conversation_name="Broken",
        enrichment_status=EnrichmentStatus.ENRICHMENT_FAILED,
    )
    ConversationFactory(
        created_by=user, conversation_name="Done", enrichment_status=EnrichmentStatus.COMPLETED
    )
    ConversationFactory(
        created_by=user, conversation_name="Fresh", persona=PersonaFactory(name="Sam Ortiz")
    )

    response = user_client.get(f"/conversations/?{query}")

    assert response.status_code == 200
    assert names(response) == expected


def test_conversation_list_filters_by_batch_job_and_persona(make_job, user_client, user):
    job = make_job(user, valid=1, name="June batch")
    make_job(user, valid=1, name="July batch")
    persona = PersonaFactory(name="Ava Chen")
    ConversationFactory(created_by=user, conversation_name="Ava's chat", persona=persona)

    by_batch = user_client.get(f"/conversations/?batch={job.pk}")
    by_persona = user_client.get(f"/conversations/?persona={persona.pk}")

    assert names(by_batch) == ["Valid chat 1"]
    assert [c.batch_items.get().batch_job for c in by_batch.context["page"].object_list] == [job]
    assert names(by_persona) == ["Ava's chat"]
    assert f'<option value="{job.pk}" selected>June batch</option>' in by_batch.content.decode()


def test_conversation_list_filters_by_a_batch_job_missing_from_the_drop_down(
    make_job, user_client, user, monkeypatch
):
    monkeypatch.setattr("enrichment.forms.JOB_CHOICES", 1)
    older = make_job(user, valid=1, name="Older batch")
    make_job(user, valid=1, name="Newer batch")

    response = user_client.get(f"/conversations/?batch={older.pk}")

    assert [c.batch_items.get().batch_job for c in response.context["page"].object_list] == [older]
    body = response.content.decode()
    assert f'<option value="{older.pk}" selected>The selected batch job</option>' in body
    assert ">Newer batch</option>" in body


def test_conversation_list_filtered_by_another_users_batch_job_is_empty(
    make_job, user_client, user, other_user
):
    ConversationFactory(created_by=user, conversation_name="Mine")
    theirs = make_job(other_user, valid=1)

    response = user_client.get(f"/conversations/?batch={theirs.pk}")

    assert names(response) == []
    assert "No conversations match these filters." in response.content.decode()


def test_conversation_list_finds_a_conversation_by_its_business_id(user_client, user):
    wanted = ConversationFactory(created_by=user, conversation_name="Wanted")
    ConversationFactory(created_by=user, conversation_name="Other")

    response = user_client.get(f"/conversations/?q={wanted.conversation_id}")

    assert names(response) == ["Wanted"]


@pytest.mark.parametrize(
    ("order", "expected", "header"),
    [
        ("name", ["Alpha", "Beta", "Gamma"], 'aria-sort="ascending"><a href="?order=-name"'),
        ("-name", ["Gamma", "Beta", "Alpha"], 'aria-sort="descending"><a href="?order=name"'),
    ],
)
def test_conversation_list_orders_by_the_chosen_column(order, expected, header, user_client, user):
    for name in ("Beta", "Gamma", "Alpha"):
        ConversationFactory(created_by=user, conversation_name=name)

    response = user_client.get(f"/conversations/?order={order}")

    assert names(response) == expected
    assert header in response.content.decode()


def test_conversation_list_paginates_25_per_page_keeping_the_filters(user_client, user):
    for n in range(26):
        ConversationFactory(
            created_by=user, conversation_name=f"Chat {n:02}", document=None, turn_count=2
        )

    first = user_client.get("/conversations/?order=name")
    second = user_client.get("/conversations/?order=name&page=2")

    assert len(first.context["page"].object_list) == 25
    assert 'href="?order=name&amp;page=2"' in first.content.decode()
    assert names(second) == ["Chat 25"]


def test_conversation_list_htmx_request_gets_only_the_table_partial(user_client, user):
    ConversationFactory(created_by=user, conversation_name="Only chat")

    response = user_client.get("/conversations/?status=not_started", **HX)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="conversation-table"')
    assert 'hx-get="/conversations/?status=not_started"' in body
    assert "Only chat" in body
    assert "<html" not in body
    assert 'id="filters"' not in body
    assert response["Vary"] == "HX-Request, Cookie"


def test_conversation_list_history_restore_gets_the_whole_page(user_client, user):
    ConversationFactory(created_by=user, conversation_name="Only chat")

    response = user_client.get("/conversations/", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HX)

    assert response.status_code == 200
    assert "<html" in response.content.decode()


@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_conversation_list_query_count_does_not_grow_with_rows(
    rows, headers, make_job, user_client, user, django_assert_num_queries
):
    persona = PersonaFactory()
    job = make_job(user, valid=rows)
    Conversation.objects.filter(batch_items__batch_job=job).update(persona=persona)

    # session, user, batch choices, persona choices, count, page rows (persona joined),
    # the batch jobs of the page's rows, whether any is left to enrich
    with django_assert_num_queries(7 + COUNT_QUERIES):
        response = user_client.get("/conversations/", **headers)

    assert len(response.context["page"].object_list) == rows


# Enrich selected / per row -------------------------------------------------------


def test_enrich_selected_with_htmx_swaps_in_the_summary_and_asks_rows_to_reload(user_client, user):
    good = ConversationFactory(created_by=user, conversation_name="Good")
    bad = ConversationFactory(created_by=user, conversation_name="Bad", document=TRUNCATED_REPLY)
    untouched = ConversationFactory(created_by=user, conversation_name="Not selected")

    response = user_client.post(
        "/conversations/enrich/", {"ids": [str(good.pk), str(bad.pk)]}, **HX
    )

    assert response.status_code == 200
    assert response["HX-Trigger"] == "enrichment-done"
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="enrich-result"')
    assert "Enriched: 1, Failed: 1, Skipped: 0" in body
    assert ">Bad</a>" in body
    assert "Validation failed: INVALID_JSON_SYNTAX" in body
    for conversation in (good, bad, untouched):
        conversation.refresh_from_db()
    assert good.enrichment_status == EnrichmentStatus.COMPLETED
    assert bad.enrichment_status == EnrichmentStatus.VALIDATION_FAILED
    assert untouched.enrichment_status == EnrichmentStatus.NOT_STARTED


def test_enrich_selected_skips_completed_conversations(user_client, user):
    done = ConversationFactory(created_by=user, enrichment_status=EnrichmentStatus.COMPLETED)

    response = user_client.post("/conversations/enrich/", {"ids": [str(done.pk)]}, **HX)

    assert response.status_code == 200
    assert "Enriched: 0, Failed: 0, Skipped: 1 (1 already enriched)" in response.content.decode()


def test_enrich_selected_without_htmx_redirects_back_with_messages(user_client, user):
    good = ConversationFactory(created_by=user, conversation_name="Good")
    bad = ConversationFactory(created_by=user, conversation_name="Bad", document=TRUNCATED_REPLY)

    response = user_client.post(
        "/conversations/enrich/",
        {"ids": [str(good.pk), str(bad.pk)], "next": "/conversations/?status=not_started"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/conversations/?status=not_started"
    page = user_client.get("/conversations/").content.decode()
    assert "Enriched: 1, Failed: 1, Skipped: 0." in page
    assert "Bad: Validation failed: INVALID_JSON_SYNTAX" in page
    good.refresh_from_db()
    assert good.enrichment_status == EnrichmentStatus.COMPLETED


def test_enrich_selected_never_redirects_to_another_site(user_client, user):
    good = ConversationFactory(created_by=user)

    response = user_client.post(
        "/conversations/enrich/", {"ids": [str(good.pk)], "next": "https://evil.example/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/conversations/"


def test_enrich_selected_with_nothing_selected_explains_with_htmx(user_client, user):
    response = user_client.post("/conversations/enrich/", {}, **HX)

    assert response.status_code == 422
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="enrich-result"')
    assert "Select at least one conversation." in body
    assert "HX-Trigger" not in response


def test_enrich_selected_with_nothing_selected_explains_without_htmx(user_client, user):
    response = user_client.post("/conversations/enrich/", {"next": "/conversations/"})

    assert response.status_code == 302
    page = user_client.get(response["Location"]).content.decode()
    assert "Select at least one conversation." in page


def test_enrich_selected_rejects_a_malformed_id(user_client, user):
    response = user_client.post("/conversations/enrich/", {"ids": ["not-a-uuid"]}, **HX)

    assert response.status_code == 422
    assert "“not-a-uuid” is not a conversation id." in response.content.decode()


def test_enrich_selected_with_another_users_conversation_is_not_found(
    user_client, user, other_user
):
    mine = ConversationFactory(created_by=user)
    theirs = ConversationFactory(created_by=other_user)

    response = user_client.post(
        "/conversations/enrich/", {"ids": [str(mine.pk), str(theirs.pk)]}, **HX
    )

    assert response.status_code == 404
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.enrichment_status == EnrichmentStatus.NOT_STARTED
    assert theirs.enrichment_status == EnrichmentStatus.NOT_STARTED


def test_enrich_selected_above_the_bulk_limit_starts_a_run_and_opens_its_page(
    user_client, user, settings, django_capture_on_commit_callbacks
):
    settings.ENRICHMENT_BULK_LIMIT = 2
    conversations = [ConversationFactory(created_by=user) for _ in range(3)]

    response = user_client.post(
        "/conversations/enrich/", {"ids": [str(c.pk) for c in conversations]}, **HX
    )

    run = EnrichmentRun.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/runs/{run.pk}/"
    assert (run.source, run.created_by, run.total) == (RunSource.PAGE, user, 3)
    assert list(run.items.order_by("position").values_list("conversation_id", flat=True)) == [
        c.pk for c in conversations
    ]
    # Nothing was enriched in the request.
    assert not Conversation.objects.filter(enrichment_status="completed").exists()


def test_enrich_selected_refuses_get(user_client):
    response = user_client.get("/conversations/enrich/")

    assert response.status_code == 405


# Validation report ---------------------------------------------------------------


def test_validation_report_panel_with_htmx_shows_blockers_warnings_and_error(user_client, user):
    conversation = ConversationFactory(created_by=user, document=TRUNCATED_REPLY)
    user_client.post("/conversations/enrich/", {"ids": [str(conversation.pk)]}, **HX)
    conversation.refresh_from_db()
    conversation.validation_report["warnings"] = [
        {
            "code": "SHORT_CONTENT",
            "severity": "warning",
            "field": "turns[1].content",
            "message": "Content is very short.",
            "suggestion": "Write a fuller reply.",
        }
    ]
    conversation.save()

    response = user_client.get(f"/conversations/{conversation.pk}/validation-report/", **HX)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="report"')
    assert "<html" not in body
    assert "<h3>Blockers</h3>" in body
    assert "<code>INVALID_JSON_SYNTAX</code>" in body
    assert "<h3>Warnings</h3>" in body
    assert (
        "<code>SHORT_CONTENT</code> at <code>turns[1].content</code>: Content is very short."
        in body
    )
    assert "Suggestion: Write a fuller reply." in body
    assert "<strong>Error (Validation):</strong>" in body
    assert '<span class="badge badge--validation_failed">Validation failed</span>' in body
    assert response["Vary"] == "HX-Request, Cookie"


def test_validation_report_without_htmx_is_a_whole_page(user_client, user):
    conversation = ConversationFactory(created_by=user, conversation_name="Fresh")

    response = user_client.get(f"/conversations/{conversation.pk}/validation-report/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" in body
    assert "Validation report: Fresh" in body
    assert "Not validated yet" in body


def test_validation_report_of_another_users_conversation_is_not_found(user_client, other_user):
    conversation = ConversationFactory(created_by=other_user)

    response = user_client.get(f"/conversations/{conversation.pk}/validation-report/", **HX)

    assert response.status_code == 404


def test_validation_report_requires_login(client, user):
    conversation = ConversationFactory(created_by=user)

    response = client.get(f"/conversations/{conversation.pk}/validation-report/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


# Enrich all matching this filter -------------------------------------------------


def run_members(run: EnrichmentRun) -> list[str]:
    return [i.conversation.conversation_name for i in run.items.order_by("position")]


def test_enrich_all_matching_is_offered_with_the_current_filters(make_job, user_client, user):
    job = make_job(user, valid=2, name="May batch")
    ConversationFactory(created_by=user, conversation_name="Loose chat")

    response = user_client.get(f"/conversations/?batch={job.pk}&q=chat&status=&order=name", **HX)

    body = response.content.decode()
    assert 'action="/conversations/enrich-matching/"' in body
    assert 'hx-post="/conversations/enrich-matching/" hx-swap="none"' in body
    assert (
        f'<input type="hidden" name="batch" value="{job.pk}">'
        '<input type="hidden" name="q" value="chat">'
    ) in body
    assert 'name="status"' not in body.split('id="enrich-matching"')[1].split("</form>")[0]
    assert ">Enrich all matching this filter</button>" in body
    assert "2 conversations match:" in body


def test_enrich_all_matching_is_not_offered_when_nothing_matches(user_client, user):
    ConversationFactory(created_by=user, conversation_name="Loose chat")

    response = user_client.get("/conversations/?q=nothing-like-this")

    assert "Enrich all matching this filter" not in response.content.decode()


def test_enrich_all_matching_starts_a_run_over_exactly_the_filtered_conversations(
    make_job, user_client, user, other_user
):
    job = make_job(user, valid=2, invalid=1, name="May batch")
    Conversation.objects.filter(conversation_name="Valid chat 2").update(
        enrichment_status=EnrichmentStatus.VALIDATION_FAILED
    )
    ConversationFactory(
        created_by=user,
        conversation_name="Failed elsewhere",
        enrichment_status=EnrichmentStatus.ENRICHMENT_FAILED,
    )
    ConversationFactory(
        created_by=other_user,
        conversation_name="Mallory's failure",
        enrichment_status=EnrichmentStatus.ENRICHMENT_FAILED,
    )

    response = user_client.post(
        "/conversations/enrich-matching/", {"batch": str(job.pk), "status": "failed"}, **HX
    )

    run = EnrichmentRun.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/runs/{run.pk}/"
    assert sorted(run_members(run)) == ["Valid chat 2"]
    assert (run.source, run.created_by, run.batch_job_id, run.force) == (
        RunSource.PAGE,
        user,
        None,
        False,
    )
    assert (
        run.description
        == "Enrich all matching: Enrichment status: Any failure; Batch job: May batch"
    )
    page = user_client.get(f"/runs/{run.pk}/").content.decode()
    assert "Started a background run over 1 conversation." in page


def test_enrich_all_matching_with_no_filter_takes_every_visible_conversation(
    user_client, user, other_user
):
    ConversationFactory(created_by=user, conversation_name="Mine A")
    ConversationFactory(created_by=user, conversation_name="Mine B", document=TRUNCATED_REPLY)
    ConversationFactory(
        created_by=user, conversation_name="Mine done", enrichment_status=EnrichmentStatus.COMPLETED
    )
    ConversationFactory(created_by=other_user, conversation_name="Mallory's")

    response = user_client.post("/conversations/enrich-matching/")

    run = EnrichmentRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.pk}/"
    assert sorted(run_members(run)) == ["Mine A", "Mine B", "Mine done"]
    assert run.description == "Enrich all matching: all conversations"

    lanes.process_run(run.pk)

    run.refresh_from_db()
    # Completed ones are skipped by the run, as everywhere else.
    assert (run.enriched, run.failed, run.skipped) == (1, 1, 1)


def test_enrich_all_matching_a_search_takes_only_the_matches(user_client, user):
    ConversationFactory(created_by=user, conversation_name="Loan worries")
    ConversationFactory(created_by=user, conversation_name="Loan payoff")
    ConversationFactory(created_by=user, conversation_name="Retirement")

    user_client.post("/conversations/enrich-matching/", {"q": "loan"})

    assert sorted(run_members(EnrichmentRun.objects.get())) == ["Loan payoff", "Loan worries"]


def test_enrich_all_matching_nothing_explains_and_goes_back_to_the_filtered_list(user_client, user):
    ConversationFactory(created_by=user, conversation_name="Loan worries")

    plain = user_client.post("/conversations/enrich-matching/", {"q": "pension"})
    htmx = user_client.post("/conversations/enrich-matching/", {"q": "pension"}, **HX)

    assert plain.status_code == 302
    assert plain["Location"] == "/conversations/?q=pension"
    assert htmx["HX-Redirect"] == "/conversations/?q=pension"
    assert (
        "No conversations match this filter." in user_client.get("/conversations/").content.decode()
    )
    assert EnrichmentRun.objects.count() == 0


def test_enrich_all_matching_says_when_everything_matching_is_enriched_already(user_client, user):
    ConversationFactory(created_by=user, enrichment_status=EnrichmentStatus.COMPLETED)
    ConversationFactory(created_by=user, enrichment_status=EnrichmentStatus.COMPLETED)
    ConversationFactory(created_by=user)

    completed = user_client.get("/conversations/", {"status": "completed"}).content.decode()
    everything = user_client.get("/conversations/").content.decode()
    started = user_client.post("/conversations/enrich-matching/", {"status": "completed"}, **HX)

    assert "2 conversations match, all enriched already" in completed
    assert "Enrich all matching this filter</button>" not in completed
    assert "Enrich all matching this filter</button>" in everything
    assert started["HX-Redirect"] == "/conversations/?status=completed"
    assert EnrichmentRun.objects.count() == 0
    after = user_client.get("/conversations/").content.decode()
    assert "Every conversation matching this filter is already enriched" in after


def test_enrich_all_matching_refuses_get(user_client):
    assert user_client.get("/conversations/enrich-matching/").status_code == 405


def test_enrich_all_matching_requires_login(client):
    response = client.post("/conversations/enrich-matching/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/conversations/enrich-matching/"


def test_enrich_all_matching_refuses_an_invalid_filter_instead_of_taking_everything(
    user_client, user
):
    from enrichment.models import EnrichmentRun

    ConversationFactory(created_by=user)

    response = user_client.post("/conversations/enrich-matching/", {"status": "bogus"})

    assert response.status_code == 302
    assert response["Location"] == "/conversations/"
    assert EnrichmentRun.objects.count() == 0
