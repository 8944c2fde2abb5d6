"""Batch jobs as a conversation scope: how enrichment selects, filters, labels and links
the conversations of a batch job without importing this app (see ``enrichment.scopes``)."""

import uuid
from collections.abc import Iterable

from django.db.models import QuerySet
from django.urls import reverse

from enrichment.models import Conversation
from enrichment.scopes import Scope, ScopeRef

from .models import BatchItem, BatchItemStatus, BatchJob


def job_ref(job_id: uuid.UUID, name: str) -> ScopeRef:
    return ScopeRef(
        BATCH_JOB,
        job_id,
        name,
        url=reverse("batch-job-detail", args=[job_id]),
        admin_url=reverse("admin:batches_batchjob_change", args=[job_id]),
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

    def enrichable(self, scope_id: uuid.UUID) -> QuerySet[Conversation]:
        return completed_item_conversations(scope_id)

    def recent(self, user, *, limit: int) -> list[ScopeRef]:
        rows = (
            Conversation.objects.visible_to(user)
            .filter(batch_items__isnull=False)
            .values_list(
                "batch_items__batch_job_id",
                "batch_items__batch_job__name",
                "batch_items__batch_job__created_at",
            )
            .order_by("-batch_items__batch_job__created_at")
            .distinct()[:limit]
        )
        return [job_ref(job_id, name) for job_id, name, _ in rows]

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
