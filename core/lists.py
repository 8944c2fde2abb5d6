"""Search, filter and sort for the pages' lists (batch jobs, runs, training files), read
from the address's query parameters and checked: a value the list does not know is
named in ``problems`` and left out, never taken for "everything" silently.

A list describes what it offers in a ``ListSpec``; ``read_list`` turns the request's
``GET`` into a ``Listing`` that narrows and orders a queryset, and that the shared form
(``templates/includes/list_filters.html``) shows.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

SEARCH_MAX_LENGTH = 200

# The orders every list offers: by date (newest or oldest first) and by name.
NEWEST, OLDEST, NAME, NAME_DESC = "-created", "created", "name", "-name"
ORDER_LABELS = {
    NEWEST: "Newest first",
    OLDEST: "Oldest first",
    NAME: "Name, A to Z",
    NAME_DESC: "Name, Z to A",
}


@dataclass(frozen=True)
class ListSpec:
    """What one list offers: the text fields a search looks in, the status choices (a
    status may stand for a condition of its own: ``extra_statuses``), and the fields
    behind "name" and "date"."""

    search_fields: Sequence[str]
    statuses: Sequence[tuple[str, str]]
    name_field: str = "name"
    date_field: str = "created_at"
    status_field: str = "status"
    extra_statuses: Mapping[str, tuple[str, Q]] = field(default_factory=dict)
    search_label: str = "Search"
    search_placeholder: str = "Name"

    @property
    def status_choices(self) -> list[tuple[str, str]]:
        extra = [(key, label) for key, (label, _) in self.extra_statuses.items()]
        return [("", "Any status"), *self.statuses, *extra]

    @property
    def order_choices(self) -> list[tuple[str, str]]:
        return list(ORDER_LABELS.items())

    def ordering(self, order: str) -> tuple[str, ...]:
        fields = {
            NEWEST: (f"-{self.date_field}", "-pk"),
            OLDEST: (self.date_field, "pk"),
            NAME: (self.name_field, "pk"),
            NAME_DESC: (f"-{self.name_field}", "-pk"),
        }
        return fields[order]


@dataclass(frozen=True)
class Listing:
    """A list's search, status and order as asked for (the valid part of it)."""

    spec: ListSpec
    q: str = ""
    status: str = ""
    order: str = NEWEST
    problems: tuple[str, ...] = ()

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.status)

    def apply(self, queryset: QuerySet) -> QuerySet:
        if self.q:
            match = Q()
            for name in self.spec.search_fields:
                match |= Q(**{f"{name}__icontains": self.q})
            queryset = queryset.filter(match)
        if self.status in self.spec.extra_statuses:
            queryset = queryset.filter(self.spec.extra_statuses[self.status][1])
        elif self.status:
            queryset = queryset.filter(**{self.spec.status_field: self.status})
        return queryset.order_by(*self.spec.ordering(self.order))


def read_list(params: Mapping[str, str], spec: ListSpec) -> Listing:
    """The ``q``, ``status`` and ``order`` parameters, checked against ``spec``."""
    problems: list[str] = []
    q = " ".join(str(params.get("q") or "").split())
    if len(q) > SEARCH_MAX_LENGTH:
        problems.append(f"A search is at most {SEARCH_MAX_LENGTH} characters: it was cut.")
        q = q[:SEARCH_MAX_LENGTH]
    status = str(params.get("status") or "")
    if status and status not in dict(spec.status_choices):
        problems.append(f"Unknown status “{status}”: every status is shown.")
        status = ""
    order = str(params.get("order") or NEWEST)
    if order not in ORDER_LABELS:
        problems.append(f"Unknown order “{order}”: newest first.")
        order = NEWEST
    return Listing(spec, q=q, status=status, order=order, problems=tuple(problems))
