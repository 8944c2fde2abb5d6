"""Duplicates: content its owner imported before (same bytes, or the same parsed document
however formatted; see ``conversations.fingerprints``) is reported and left out of an import
unless asked for, so that re-running an import never silently doubles everything."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from conversations.models import BatchItem, Conversation

# Hashes looked up per query (a parameter each; well under every database's limit).
_LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class Original:
    """The conversation a duplicate repeats."""

    pk: uuid.UUID
    conversation_id: uuid.UUID
    name: str
    batch_job_id: uuid.UUID | None = None
    batch_job_name: str = ""

    def describe(self) -> str:
        job = f" (batch job “{self.batch_job_name}”)" if self.batch_job_id else ""
        return f"“{self.name or 'Untitled'}”{job}"

    def as_json(self) -> dict:
        return {
            "conversationId": str(self.pk),
            "businessConversationId": str(self.conversation_id),
            "name": self.name,
            "batchJobId": str(self.batch_job_id) if self.batch_job_id else None,
        }


@dataclass(frozen=True)
class Duplicate:
    """One input (a file, an item) left out: it repeats ``original``, imported before, or
    (``original`` None) the earlier input ``first`` of the same import."""

    label: str
    index: int
    original: Original | None = None
    first: str = ""
    first_index: int | None = None

    @property
    def message(self) -> str:
        if self.original is not None:
            return f"{self.label}: same content as {self.original.describe()}, imported before"
        return f"{self.label}: same content as {self.first} in the same import"

    def as_json(self) -> dict:
        return {
            "file": self.label,
            "duplicateOf": self.original.as_json() if self.original else None,
            "repeats": None if self.original else self.first,
        }


def imported_before(hashes: Iterable[str], *, owner) -> dict[str, Original]:
    """The oldest active conversation of ``owner`` with each content hash, if any (two
    queries per 500 hashes)."""
    wanted = sorted({h for h in hashes if h})
    owned = Conversation.objects.filter(is_active=True)
    owned = owned.filter(created_by=owner) if owner is not None else owned.filter(created_by=None)
    found: dict[str, tuple] = {}
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        rows = (
            owned.filter(content_hash__in=wanted[start : start + _LOOKUP_CHUNK])
            .order_by("created_at", "pk")
            .values_list("content_hash", "pk", "conversation_id", "conversation_name")
        )
        for fingerprint, *row in rows:
            found.setdefault(fingerprint, tuple(row))
    jobs: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}
    pks = [row[0] for row in found.values()]
    for start in range(0, len(pks), _LOOKUP_CHUNK):
        items = (
            BatchItem.objects.filter(conversation_id__in=pks[start : start + _LOOKUP_CHUNK])
            .order_by("batch_job__created_at", "position")
            .values_list("conversation_id", "batch_job_id", "batch_job__name")
        )
        for conversation_pk, job_id, job_name in items:
            jobs.setdefault(conversation_pk, (job_id, job_name))
    return {
        fingerprint: Original(pk, business_id, name, *jobs.get(pk, (None, "")))
        for fingerprint, (pk, business_id, name) in found.items()
    }


def split_duplicates(
    hashes: list[str], labels: list[str], *, owner
) -> tuple[list[int], list[Duplicate]]:
    """Which inputs to import (their indexes, in order) and which are duplicates: of a
    conversation ``owner`` imported before, or of an earlier input of the same list."""
    before = imported_before(hashes, owner=owner)
    first_seen: dict[str, int] = {}
    kept: list[int] = []
    duplicates: list[Duplicate] = []
    for index, (fingerprint, label) in enumerate(zip(hashes, labels, strict=True)):
        if fingerprint in before:
            duplicates.append(Duplicate(label, index, original=before[fingerprint]))
        elif fingerprint in first_seen:
            first = first_seen[fingerprint]
            duplicates.append(Duplicate(label, index, first=labels[first], first_index=first))
        else:
            first_seen[fingerprint] = index
            kept.append(index)
    return kept, duplicates
