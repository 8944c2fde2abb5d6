"""Small helpers shared by the training-file tests."""

from django.core.files.storage import default_storage

from conversations.models import Conversation
from enrichment.pipeline.run import enrich_conversations


def stored(path: str) -> bytes:
    with default_storage.open(path, "rb") as handle:
        return handle.read()


def enrich(*conversations: Conversation) -> None:
    """Enrich with the real runner, then reload each conversation."""
    enrich_conversations([c.pk for c in conversations])
    for conversation in conversations:
        conversation.refresh_from_db()


def create_through_api(owner, conversation_pks, *, name: str):
    """``POST /api/training-files`` as ``owner`` with these conversations; the response."""
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(owner)
    return api.post(
        "/api/training-files",
        {"name": name, "conversationIds": [str(pk) for pk in conversation_pks]},
        format="json",
    )


def queued(owner, conversations, *, name: str = "Queued", **kwargs):
    """A file of ``conversations`` whose background build is queued but left to the test
    (``training.builds.run_build``)."""
    from training import services
    from training.eligibility import Selection

    return services.create_training_file(
        name=name,
        user=owner,
        selection=Selection([c.pk for c in conversations]),
        background=True,
        enqueue=False,
        **kwargs,
    ).training_file
