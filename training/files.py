"""Building a training file's three stored files from its members' enriched files.

The members are read a chunk at a time and each enriched file is parsed, written into
the three outputs and dropped before the next, so memory stays flat at any size. The
outputs go to local temporary files first (the JSON header and the JSONL ``_meta`` line
hold totals known only at the end), then to the storage under a folder no earlier build
used: readers keep getting the previous files until the row points at the new ones.

The temporary files have no name on disk (``tempfile.TemporaryFile``): whatever ends the
build, a killed worker included, the kernel frees them with the process.
"""

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import orjson
from django.core.files import File
from django.core.files.storage import default_storage

from conversations.models import Conversation
from core.sections import bulk_sections
from enrichment.pipeline.inputs import current_profile

from . import builders
from .exports import Split, meets_tier, split_of, tier_label
from .models import FileFormat, TrainingFile
from .outputs import FileSet, split_metadata

logger = logging.getLogger("training.files")

CHUNK_SIZE = 200
# How often (seconds) a build reports progress (and finds out whether it was superseded).
PROGRESS_EVERY = 0.5
FILE_NAMES = {
    FileFormat.JSON: "training.json",
    FileFormat.JSONL: "training.jsonl",
    FileFormat.CHAT_JSONL: "training.chat.jsonl",
}
# What a build reads of each member: the enriched file's path, then ``Member``'s fields.
_MEMBER_FIELDS = (
    "conversation__id",
    "conversation__enriched_file_path",
    "conversation__conversation_id",
    "conversation__created_at",
    "conversation__quality_score",
    "conversation__review_status",
    "conversation__persona__persona_key",
    "conversation__persona__name",
    "conversation__emotional_arc__arc_key",
    "conversation__emotional_arc__name",
    "conversation__training_topic__topic_key",
    "conversation__training_topic__name",
)
# Reasons named one by one in a failure; the rest are counted.
NAMED_PROBLEMS = 5


class BuildError(Exception):
    """The files cannot be built; the message says why (shown to users)."""


class Superseded(Exception):
    """The members changed (or the file was deleted) while building."""


@dataclass(frozen=True)
class BuiltFiles:
    folder: str  # holds the three files and nothing else
    paths: dict[str, str]
    sizes: dict[str, int]
    summary: builders.Summary
    built_at: datetime
    splits: dict = field(default_factory=dict)  # TrainingFile.splits


