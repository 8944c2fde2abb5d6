"""Sections a higher app adds to a lower app's JSON, so that the lower app never imports it.

An app (generation, say) registers a ``Section`` for a subject ("batch_job") in its
``AppConfig.ready``; the subject's serializer shows every registered section under its
name, with the section's JSON Schema in the API's schema. ``select_related`` and
``prefetch`` name the relations the section reads, for lists to fetch with their page (a
join) or in one query each.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Section:
    name: str
    # The section's JSON for one object (``None`` when it does not apply to it).
    render: Callable[[Any], Any]
    schema: dict
    select_related: tuple[str, ...] = field(default=())
    prefetch: tuple[str, ...] = field(default=())


_SECTIONS: dict[str, dict[str, Section]] = {}


def add_section(subject: str, section: Section) -> None:
    _SECTIONS.setdefault(subject, {})[section.name] = section


def sections(subject: str) -> list[Section]:
    return list(_SECTIONS.get(subject, {}).values())


def joined(subject: str, queryset):
    """``queryset`` joining the relations the subject's sections read, without the
    prefetches: for pages that show a little of a section (a list's badges)."""
    names = [name for section in sections(subject) for name in section.select_related]
    return queryset.select_related(*names) if names else queryset


def with_sections(subject: str, queryset):
    """``queryset`` fetching what the subject's sections read, in a constant number of
    queries whatever the number of rows."""
    joined = [name for section in sections(subject) for name in section.select_related]
    fetched = [name for section in sections(subject) for name in section.prefetch]
    if joined:
        queryset = queryset.select_related(*joined)
    return queryset.prefetch_related(*fetched) if fetched else queryset


@dataclass(frozen=True)
class BulkSection:
    """A section for objects handled many at a time (a training file's members): its JSON
    for each of a chunk of primary keys, in one query or a few whatever the chunk's size;
    a key absent from the answer: the section does not apply to that object."""

    name: str
    render_many: Callable[[list], dict]


_BULK: dict[str, dict[str, BulkSection]] = {}


def add_bulk_section(subject: str, section: BulkSection) -> None:
    _BULK.setdefault(subject, {})[section.name] = section


def bulk_sections(subject: str) -> list[BulkSection]:
    return list(_BULK.get(subject, {}).values())
