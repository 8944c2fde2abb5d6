"""Batch jobs as a conversation scope: how enrichment selects, filters, labels and links
the conversations of a batch job without importing this app (see ``enrichment.scopes``)."""

import uuid
from collections.abc import Iterable

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse_lazy

from conversations.models import BatchItem, BatchItemStatus, BatchJob, Conversation
from enrichment.scopes import Scope, ScopeRef


def job_ref(job_id: uuid.UUID, name: str) -> ScopeRef:
    # Lazy: a drop-down of a hundred jobs shows their names, never their links.
    return ScopeRef(
        BATCH_JOB,
        job_id,
        name,
        url=reverse_lazy("batch-job-detail", args=[job_id]),
        admin_url=reverse_lazy("admin:conversations_batchjob_change", args=[job_id]),
    )


def completed_item_conversations(job_id: uuid.UUID) -> QuerySet[Conversation]:
    """The conversations of the job's successful items, in item order: what "enrich this
    job" acts on (a conversation in two items comes twice; callers keep the first)."""
    return Conversation.objects.filter(
        is_active=True,
        batch_items__batch_job_id=job_id,
        batch_items__status=BatchItemStatus.COMPLETED,
    ).order_by("batch_items__position")


class BatchJobScope(Scope):
    kind = "batch_job"
    label = "Batch job"
    param = "batch"
    api_name = "batchJob"

    def find(self, scope_id: uuid.UUID, *, user=None) -> ScopeRef | None:
        jobs = BatchJob.objects.all() if user is None else BatchJob.objects.visible_to(user)
        name = jobs.filter(pk=scope_id).values_list("name", flat=True).first()
        return None if name is None else job_ref(scope_id, name)

    def members(self, scope_id: uuid.UUID) -> QuerySet[Conversation]:
        items = BatchItem.objects.filter(batch_job_id=scope_id)
        return Conversation.objects.filter(pk__in=items.values("conversation_id"))

    def holds_at_most(self, scope_id: uuid.UUID, limit: int) -> bool:
        # Counting the job's items reads one index; counting its conversations would
        # join them all first.
        items = BatchItem.objects.filter(batch_job_id=scope_id, conversation__isnull=False)
        return items.order_by()[: limit + 1].count() <= limit

    def enrichable(self, scope_id: uuid.UUID) -> QuerySet[Conversation]:
        return completed_item_conversations(scope_id)

    def recent(self, user, *, limit: int) -> list[ScopeRef]:
        # The user's newest jobs (every job, for staff), each checked for a conversation
        # they may see: a few index probes, where a join from the conversations would
        # read all of them.
        visible = Conversation.objects.visible_to(user).filter(pk=OuterRef("conversation_id"))
        holding = BatchItem.objects.filter(batch_job=OuterRef("pk")).filter(Exists(visible))
        rows = (
            BatchJob.objects.visible_to(user)
            .filter(Exists(holding))
            .order_by("-created_at", "-id")
            .values_list("pk", "name")[:limit]
        )
        return [job_ref(job_id, name) for job_id, name in rows]

    def refs_of(self, conversation_pks: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[ScopeRef]]:
        rows = (
            BatchItem.objects.filter(conversation_id__in=list(conversation_pks))
            .order_by("batch_job__created_at", "position")
            .values_list("conversation_id", "batch_job_id", "batch_job__name")
        )
        refs: dict[uuid.UUID, list[ScopeRef]] = {}
        for conversation_id, job_id, name in rows:
            listed = refs.setdefault(conversation_id, [])
            if all(ref.id != job_id for ref in listed):
                listed.append(job_ref(job_id, name))
        return refs

    def refs(self, scope_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ScopeRef]:
        jobs = BatchJob.objects.filter(pk__in=set(scope_ids)).values_list("pk", "name")
        return {pk: job_ref(pk, name) for pk, name in jobs}


BATCH_JOB = BatchJobScope.kind