def build_files(
    training_file: TrainingFile,
    *,
    built_at: datetime,
    on_progress: Callable[[int], None] | None = None,
) -> BuiltFiles:
    """Build and store the three files (and those of the train and validation splits,
    when the file has a validation fraction); return where they are. Raises
    ``BuildError`` (nothing stored) or whatever ``on_progress`` raises (``Superseded``).

    ``on_progress(done)`` is called about every ``PROGRESS_EVERY`` seconds while the
    members are read and the files assembled."""
    fraction = training_file.validation_fraction
    sets = {None: FileSet()}
    if fraction is not None:
        sets.update((split, FileSet(split)) for split in Split.values)
    summary = sets[None].summary
    report = _Reporter(on_progress, summary)
    _check_members(training_file)
    profile = current_profile()
    labels = profile.training_file_metadata()
    try:
        for member, document in _members_with_documents(training_file):
            try:
                pairs = builders.training_pairs(document)
            except builders.MalformedDocument as exc:
                raise BuildError(
                    f"The enriched file of conversation {member.conversation_id} is not "
                    f"a training document: {exc}."
                ) from None
            entry = builders.json_conversation(
                builders.conversation_entry(member, pairs), first=True
            )
            lines = list(builders.jsonl_lines(member, pairs))
            chat = builders.chat_line(pairs, default_system_prompt=profile.system_prompt)
            sets[None].add(member, pairs, entry, lines, chat)
            if fraction is not None:
                sets[split_of(member.conversation_id, fraction)].add(
                    member, pairs, entry, lines, chat
                )
            report()
        report(now=True)
        outputs: dict[str, BinaryIO] = {}
        for split, file_set in sets.items():
            metadata = builders.file_metadata(
                file_set.summary,
                name=training_file.name,
                created_at=training_file.created_at,
                built_at=built_at,
                format_spec=labels["format_spec"],
                target_model=labels["target_model"],
                vertical=labels["vertical"],
            )
            if fraction is not None:
                metadata["split"] = builders.javascript_numbers(
                    split_metadata(fraction, sets, split)
                )
            finished = file_set.finish(
                metadata, profile.consultant_profile, name=training_file.name, report=report
            )
            for file_format, handle in finished.items():
                outputs[file_name(file_format, split)] = handle
        folder = (
            f"{training_file.storage_bucket}/{training_file.pk}/"
            f"{built_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        )
        paths, sizes = _store(folder, outputs)
    finally:
        for file_set in sets.values():
            file_set.close()
    splits = {
        split: {
            "conversations": file_set.summary.conversations,
            "training_pairs": file_set.summary.training_pairs,
            "paths": {f: paths[file_name(f, split)] for f in FileFormat.values},
            "sizes": {f: sizes[file_name(f, split)] for f in FileFormat.values},
        }
        for split, file_set in sets.items()
        if split is not None
    }
    return BuiltFiles(
        folder,
        paths={f: paths[file_name(f)] for f in FileFormat.values},
        sizes={f: sizes[file_name(f)] for f in FileFormat.values},
        summary=summary,
        built_at=built_at,
        splits=splits,
    )


def file_name(file_format: str, split: str | None = None) -> str:
    """``training.json`` …, ``training.train.json`` … for a split."""
    name = FILE_NAMES[file_format]
    return name.replace("training.", f"training.{split}.", 1) if split else name


def _check_members(training_file: TrainingFile) -> None:
    """Every member must still be completed with an enriched file, and meet the file's
    requirements: approved (one enriched again waits for review), of its minimum quality
    tier or better."""
    eligible = Conversation.objects.eligible_for_training()
    _refuse_members_outside(
        training_file,
        eligible,
        "conversation__enrichment_status",
        "completed with an enriched file",
        "enrich them again",
    )
    if training_file.approved_only:
        _refuse_members_outside(
            training_file,
            eligible.filter(review_status="approved"),
            "conversation__review_status",
            "approved",
            "approve them",
        )
    if tier := training_file.min_quality_tier:
        _refuse_members_outside(
            training_file,
            eligible.filter(meets_tier(tier)),
            "conversation__quality_score",
            f"of the {tier_label(tier)} tier or better",
            "enrich them again with a better score",
        )


def _refuse_members_outside(training_file, eligible, column: str, what: str, fix: str) -> None:
    outside = training_file.memberships.exclude(
        conversation_id__in=eligible.values("conversation_id")
    )
    problems = list(outside.order_by("id").values_list("conversation_id", column)[:NAMED_PROBLEMS])
    if not problems:
        return
    count = outside.count()

    def shown(value) -> str:
        if column.endswith("quality_score"):
            return f"score {value}"
        return (value or "not reviewable").replace("_", " ")

    named = "; ".join(f"{business_id} ({shown(value)})" for business_id, value in problems)
    more = f"; and {count - NAMED_PROBLEMS} more" if count > NAMED_PROBLEMS else ""
    raise BuildError(
        f"{count} member conversation{'s are' if count != 1 else ' is'} no longer {what}: "
        f"{named}{more}. Remove them or {fix}, then rebuild."
    )


def _members(training_file: TrainingFile) -> Iterator[tuple[builders.Member, str]]:
    """The members in the order they were added, a chunk of rows at a time."""
    last_id = 0
    while True:
        rows = list(
            training_file.memberships.filter(id__gt=last_id)
            .order_by("id")
            .values_list("id", *_MEMBER_FIELDS)[:CHUNK_SIZE]
        )
        # What higher apps say of these members (generation: the model and prompt).
        extra = {
            section.name: section.render_many([row[1] for row in rows])
            for section in bulk_sections("training_member")
        }
        for _, pk, path, business_id, created_at, quality_score, review, *scaffolding in rows:
            # Scaffolding rows may be missing (null) or unnamed: empty strings then.
            names = (value or "" for value in scaffolding)
            member = builders.Member(
                str(business_id),
                created_at,
                quality_score,
                *names,
                review_status=review or "",
                sections={name: by_pk[pk] for name, by_pk in extra.items() if pk in by_pk},
            )
            yield member, path
        if len(rows) < CHUNK_SIZE:
            return
        last_id = rows[-1][0]


def _read_enriched(member: builders.Member, path: str) -> tuple[bytes, str]:
    """The member's enriched file, and its path: if the conversation was enriched again
    since its path was read, that file is gone (an output superseded is removed once the
    new one is committed), and the new one is read instead."""
    try:
        with default_storage.open(path, "rb") as handle:
            return handle.read(), path
    except FileNotFoundError:
        current = (
            Conversation.objects.filter(conversation_id=member.conversation_id)
            .values_list("enriched_file_path", flat=True)
            .first()
        )
        if not current or current == path:
            raise
        with default_storage.open(current, "rb") as handle:
            return handle.read(), current


def _members_with_documents(training_file: TrainingFile) -> Iterator[tuple[builders.Member, dict]]:
    for member, path in _members(training_file):
        try:
            content, path = _read_enriched(member, path)
        except FileNotFoundError:
            raise BuildError(
                f"The enriched file of conversation {member.conversation_id} ({path}) is "
                "missing from storage. Enrich it again (force), or remove it, then rebuild."
            ) from None
        except OSError as exc:
            raise BuildError(
                f"The enriched file of conversation {member.conversation_id} ({path}) could "
                f"not be read: {exc}"
            ) from None
        try:
            document = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise BuildError(
                f"The enriched file of conversation {member.conversation_id} ({path}) is "
                f"not valid JSON: {exc}"
            ) from None
        yield member, document


class _Reporter:
    """Calls ``on_progress`` when due."""

    def __init__(self, on_progress: Callable[[int], None] | None, summary: builders.Summary):
        self.on_progress = on_progress
        self.summary = summary
        self.last = time.monotonic()

    def __call__(self, *, now: bool = False) -> None:
        if self.on_progress is None:
            return
        if now or time.monotonic() - self.last >= PROGRESS_EVERY:
            self.on_progress(self.summary.conversations)
            self.last = time.monotonic()


def _store(folder: str, outputs: dict[str, BinaryIO]) -> tuple[dict[str, str], dict[str, int]]:
    """Save the outputs (by file name) under a folder no other build uses; all or none."""
    paths: dict[str, str] = {}
    sizes: dict[str, int] = {}
    try:
        for name, handle in outputs.items():
            path = f"{folder}/{name}"
            sizes[name] = handle.tell()
            handle.seek(0)
            saved = default_storage.save(path, File(handle, name=name))
            paths[name] = saved
            if saved != path:
                raise BuildError(f"The storage wrote {saved!r} instead of {path!r}.")
    except BaseException as exc:
        delete_folder(folder)
        if isinstance(exc, OSError):
            raise BuildError(f"The files could not be stored: {exc}") from None
        raise
    return paths, sizes


def delete_files(paths: list[str]) -> None:
    """Delete stored files, logging (not raising) what cannot be deleted."""
    for path in paths:
        try:
            default_storage.delete(path)
        except OSError:
            logger.exception("Could not delete %s", path)


def delete_folder(folder: str) -> None:
    """Delete everything stored under ``folder`` (any storage: listdir, not a rename)."""
    try:
        directories, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    delete_files([f"{folder}/{name}" for name in files])
    for directory in directories:
        delete_folder(f"{folder}/{directory}")
    with contextlib.suppress(NotImplementedError, OSError):  # object stores have no folders
        Path(default_storage.path(folder)).rmdir()


def delete_earlier_builds(folder: str) -> None:
    """Delete what builds of the same file that started before the one stored in
    ``folder`` left behind: a try whose worker was killed while storing, a build
    overtaken by a newer one. Called once ``folder``'s build is recorded; later builds
    (named after a later start) are never touched, whichever is running."""
    parent, name = folder.rsplit("/", 1)
    started = name.split("-", 1)[0]
    try:
        directories, _ = default_storage.listdir(parent)
    except (FileNotFoundError, NotADirectoryError):
        return
    for directory in directories:
        # Same-second names are kept: which of them started first cannot be told.
        if directory.split("-", 1)[0] < started:
            delete_folder(f"{parent}/{directory}")


def members_reenriched_since_build(training_file: TrainingFile) -> int:
    """Members whose enriched file is newer than the stored files."""
    if training_file.last_updated_at is None:
        return 0
    since = training_file.last_updated_at
    # Every write to a conversation stamps ``updated_at`` too (the same instant as
    # ``enriched_at`` when it records an enrichment), and that column is indexed: the
    # rows changed since the build are looked up there, not all the members, nor every
    # conversation's ``enriched_at``.
    return training_file.memberships.filter(
        conversation__updated_at__gt=since, conversation__enriched_at__gt=since
    ).count()
