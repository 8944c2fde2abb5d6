"""Choosing conversations for a training file: by id (either form), by batch job or by
a filter. Only conversations completed with an enriched file are eligible; selections
by id can be strict (any ineligible one is an error) or count the ineligible ones out."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import QuerySet

from conversations.lookups import find_batch_job
from conversations.models import Conversation
from core.errors import Conflict
from enrichment.selection import resolve_conversations

# Rows per query when a selection is looked up.
CHUNK = 500


@dataclass(frozen=True)
class Ineligible:
    """A selected conversation that cannot go into a training file, and why."""

    pk: uuid.UUID
    conversation_id: uuid.UUID
    sent_id: str
    enrichment_status: str
    # Set when it is eligible but the file takes approved conversations only.
    review_status: str | None = None
    not_approved: bool = False

    @property
    def reason(self) -> str:
        if self.not_approved:
            return "not_approved"
        return "not_completed" if self.enrichment_status != "completed" else "no_enriched_file"

    @property
    def message(self) -> str:
        if self.reason == "not_approved":
            status = (self.review_status or "not reviewable").replace("_", " ")
            return f"The training file takes approved conversations only (review: {status})."
        if self.reason == "not_completed":
            status = self.enrichment_status.replace("_", " ")
            return f"Its enrichment is not completed (status: {status})."
        return "It has no enriched file."


class NotEligible(Conflict):
    """Conversations whose state keeps them out of a training file; nothing was changed."""

    code = "not_eligible"

    def __init__(self, ineligible: list[Ineligible]) -> None:
        count = len(ineligible)
        what = "not completed with an enriched file"
        if all(item.not_approved for item in ineligible):
            what = "not approved"
        elif any(item.not_approved for item in ineligible):
            what = "not completed with an enriched file, or not approved"
        super().__init__(
            f"{count} conversation{'s are' if count != 1 else ' is'} {what}; nothing was changed."
        )
        self.ineligible = ineligible

    def fields(self) -> dict:
        return {
            "details": {"conversationIds": [f"{i.sent_id}: {i.message}" for i in self.ineligible]},
            "ineligible": [
                {
                    "conversationId": item.sent_id,
                    "businessConversationId": str(item.conversation_id),
                    "enrichmentStatus": item.enrichment_status,
                    "reason": item.reason,
                    "message": item.message,
                }
                for item in self.ineligible
            ],
        }


@dataclass
class Selection:
    """Conversations chosen for a training file (row ids, eligible, in order)."""

    pks: list[uuid.UUID]
    left_out: int = 0  # chosen but not eligible: counted, not taken
    sent_ids: dict[uuid.UUID, str] = field(default_factory=dict)  # the id each was given as
    # Chosen one by one, every one required: a conversation left out is an error.
    strict: bool = False
    not_approved: int = 0  # of left_out: completed, but no one approved it


def chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def find_ineligible(pks: Sequence[uuid.UUID], sent_ids: dict | None = None) -> list[Ineligible]:
    sent_ids = sent_ids or {}
    found: dict[uuid.UUID, Ineligible] = {}
    for chunk in chunks(pks):
        rows = Conversation.objects.filter(pk__in=chunk)
        eligible = set(rows.eligible_for_training().values_list("pk", flat=True))
        for pk, business_id, status in rows.values_list(
            "pk", "conversation_id", "enrichment_status"
        ):
            if pk not in eligible:
                found[pk] = Ineligible(pk, business_id, sent_ids.get(pk, str(business_id)), status)
    return [found[pk] for pk in pks if pk in found]


def select_ids(ids: Sequence[str | uuid.UUID], *, user, strict: bool = True) -> Selection:
    """Conversations by id (either form) visible to ``user``. Unknown or invisible ids
    raise ``ConversationsNotFound``; ineligible ones raise ``NotEligible`` when
    ``strict``, else they are left out and counted."""
    pks, sent = resolve_conversations(ids, user=user)
    sent_ids = dict(zip(pks, sent, strict=True))
    ineligible = find_ineligible(pks, sent_ids)
    if ineligible and strict:
        raise NotEligible(ineligible)
    left_out = {item.pk for item in ineligible}
    return Selection([pk for pk in pks if pk not in left_out], len(left_out), sent_ids, strict)


def only_approved(selection: Selection) -> Selection:
    """The selection narrowed to conversations a person approved (for a training file of
    approved conversations only): the others raise ``NotEligible`` (reason
    ``not_approved``) when the selection is strict, else they are left out and counted."""
    refused = []
    for chunk in chunks(selection.pks):
        rows = Conversation.objects.filter(pk__in=chunk).exclude(review_status="approved")
        for pk, business_id, status, review in rows.values_list(
            "pk", "conversation_id", "enrichment_status", "review_status"
        ):
            sent = selection.sent_ids.get(pk, str(business_id))
            refused.append(Ineligible(pk, business_id, sent, status, review, not_approved=True))
    if refused and selection.strict:
        order = {pk: n for n, pk in enumerate(selection.pks)}
        raise NotEligible(sorted(refused, key=lambda item: order[item.pk]))
    out = {item.pk for item in refused}
    return Selection(
        [pk for pk in selection.pks if pk not in out],
        selection.left_out + len(out),
        selection.sent_ids,
        selection.strict,
        selection.not_approved + len(out),
    )


def select_matching(conversations: QuerySet[Conversation]) -> Selection:
    """The eligible conversations of a queryset (in its order); the rest are counted."""
    pks = list(dict.fromkeys(conversations.eligible_for_training().values_list("pk", flat=True)))
    total = conversations.order_by().values("pk").distinct().count()
    return Selection(pks, total - len(pks))


def select_batch_job(job_id: uuid.UUID, *, user) -> Selection:
    """The eligible conversations of a batch job's completed items, in item order."""
    job = find_batch_job(job_id, user=user)
    return select_matching(Conversation.objects.of_completed_items(job.pk).visible_to(user))
