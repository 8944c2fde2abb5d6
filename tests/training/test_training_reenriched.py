"""A member enriched again while a build reads the members: its superseded output is
removed once the new one is committed, and the build reads the new one instead."""

import pytest
from django.core.files.storage import default_storage

from conversations.models import Conversation
from enrichment.pipeline.run import enrich_conversations
from tests.factories import UserFactory, enriched_conversation
from tests.training.helpers import queued
from training import files

pytestmark = pytest.mark.django_db


def test_a_member_enriched_again_mid_build_is_read_at_its_new_path(
    django_capture_on_commit_callbacks,
):
    owner = UserFactory()
    first, second = (enriched_conversation(created_by=owner) for _ in range(2))
    training_file = queued(owner, [first, second])
    documents = files._members_with_documents(training_file)
    next(documents)  # both members' paths are read here, in one chunk
    old = second.enriched_file_path

    with django_capture_on_commit_callbacks(execute=True):
        enrich_conversations([second.pk], force=True)

    assert not default_storage.exists(old)
    member, document = next(documents)
    assert member.conversation_id == str(second.conversation_id)
    new = Conversation.objects.get(pk=second.pk).enriched_file_path
    assert new != old
    assert document["training_pairs"]
