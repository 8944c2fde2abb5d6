"""Sections a higher app adds to a lower app's JSON, so that the lower app never imports it.

An app (generation, say) registers a ``Section`` for a subject ("batch_job") in its
``AppConfig.ready``; the subject's serializer shows every registered section under its
name, with the section's JSON Schema in the API's schema. ``prefetch`` names the relations
the section reads, for lists to fetch in one query each.
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
    prefetch: tuple[str, ...] = field(default=())


_SECTIONS: dict[str, dict[str, Section]] = {}


def add_section(subject: str, section: Section) -> None:
    _SECTIONS.setdefault(subject, {})[section.name] = section


def sections(subject: str) -> list[Section]:
    return list(_SECTIONS.get(subject, {}).values())


def prefetch(subject: str) -> list[str]:
    return [lookup for section in sections(subject) for lookup in section.prefetch]
