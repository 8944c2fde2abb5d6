"""The training-file pages: the list, one file, choosing conversations (from the
conversations list and a batch job's page), create, add, remove, rebuild, archive, delete,
and the progress of a background build."""

import html
import json
import re
import uuid

import pytest
from django.contrib.messages import get_messages
from django.core.files.storage import default_storage
from django.utils import timezone

from conversations.models import Conversation
from tests.counting import COUNT_QUERIES
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    PersonaFactory,
    TrainingFileConversationFactory,
    UserFactory,
    enriched_conversation,
)
from training import services
from training.eligibility import select_ids
from training.models import TrainingFile
from training.views import FILES_PER_PAGE

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
POLL_EVERY_SECOND = 'hx-trigger="every 1s"'


def completed(owner, count: int = 1, **fields) -> list[Conversation]:
    return [enriched_conversation(created_by=owner, **fields) for _ in range(count)]


def make_file(owner, conversations, name: str = "March set") -> TrainingFile:
    selection = select_ids([c.pk for c in conversations], user=owner)
    change = services.create_training_file(name=name, user=owner, selection=selection)
    change.training_file.refresh_from_db()
    return change.training_file


def messages_of(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


def text(response) -> str:
    return html.unescape(response.content.decode())


def members(training_file) -> list[uuid.UUID]:
    return list(training_file.memberships.order_by("id").values_list("conversation_id", flat=True))


# Navigation and list ------------------------------------------------------------------


def test_the_navigation_leads_to_the_training_files(user_client):
    conversations = user_client.get("/conversations/").content.decode()
    listing = user_client.get("/training-files/").content.decode()

    assert '<a href="/training-files/">Training files</a>' in conversations
    assert '<a href="/training-files/" aria-current="page">Training files</a>' in listing


def test_the_list_shows_own_files_with_their_figures(user_client, user, other_user):
    mine = make_file(user, completed(user, 2), name="Calm set")
    make_file(other_user, completed(other_user), name="Mallory's set")

    response = user_client.get("/training-files/")

    body = text(response)
    assert response.status_code == 200
    assert f'<a href="/training-files/{mine.pk}/">Calm set</a>' in body
    assert "Mallory's set" not in body
    assert '<td class="num" data-label="Conversations">2</td>' in body
    assert '<td class="num" data-label="Training pairs">8</td>' in body
    assert '<td class="num" data-label="Avg quality">3.00</td>' in body
    assert 'hx-trigger="every 2s"' not in body


def test_every_row_counts_its_own_members_on_every_page(user_client, user):
    now = timezone.now()
    files = [
        TrainingFile.objects.create(
            name=f"Set {n}", created_by=user, created_at=now - timezone.timedelta(hours=n)
        )
        for n in range(FILES_PER_PAGE + 1)
    ]
    for n, training_file in enumerate(files):
        for _ in range(n % 3):
            TrainingFileConversationFactory(training_file=training_file)
    oldest = files[-1]

    first = text(user_client.get("/training-files/"))
    second = text(user_client.get("/training-files/?page=2"))

    counts = re.findall(r'data-label="Conversations">(\d+)<', first)
    assert counts == [str(n % 3) for n in range(FILES_PER_PAGE)]
    assert f'<a href="/training-files/{oldest.pk}/">{oldest.name}</a>' in second
    assert re.findall(r'data-label="Conversations">(\d+)<', second) == [str(FILES_PER_PAGE % 3)]
    assert f"Page 2 of 2 ({FILES_PER_PAGE + 1} in all)" in re.sub(r"<[^>]+>", "", second)


def test_staff_see_every_file(client, other_user):
    make_file(other_user, completed(other_user), name="Mallory's set")
    client.force_login(UserFactory(is_staff=True))

    assert "Mallory's set" in text(client.get("/training-files/"))


def test_the_list_polls_while_a_file_is_being_built(user_client, user):
    TrainingFile.objects.create(name="Big", created_by=user, build_total=500, build_done=120)

    full = user_client.get("/training-files/")
    partial = user_client.get("/training-files/", **HX)

    assert 'hx-trigger="every 2s"' in full.content.decode()
    assert "120 / 500" in full.content.decode()
    assert partial.content.decode().lstrip().startswith('<section id="files"')
    assert "<html" not in partial.content.decode()


@pytest.mark.parametrize("count", [1, 3])
def test_the_list_takes_the_same_queries_at_any_size(
    user_client, user, count, django_assert_num_queries
):
    for n in range(count):
        TrainingFile.objects.create(name=f"F{n}", created_by=user)

    # session, user, the count, the page, its files' member counts, and (files being
    # built) whether a worker runs
    with django_assert_num_queries(5 + COUNT_QUERIES):
        response = user_client.get("/training-files/")

    assert response.status_code == 200


# One training file ------------------------------------------------------------------------


def test_the_detail_page_shows_counts_quality_distribution_downloads_and_members(user_client, user):
    persona = PersonaFactory(persona_key="careful_builder")
    conversations = completed(user, 2, persona=persona, quality_score=4.0)
    training_file = make_file(user, conversations)

    response = user_client.get(f"/training-files/{training_file.pk}/")

    body = text(response)
    assert response.status_code == 200
    assert '<span class="badge badge--tf-active">Active</span>' in body
    assert "<div><dt>Conversations</dt><dd>2</dd></div>" in body
    assert "<div><dt>Training pairs</dt><dd>8</dd></div>" in body
    assert "<div><dt>Avg quality</dt><dd>4.00</dd></div>" in body
    assert '<code>careful_builder</code> <span class="muted">2</span>' in body
    assert 'value="100"' in body
    for file_format in ("json", "jsonl", "chat-jsonl"):
        assert (
            f'href="/api/training-files/{training_file.pk}/download?format={file_format}" download'
            in body
        )
    for conversation in conversations:
        assert f'value="{conversation.conversation_id}" form="remove-members"' in body
        # A member's name opens the conversation's page.
        assert (
            f'<a href="/conversations/{conversation.pk}/">{conversation.display_name}</a>' in body
        )
    assert "Rebuild" in body
    assert POLL_EVERY_SECOND not in body


def test_another_users_file_is_404(user_client, other_user):
    training_file = make_file(other_user, completed(other_user))

    assert user_client.get(f"/training-files/{training_file.pk}/").status_code == 404
    assert user_client.post(f"/training-files/{training_file.pk}/rebuild/").status_code == 404
    assert user_client.post(f"/training-files/{training_file.pk}/delete/").status_code == 404
    assert TrainingFile.objects.filter(pk=training_file.pk).exists()


def test_the_members_table_pages_with_htmx(user_client, user):
    training_file = make_file(user, completed(user))

    response = user_client.get(f"/training-files/{training_file.pk}/", **HX)

    assert response.content.decode().lstrip().startswith('<section id="members"')


def test_the_page_says_when_members_were_enriched_again_since_the_build(user_client, user):
    conversation = completed(user)[0]
    training_file = make_file(user, [conversation])
    Conversation.objects.filter(pk=conversation.pk).update(
        enriched_at=timezone.now() + timezone.timedelta(minutes=1)
    )

    body = text(user_client.get(f"/training-files/{training_file.pk}/"))

    assert "1 conversation was enriched again since the files were built" in body
    assert "enriched again</span>" in body


def test_a_member_changed_but_not_enriched_again_is_not_reported(user_client, user):
    conversation = completed(user)[0]
    training_file = make_file(user, [conversation])
    Conversation.objects.filter(pk=conversation.pk).update(conversation_name="Renamed")

    body = text(user_client.get(f"/training-files/{training_file.pk}/"))

    assert "enriched again since the files were built" not in body


def test_a_failed_build_says_why_and_that_the_files_are_the_previous_ones(user_client, user):
    conversation = completed(user)[0]
    training_file = make_file(user, [conversation])
    Conversation.objects.filter(pk=conversation.pk).update(enrichment_status="validation_failed")
    with pytest.raises(services.BuildFailed):
        services.rebuild_training_file(training_file)

    body = text(user_client.get(f"/training-files/{training_file.pk}/"))

    assert '<span class="badge badge--tf-failed">Failed</span>' in body
    assert "The last build failed." in body
    assert f"{conversation.conversation_id} (validation failed)" in body
    assert "The downloads below are from the previous build." in body


# Background builds ---------------------------------------------------------------------------


def test_a_file_being_built_shows_its_progress_and_polls(user_client, user):
    training_file = TrainingFile.objects.create(
        name="Big", created_by=user, build_total=400, build_done=100
    )

    page = user_client.get(f"/training-files/{training_file.pk}/").content.decode()
    poll = user_client.get(f"/training-files/{training_file.pk}/progress/", **HX)

    assert POLL_EVERY_SECOND in page
    assert f'hx-get="/training-files/{training_file.pk}/progress/"' in page
    assert "<strong>100 / 400</strong> conversations built" in page
    assert '<progress max="100" value="25"' in page
    assert poll.status_code == 200
    assert poll.content.decode().lstrip().startswith('<section id="build"')
    assert POLL_EVERY_SECOND in poll.content.decode()
    assert "HX-Refresh" not in poll


def test_the_last_poll_reloads_the_page(user_client, user):
    training_file = make_file(user, completed(user))

    poll = user_client.get(f"/training-files/{training_file.pk}/progress/", **HX)
    plain = user_client.get(f"/training-files/{training_file.pk}/progress/")

    assert poll["HX-Refresh"] == "true"
    assert POLL_EVERY_SECOND not in poll.content.decode()
    assert plain.status_code == 302
    assert plain["Location"] == f"/training-files/{training_file.pk}/"


# Choosing conversations ----------------------------------------------------------------------


def test_the_conversations_list_offers_a_training_file_of_ticked_rows_and_of_a_filter(
    user_client, user
):
    completed(user)

    body = user_client.get("/conversations/?status=completed").content.decode()

    assert 'formaction="/training-files/new/"' in body
    assert "Create training file…" in body
    assert 'name="selection" value="matching"' in body
    assert "Training file of all matching…" in body


def test_the_batch_job_page_links_to_a_training_file_of_the_job(user_client, user):
    job = BatchJobFactory(created_by=user)

    body = user_client.get(f"/batch-jobs/{job.pk}/").content.decode()

    assert (
        f'<a href="/training-files/new/?batch_job={job.pk}">Make a training file of it</a>' in body
    )


def test_ticked_rows_show_what_would_go_in(user_client, user):
    good = completed(user, 2)
    pending = ConversationFactory(created_by=user)
    ids = [str(c.pk) for c in [*good, pending]]

    full = user_client.post("/training-files/new/", {"ids": ids})
    panel = user_client.post("/training-files/new/", {"ids": ids}, **HX)

    body = text(full)
    assert full.status_code == 200
    assert (
        "3 selected conversations: <strong>2 completed conversations</strong> will go in;" in body
    )
    assert "1 is not completed with an enriched file and will be left out" in body
    for value in ids:
        assert f'<input type="hidden" name="ids" value="{value}">' in body
    assert '<form method="post" action="/training-files/create/"' in body
    assert panel.content.decode().lstrip().startswith('<section id="training-selection"')
    assert not TrainingFile.objects.exists()


def test_everything_matching_a_filter_is_offered(user_client, user):
    completed(user, 2)
    ConversationFactory(created_by=user)

    response = user_client.post(
        "/training-files/new/", {"selection": "matching", "status": "completed"}
    )

    body = text(response)
    assert "All conversations matching Enrichment status: Completed:" in body
    assert "<strong>2 completed conversations</strong> will go in." in body
    assert '<input type="hidden" name="selection" value="matching">' in body
    assert '<input type="hidden" name="status" value="completed">' in body


def test_a_batch_job_is_offered_by_its_completed_conversations(user_client, user):
    job = BatchJobFactory(created_by=user, name="March batch")
    BatchItemFactory(batch_job=job, conversation=completed(user)[0])
    BatchItemFactory(batch_job=job)

    body = text(user_client.get(f"/training-files/new/?batch_job={job.pk}"))

    assert (
        "The batch job “March batch”: <strong>1 completed conversation</strong> will go in;" in body
    )
    assert f'<input type="hidden" name="batch_job" value="{job.pk}">' in body


def test_choosing_nothing_is_an_error(user_client):
    response = user_client.post("/training-files/new/", {}, **HX)

    assert response.status_code == 422
    assert "Choose conversations: tick rows, use a filter, a batch job, or paste ids." in text(
        response
    )


def test_someone_elses_conversations_or_job_are_404(user_client, other_user):
    theirs = completed(other_user)[0]
    job = BatchJobFactory(created_by=other_user)

    assert user_client.post("/training-files/new/", {"ids": [theirs.pk]}).status_code == 404
    assert user_client.get(f"/training-files/new/?batch_job={job.pk}").status_code == 404


# Creating and adding ---------------------------------------------------------------------------


def test_creating_from_ticked_rows_takes_the_completed_ones(user_client, user):
    good = completed(user, 2)
    pending = ConversationFactory(created_by=user)

    response = user_client.post(
        "/training-files/create/",
        {"ids": [str(c.pk) for c in [*good, pending]], "name": "Calm set", "description": "Two"},
    )

    training_file = TrainingFile.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/training-files/{training_file.pk}/"
    assert messages_of(response) == [
        "Training file “Calm set” created with 2 conversations. The files are built. "
        "1 conversation left out: 1 not completed."
    ]
    assert (training_file.name, training_file.description, training_file.status) == (
        "Calm set",
        "Two",
        "active",
    )
    assert members(training_file) == [c.conversation_id for c in good]
    assert default_storage.exists(training_file.json_file_path)


def test_creating_with_htmx_redirects_the_browser(user_client, user):
    conversation = completed(user)[0]

    response = user_client.post(
        "/training-files/create/", {"ids": [str(conversation.pk)], "name": "Quick"}, **HX
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/training-files/{TrainingFile.objects.get().pk}/"


def test_a_taken_name_shows_the_form_again_with_the_error(user_client, user):
    conversation = completed(user)[0]
    make_file(user, [conversation], name="Taken")

    response = user_client.post(
        "/training-files/create/", {"ids": [str(conversation.pk)], "name": "Taken"}
    )

    assert response.status_code == 422
    assert "You already have a training file named “Taken”." in text(response)
    assert f'<input type="hidden" name="ids" value="{conversation.pk}">' in text(response)
    assert TrainingFile.objects.count() == 1


def test_creating_over_the_bulk_limit_builds_in_the_background(user_client, user, settings):
    settings.ENRICHMENT_BULK_LIMIT = 1
    conversations = completed(user, 2)

    response = user_client.post(
        "/training-files/create/",
        {"selection": "matching", "status": "completed", "name": "Big one"},
    )

    training_file = TrainingFile.objects.get()
    assert messages_of(response) == [
        "Training file “Big one” created with 2 conversations. "
        "The files are being built in the background."
    ]
    assert training_file.status == "processing"
    assert members(training_file) == [c.conversation_id for c in reversed(conversations)]
    page = user_client.get(f"/training-files/{training_file.pk}/").content.decode()
    assert POLL_EVERY_SECOND in page


def test_adding_ticked_rows_to_an_existing_file(user_client, user):
    first, second = completed(user, 2)
    training_file = make_file(user, [first])

    response = user_client.post(
        "/training-files/add/",
        {"training_file": training_file.pk, "ids": [str(first.pk), str(second.pk)]},
    )

    assert response["Location"] == f"/training-files/{training_file.pk}/"
    assert messages_of(response) == [
        "Added 1 conversation to “March set”. 1 was already in it. The files are built."
    ]
    assert members(training_file) == [first.conversation_id, second.conversation_id]


def test_adding_a_batch_job_from_the_detail_page_comes_back_to_it(user_client, user):
    training_file = make_file(user, completed(user))
    job = BatchJobFactory(created_by=user)
    item = BatchItemFactory(batch_job=job, conversation=completed(user)[0])
    page = f"/training-files/{training_file.pk}/"

    form = user_client.get(page).content.decode()
    response = user_client.post(
        "/training-files/add/",
        {"training_file": training_file.pk, "batch_job": job.pk, "next": page},
    )

    # The job with completed conversations is the one offered first.
    assert f'<option value="{job.pk}" selected>' in form
    assert response["Location"] == page
    assert item.conversation.conversation_id in members(training_file)


def test_pasted_ids_that_are_not_ids_come_back_as_an_error(user_client, user):
    training_file = make_file(user, completed(user))
    page = f"/training-files/{training_file.pk}/"

    response = user_client.post(
        "/training-files/add/",
        {"training_file": training_file.pk, "id_text": "not-an-id", "next": page},
    )

    assert response["Location"] == page
    assert messages_of(response) == ["“not-an-id” is not a conversation id."]
    assert len(members(training_file)) == 1


def test_pasted_ids_are_added(user_client, user):
    training_file = make_file(user, completed(user))
    extra = completed(user, 2)

    user_client.post(
        "/training-files/add/",
        {
            "training_file": training_file.pk,
            "id_text": f"{extra[0].conversation_id}, {extra[1].pk}\n",
            "next": f"/training-files/{training_file.pk}/",
        },
    )

    assert members(training_file)[1:] == [c.conversation_id for c in extra]


def test_adding_to_someone_elses_file_is_404(user_client, user, other_user):
    training_file = make_file(other_user, completed(other_user))
    mine = completed(user)[0]

    response = user_client.post(
        "/training-files/add/", {"training_file": training_file.pk, "ids": [str(mine.pk)]}
    )

    assert response.status_code == 404
    assert len(members(training_file)) == 1


# Lifecycle -----------------------------------------------------------------------------------


def test_removing_ticked_members_rebuilds_without_them(user_client, user):
    first, second = completed(user, 2)
    training_file = make_file(user, [first, second])

    response = user_client.post(
        f"/training-files/{training_file.pk}/remove/", {"ids": [str(first.conversation_id)]}
    )

    assert response["Location"] == f"/training-files/{training_file.pk}/"
    assert messages_of(response) == [
        "Removed 1 conversation from “March set”. The files are built."
    ]
    training_file.refresh_from_db()
    assert members(training_file) == [second.conversation_id]
    document = json.loads(default_storage.open(training_file.json_file_path).read())
    assert document["training_file_metadata"]["total_conversations"] == 1


def test_removing_nothing_ticked_says_so(user_client, user):
    training_file = make_file(user, completed(user))

    response = user_client.post(f"/training-files/{training_file.pk}/remove/", {})

    assert messages_of(response) == ["Tick the conversations to remove."]
    assert len(members(training_file)) == 1


def test_rebuild_from_the_page(user_client, user):
    training_file = make_file(user, completed(user))
    before = training_file.json_file_path

    response = user_client.post(f"/training-files/{training_file.pk}/rebuild/", **HX)

    assert response["HX-Redirect"] == f"/training-files/{training_file.pk}/"
    assert messages_of(response) == ["Rebuilding “March set”. The files are built."]
    training_file.refresh_from_db()
    assert training_file.json_file_path != before


def test_archive_and_unarchive_from_the_page(user_client, user):
    training_file = make_file(user, completed(user))

    archived = user_client.post(f"/training-files/{training_file.pk}/archive/")
    page = text(user_client.get(f"/training-files/{training_file.pk}/"))
    unarchived = user_client.post(f"/training-files/{training_file.pk}/archive/", {"undo": "1"})

    assert messages_of(archived) == ["Training file “March set” archived."]
    assert '<span class="badge badge--tf-archived">Archived</span>' in page
    assert "Add more" not in page
    assert "Remove selected" not in page
    assert messages_of(unarchived) == ["Training file “March set” unarchived."]
    training_file.refresh_from_db()
    assert training_file.status == "active"


def test_delete_asks_then_removes_the_file_and_what_it_stored(
    user_client, user, django_capture_on_commit_callbacks
):
    training_file = make_file(user, completed(user))
    paths = training_file.stored_paths

    confirm = user_client.get(f"/training-files/{training_file.pk}/delete/")
    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(f"/training-files/{training_file.pk}/delete/")

    assert "Delete “March set”?" in text(confirm)
    assert response["Location"] == "/training-files/"
    assert messages_of(response) == ["Training file “March set” deleted, with its files."]
    assert not TrainingFile.objects.exists()
    assert [default_storage.exists(path) for path in paths] == [False, False, False]
    assert Conversation.objects.count() == 1
