"""The front door: every entry point (API, pages, admin, command line, automatic runs)
enriches conversations through ``enrich``.

An entry point builds a ``Selection`` (``enrichment.selection``: by ids, by a scope such as
a batch job, by status, or a filtered queryset) and says who acts and from where. The front
door decides the rest: up to ``ENRICHMENT_BULK_LIMIT`` conversations are enriched in the
call; more become a background run; and a scope that already has an unfinished run gets
that run back instead of a second one.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from conversations.models import Conversation

from .pipeline.outcomes import ENRICHED, FAILED, SKIPPED, Outcome
from .pipeline.run import PARALLEL, SEQUENTIAL, enrich_conversations
from .runs.lifecycle import RunStarted, active_run, start_run
from .selection import Selection


@dataclass
class BulkResult:
    """The outcomes of an enrichment done in the call."""

    outcomes: list[Outcome]
    # The id form each conversation was sent as, by row id.
    sent_ids: dict[uuid.UUID, str] = field(default_factory=dict)

    @property
    def summary(self) -> dict:
        counts = {ENRICHED: 0, FAILED: 0, SKIPPED: 0}
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        return {
            "total": len(self.outcomes),
            "successful": counts[ENRICHED],
            "failed": counts[FAILED],
            "skipped": counts[SKIPPED],
        }

    @property
    def success(self) -> bool:
        return self.summary["failed"] == 0

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == FAILED]


def fits_in_request(count: int) -> bool:
    """Whether ``enrich`` works on ``count`` conversations in the call (else a run)."""
    return count <= settings.ENRICHMENT_BULK_LIMIT


def enrich(
    selection: Selection,
    *,
    user,
    source: str,
    force: bool = False,
    retry_failed: bool = True,
    sequential: bool = True,
    background: bool | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> BulkResult | RunStarted:
    """Enrich ``selection`` for ``user`` (recorded on a run; the selection is already
    narrowed to what they may see).

    ``background``: ``None`` decides by size (a run above ``ENRICHMENT_BULK_LIMIT``),
    ``True`` always starts a run, ``False`` always works in the call (the command line),
    a bulk at a time. Completed conversations are skipped unless ``force``; failed ones
    too unless ``retry_failed``; ones claimed elsewhere always (see the runner).
    """
    if selection.scope is not None and (running := active_run(selection.scope)):
        return RunStarted(running, created=False)
    pks: list[uuid.UUID] | None = None
    if background is False:
        pks = selection.pks()
    elif background is None:
        # A count up to the limit decides; a big selection is never read here.
        pks = selection.pks_up_to(settings.ENRICHMENT_BULK_LIMIT)
    if pks is None:
        return start_run(
            selection.stored(),
            user=user,
            source=source,
            description=selection.description,
            scope=selection.scope,
            force=force,
            retry_failed=retry_failed,
        )
    outcomes: list[Outcome] = []
    # Each bulk claims only its own rows, so nothing is held for long and an interruption
    # loses at most one bulk's claims.
    limit = settings.ENRICHMENT_BULK_LIMIT
    for start in range(0, len(pks), limit):
        outcomes += enrich_conversations(
            pks[start : start + limit],
            force=force,
            retry_failed=retry_failed,
            mode=SEQUENTIAL if sequential else PARALLEL,
            on_outcome=on_outcome,
        )
    return BulkResult(outcomes, selection.sent_ids)


def enrich_one(conversation: Conversation, *, user, source: str, force: bool = False) -> Outcome:
    """Enrich one conversation the caller already loaded (and may see)."""
    selection = Selection(
        Conversation.objects.filter(pk=conversation.pk),
        str(conversation),
        order=(conversation.pk,),
    )
    result = enrich(selection, user=user, source=source, force=force)
    assert isinstance(result, BulkResult)
    [outcome] = result.outcomes
    return outcome


def deactivate(conversation: Conversation) -> None:
    """Take a conversation out of every list, selection and run still to come (a soft
    delete: its files stay, and staff can make it active again in the admin)."""
    Conversation.objects.filter(pk=conversation.pk).update(
        is_active=False, updated_at=timezone.now()
    )
    conversation.is_active = False
