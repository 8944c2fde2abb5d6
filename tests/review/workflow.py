"""A review queue of a few hundred real-looking conversations, seeded fast for the
end-to-end tests of issue 24's "Done when": the original's real scaffolding (from the
shared data) imported through the real command, conversations written by our demo
generator over those rows, and the real truncated reply among them, all imported as one
batch job through the real intake and enriched in this process by the real pipeline.
The truncated one ends ``validation_failed`` (``INVALID_JSON_SYNTAX``); every other one
waits for review."""

import json
import random
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from conversations.models import BatchJob, Conversation, EnrichmentStatus
from devtools.demo.generator import generate_conversation, pick_scaffolding
from enrichment.pipeline.run import enrich_conversations
from intake.files import import_conversations

TRUNCATED = "truncated-credit-card-debt.json"
SCAFFOLDING_KINDS = ("personas", "emotional_arcs", "training_topics", "prompt_templates")
# What the reply was cut off in (the client's last turn, mid-sentence), finished by hand.
TRUNCATED_ENDING = (
    ' But I know where to start now.", '
    '"emotional_context": {"primary_emotion": "acceptance", '
    '"secondary_emotion": "determination", "intensity": 0.4}}]}'
)


@dataclass
class Queue:
    batch_job: BatchJob
    conversations: list[Conversation]  # the enriched ones, in import order
    truncated: Conversation
    truncated_text: str  # the stored reply as it came in

    @property
    def corrected_text(self) -> str:
        """The truncated reply with its last turn finished and the document closed."""
        return self.truncated_text + TRUNCATED_ENDING


def seed_queue(shared_data: Path, owner, tmp_path: Path, *, count: int, seed: int = 24) -> Queue:
    scaffolding = [shared_data / "scaffolding" / f"{kind}.ndjson" for kind in SCAFFOLDING_KINDS]
    call_command("import_scaffolding", *scaffolding, stdout=StringIO())
    rows = {
        kind: [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        for kind, path in zip(SCAFFOLDING_KINDS, scaffolding, strict=True)
    }
    rng = random.Random(seed)
    folder = tmp_path / "queue"
    folder.mkdir()
    paths = []
    for n in range(count):
        document = generate_conversation(
            rng, turns=rng.randint(4, 8), **pick_scaffolding(rng, rows)
        )
        path = folder / f"queue-{n:03d}.json"
        path.write_text(json.dumps(document), "utf-8")
        paths.append(path)
    truncated_path = shared_data / "conversations" / "raw" / TRUNCATED
    imported = import_conversations(
        [*paths, truncated_path], owner=owner, batch_name="Review queue", auto_enrich=False
    )
    *conversations, truncated = imported.conversations
    outcomes = enrich_conversations([c.pk for c in imported.conversations])
    assert [o.enrichment_status for o in outcomes] == [EnrichmentStatus.COMPLETED] * count + [
        EnrichmentStatus.VALIDATION_FAILED
    ], [o.error for o in outcomes if o.error][:3]
    truncated.refresh_from_db()
    assert [b["code"] for b in truncated.validation_report["blockers"]] == ["INVALID_JSON_SYNTAX"]
    return Queue(imported.batch_job, conversations, truncated, truncated_path.read_text("utf-8"))
