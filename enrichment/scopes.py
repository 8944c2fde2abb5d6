"""Groups of conversations that other apps define, such as batch jobs.

Enrichment selects, filters, labels and links conversations by such a group without
importing the app that defines it: that app registers a ``Scope`` when it is ready
(``batches.apps``), and enrichment's entry points find it here by kind or parameter.
"""

import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from conversations.models import Conversation


@dataclass(frozen=True)
class ScopeRef:
    """One group: what to call it and where its page is."""

    kind: str
    id: uuid.UUID
    name: str
    url: str
    admin_url: str = ""


class Scope(ABC):
    kind: str  # stored on runs, e.g. "batch_job"
    label: str  # "Batch job"
    param: str  # the pages' query parameter and the command line's option, e.g. "batch"
    api_name: str  # what the API calls it, e.g. "batchJob" (its id field: "batchJobId")

    @property
    def api_field(self) -> str:
        return f"{self.api_name}Id"

    @abstractmethod
    def find(self, scope_id: uuid.UUID, *, user=None) -> ScopeRef | None:
        """The group, if it exists and ``user`` may see it (``None``: anyone may)."""

    @abstractmethod
    def members(self, scope_id: uuid.UUID) -> QuerySet[Conversation]:
        """Every conversation in the group."""

    def holds_at_most(self, scope_id: uuid.UUID, limit: int) -> bool:
        """Whether the group has no more than ``limit`` conversations (override with a
        cheaper count when the group's own rows tell)."""
        return self.members(scope_id)[: limit + 1].count() <= limit

    @abstractmethod
    def enrichable(self, scope_id: uuid.UUID) -> QuerySet[Conversation]:
        """The conversations "enrich this group" acts on, in the group's order."""

    @abstractmethod
    def recent(self, user, *, limit: int) -> list[ScopeRef]:
        """The newest groups ``user`` may see that hold conversations they may see (for
        drop-downs)."""

    @abstractmethod
    def refs_of(self, conversation_pks: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[ScopeRef]]:
        """The groups each of these conversations belongs to, in one query."""

    def refs(self, scope_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ScopeRef]:
        """Several groups by id, for links (override to load them in one query)."""
        found = {scope_id: self.find(scope_id) for scope_id in set(scope_ids)}
        return {scope_id: ref for scope_id, ref in found.items() if ref is not None}


_SCOPES: dict[str, Scope] = {}


def register(scope: Scope) -> None:
    _SCOPES[scope.kind] = scope


def get(kind: str) -> Scope | None:
    return _SCOPES.get(kind)


def registered() -> list[Scope]:
    return list(_SCOPES.values())


def ref_for(kind: str, scope_id: uuid.UUID | None) -> ScopeRef | None:
    """The group a run is over, for its link; ``None`` when there is none (or it is gone)."""
    scope = get(kind)
    if scope is None or scope_id is None:
        return None
    return scope.find(scope_id)
