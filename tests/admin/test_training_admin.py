"""The admin: training files browsable, rebuilt, archived and deleted; "Add to a
training file…" on selected conversations."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
from django.test import Client

from conversations.models import Conversation
from tests.admin.helpers import CONVERSATIONS, action_choices, messages_of, run_action
from tests.factories import ConversationFactory, UserFactory, enriched_conversation
from training import services
from training.eligibility import select_ids
from training.models import TrainingFile

pytestmark = pytest.mark.django_db

TRAINING_FILES = "/admin/training/trainingfile/"


def make_file(owner, conversations, name="March set") -> TrainingFile:
    change = services.create_training_file(
        name=name, user=owner, selection=select_ids([c.pk for c in conversations], user=owner)
    )
    change.training_file.refresh_from_db()
    return change.training_file


def members(training_file) -> list:
    return list(training_file.memberships.order_by("id").values_list("conversation_id", flat=True))


def test_the_action_needs_the_permission_to_change_training_files(admin_client, browser_client):
    ConversationFactory()
    staff = UserFactory(is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_conversation", "delete_conversation", "change_trainingfile"]
        )
    )
    trainer = Client()
    trainer.force_login(staff)

    assert "add_to_training_file" in action_choices(admin_client.get(CONVERSATIONS))
    assert "add_to_training_file" in action_choices(trainer.get(CONVERSATIONS))
    assert "add_to_training_file" not in action_choices(browser_client.get(CONVERSATIONS))


def test_the_action_first_says_what_would_be_added(admin_client):
    good = [enriched_conversation() for _ in range(2)]
    pending = ConversationFactory()

    response = run_action(admin_client, CONVERSATIONS, "add_to_training_file", [*good, pending])

    assert response.status_code == 200
    body = response.content.decode()
    assert "You selected 3 conversations:" in body
    assert (
        '<strong id="eligible-count">2 completed with an enriched file will be added</strong>'
        in body
    )
    assert '<span id="left-out-count">1 is not and will be left out</span>' in body
    assert '<input type="hidden" name="post" value="yes">' in body
    assert not TrainingFile.objects.exists()


def test_the_action_creates_a_new_training_file(admin_client):
    good = [enriched_conversation() for _ in range(2)]
    pending = ConversationFactory()

    response = run_action(
        admin_client,
        CONVERSATIONS,
        "add_to_training_file",
        [*good, pending],
        post="yes",
        name="From the admin",
    )

    training_file = TrainingFile.objects.get()
    assert response.status_code == 302
    [(level, message)] = messages_of(response)
    assert level == "success"
    assert message == (
        "Added 2 conversations to "
        f'<a href="/training-files/{training_file.pk}/">From the admin</a> '
        f'(<a href="/admin/training/trainingfile/{training_file.pk}/change/">admin</a>). '
        "1 selected conversation was not completed with an enriched file and left out."
    )
    assert training_file.name == "From the admin"
    assert training_file.created_by.is_superuser
    assert training_file.status == "active"
    assert sorted(members(training_file)) == sorted(c.conversation_id for c in good)


def test_the_action_adds_to_an_existing_training_file(admin_client, db):
    owner = UserFactory()
    first = enriched_conversation(created_by=owner)
    training_file = make_file(owner, [first])
    second = enriched_conversation()

    response = run_action(
        admin_client,
        CONVERSATIONS,
        "add_to_training_file",
        [first, second],
        post="yes",
        training_file=str(training_file.pk),
    )

    [(level, message)] = messages_of(response)
    assert level == "success"
    assert message.startswith("Added 1 conversation to ")
    assert message.endswith(" 1 was already in it.")
    assert members(training_file) == [first.conversation_id, second.conversation_id]


def test_the_action_needs_a_choice(admin_client):
    conversation = enriched_conversation()

    response = run_action(
        admin_client, CONVERSATIONS, "add_to_training_file", [conversation], post="yes"
    )

    assert response.status_code == 200
    assert "Choose an existing training file or name a new one." in response.content.decode()
    assert not TrainingFile.objects.exists()


def test_the_action_over_the_bulk_limit_builds_in_the_background(admin_client, settings):
    settings.ENRICHMENT_BULK_LIMIT = 1
    conversations = [enriched_conversation() for _ in range(2)]

    response = run_action(
        admin_client, CONVERSATIONS, "add_to_training_file", conversations, post="yes", name="Big"
    )

    [(_, message)] = messages_of(response)
    assert message.endswith("It is being built in the background.")
    assert TrainingFile.objects.get().status == "processing"


def test_training_files_are_browsable_with_their_members_and_downloads(admin_client, db):
    owner = UserFactory()
    conversation = enriched_conversation(created_by=owner, conversation_name="Calm chat")
    training_file = make_file(owner, [conversation])

    listing = admin_client.get(TRAINING_FILES)
    page = admin_client.get(f"{TRAINING_FILES}{training_file.pk}/change/")

    assert listing.status_code == 200
    assert "March set" in listing.content.decode()
    body = page.content.decode()
    assert page.status_code == 200
    assert f"/api/training-files/{training_file.pk}/download?format=chat-jsonl" in body
    assert "Calm chat" in body
    assert f"<code>{conversation.conversation_id}</code>" in body
    assert admin_client.get(f"{TRAINING_FILES}add/").status_code == 403


def test_rebuild_and_archive_actions(admin_client, db):
    owner = UserFactory()
    training_file = make_file(owner, [enriched_conversation(created_by=owner)])
    before = training_file.json_file_path

    rebuilt = run_action(admin_client, TRAINING_FILES, "rebuild_selected", [training_file])
    archived = run_action(admin_client, TRAINING_FILES, "archive_selected", [training_file])

    assert messages_of(rebuilt) == [("info", "Rebuilding 1 training file.")]
    assert messages_of(archived)[-1] == ("info", "Archived 1 training file.")
    training_file.refresh_from_db()
    assert training_file.json_file_path != before
    assert training_file.status == "archived"


def test_deleting_in_the_admin_deletes_the_stored_files(
    admin_client, db, django_capture_on_commit_callbacks
):
    owner = UserFactory()
    training_file = make_file(owner, [enriched_conversation(created_by=owner)])
    paths = training_file.stored_paths

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(
            admin_client, TRAINING_FILES, "delete_selected", [training_file], post="yes"
        )

    assert response.status_code == 302
    assert not TrainingFile.objects.exists()
    assert [default_storage.exists(path) for path in paths] == [False, False, False]
    assert Conversation.objects.count() == 1
