"""The training-file pages: choosing a minimum quality tier and a validation split when
making a file, what the file's page says about them, why conversations were left out, and
each member's review status."""

import uuid

import pytest

from review import services as review
from tests.factories import enriched_conversation
from training.exports import split_of
from training.models import TrainingFile

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_form_offers_a_tier_and_a_split_and_the_file_keeps_them(user_client, user):
    good = enriched_conversation(created_by=user, quality_score=4.0)
    weak = enriched_conversation(created_by=user, quality_score=3.0)
    ids = [str(good.pk), str(weak.pk)]

    form = user_client.get("/training-files/new/", {"ids": ids})
    response = user_client.post(
        "/training-files/create/",
        {
            "ids": ids,
            "name": "Production split",
            "min_quality_tier": "production",
            "validation_fraction": "0.25",
        },
        follow=True,
    )

    html = form.content.decode()
    assert "Minimum quality tier" in html and "Validation split" in html
    training_file = TrainingFile.objects.get()
    assert (training_file.min_quality_tier, training_file.validation_fraction) == (
        "production",
        0.25,
    )
    assert list(training_file.memberships.values_list("conversation_id", flat=True)) == [
        good.conversation_id
    ]
    assert messages_of(response) == [
        "Training file “Production split” created with 1 conversation. The files are built. "
        "1 conversation left out: 1 below the minimum quality tier."
    ]
    page = response.content.decode()
    assert "Takes completed conversations of the production tier or better; 25% of them go in" in (
        page
    )
    expected = split_of(good.conversation_id, 0.25)
    assert f"download?format=jsonl&amp;split={expected}" in page
    assert f'<td data-label="Split">{expected}</td>' in page


def test_a_bad_fraction_is_shown_on_the_form_and_nothing_is_made(user_client, user):
    conversation = enriched_conversation(created_by=user)

    response = user_client.post(
        "/training-files/create/",
        {"ids": [str(conversation.pk)], "name": "Bad", "validation_fraction": "1"},
    )

    assert response.status_code == 422
    assert "Ensure this value is less than or equal to 0.99." in response.content.decode()
    assert not TrainingFile.objects.exists()


def test_conversations_left_out_of_an_approved_only_file_are_said_to_be_not_approved(
    user_client, user
):
    approved = enriched_conversation(created_by=user)
    pending = enriched_conversation(created_by=user)
    review.review(approved, user, "approved")

    response = user_client.post(
        "/training-files/create/",
        {"ids": [str(approved.pk), str(pending.pk)], "name": "Reviewed", "approved_only": "on"},
        follow=True,
    )

    assert messages_of(response)[0].endswith("1 conversation left out: 1 not approved.")
    assert "Takes approved conversations." in response.content.decode()


def test_adding_to_a_file_says_why_conversations_were_left_out(user_client, user):
    approved = enriched_conversation(created_by=user)
    review.review(approved, user, "approved")
    user_client.post(
        "/training-files/create/",
        {"ids": [str(approved.pk)], "name": "Reviewed", "approved_only": "on"},
    )
    training_file = TrainingFile.objects.get()
    pending = [enriched_conversation(created_by=user) for _ in range(2)]
    also_approved = enriched_conversation(created_by=user)
    review.review(also_approved, user, "approved")
    ids = "\n".join(str(c.conversation_id) for c in [*pending, also_approved])

    response = user_client.post(
        "/training-files/add/",
        {"training_file": str(training_file.pk), "id_text": ids},
        follow=True,
    )

    assert messages_of(response)[-1] == (
        "Added 1 conversation to “Reviewed”. The files are built. "
        "2 conversations left out: 2 not approved."
    )


def test_the_members_table_lists_each_members_review_status(user_client, user):
    approved, rejected, pending = (enriched_conversation(created_by=user) for _ in range(3))
    review.review(approved, user, "approved")
    review.review(rejected, user, "rejected", "Off tone.", ["tone"])
    user_client.post(
        "/training-files/create/",
        {"ids": [str(c.pk) for c in (approved, rejected, pending)], "name": "All"},
    )

    html = user_client.get(f"/training-files/{TrainingFile.objects.get().pk}/").content.decode()

    for conversation, status, label in (
        (approved, "approved", "Approved"),
        (rejected, "rejected", "Rejected"),
        (pending, "pending_review", "Pending review"),
    ):
        row = html.split(f'id="member-{conversation.conversation_id}"')[1].split("</tr>")[0]
        assert f'<span class="badge badge--review-{status}">{label}</span>' in row


def test_split_of_is_stable_for_either_spelling_of_an_id():
    value = uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e")

    assert split_of(value, 0.5) == split_of(str(value).upper(), 0.5)
    assert {split_of(uuid.UUID(int=n), 0.999999) for n in range(20)} == {"validation"}
    assert {split_of(uuid.UUID(int=n), 0.000001) for n in range(20)} == {"train"}
