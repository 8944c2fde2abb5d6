from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from conversations.models import Conversation
from tests.factories import UserFactory

SAMPLE = (
    "shame-to-acceptance-529.parsed.json",
    "hsa-vs-fsa-no-scaffolding.json",
    "truncated-credit-card-debt.json",
)


@pytest.fixture
def owner(db):
    return UserFactory(username="dana")


@pytest.fixture
def shared_sample(shared_data: Path, owner) -> dict[str, Conversation]:
    """The shared scaffolding and conversations imported through the real commands, not
    enriched yet (``helpers.enrich`` does it: two complete, the truncated one fails
    validation). Keyed by file name."""
    scaffolding = sorted((shared_data / "scaffolding").glob("*.ndjson"))
    call_command("import_scaffolding", *scaffolding, stdout=StringIO())
    paths = [shared_data / "conversations/raw" / name for name in SAMPLE]
    call_command(
        "import_conversations",
        *paths,
        "--owner",
        owner.username,
        "--no-auto-enrich",
        stdout=StringIO(),
    )
    conversations = list(Conversation.objects.order_by("batch_items__position"))
    return dict(zip(SAMPLE, conversations, strict=True))
