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
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import orjson
from django.core.files import File
from django.core.files.storage import default_storage

from conversations.models import Conversation
from enrichment.pipeline.inputs import current_profile

from . import builders
from .models import FileFormat, TrainingFile

logger = logging.getLogger("training.files")

CHUNK_SIZE = 200
# How often (seconds) a build reports progress (and finds out whether it was superseded).
PROGRESS_EVERY = 0.5
COPY_CHUNK = 1024 * 1024
FILE_NAMES = {
    FileFormat.JSON: "training.json",
    FileFormat.JSONL: "training.jsonl",
    FileFormat.CHAT_JSONL: "training.chat.jsonl",
}
# What a build reads of each member: the enriched file's path, then ``Member``'s fields.
_MEMBER_FIELDS = (
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


def build_files(
    training_file: TrainingFile,
    *,
    built_at: datetime,
    on_progress: Callable[[int], None] | None = None,
) -> BuiltFiles:
    """Build and store the three files; return where they are. Raises ``BuildError``
    (nothing stored) or whatever ``on_progress`` raises (``Superseded``).

    ``on_progress(done)`` is called about every ``PROGRESS_EVERY`` seconds while the
    members are read and the files assembled."""
    summary = builders.Summary()
    report = _Reporter(on_progress, summary)
    _check_members(training_file)
    profile = current_profile()
    labels = profile.training_file_metadata()
    json_body, jsonl_body, chat = (_scratch(), _scratch(), _scratch())
    outputs: dict[str, BinaryIO] = {}
    try:
        for member, document in _members_with_documents(training_file):
            try:
                pairs = builders.training_pairs(document)
            except builders.MalformedDocument as exc:
                raise BuildError(
                    f"The enriched file of conversation {member.conversation_id} is not "
                    f"a training document: {exc}."
                ) from None
            json_body.write(
                builders.json_conversation(
                    builders.conversation_entry(member, pairs),
                    first=summary.conversations == 0,
                )
            )
            for line in builders.jsonl_lines(member, pairs):
                jsonl_body.write(b"\n" + line)
            if line := builders.chat_line(pairs, default_system_prompt=profile.system_prompt):
                chat.write(line)
            summary.add(member, pairs)
            report()
        report(now=True)
        metadata = builders.file_metadata(
            summary,
            name=training_file.name,
            created_at=training_file.created_at,
            built_at=built_at,
            format_spec=labels["format_spec"],
            target_model=labels["target_model"],
            vertical=labels["vertical"],
        )
        outputs = {
            FileFormat.JSON: _assemble(
                builders.json_head(metadata, profile.consultant_profile),
                json_body,
                builders.json_tail(empty=summary.conversations == 0),
                report,
            ),
            FileFormat.JSONL: _assemble(
                builders.jsonl_meta(name=training_file.name, total_pairs=summary.training_pairs),
                jsonl_body,
                b"",
                report,
            ),
            FileFormat.CHAT_JSONL: chat,
        }
        folder = (
            f"{training_file.storage_bucket}/{training_file.pk}/"
            f"{built_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        )
        paths, sizes = _store(folder, outputs)
    finally:
        for handle in (json_body, jsonl_body, chat, *outputs.values()):
            handle.close()
    return BuiltFiles(folder, paths=paths, sizes=sizes, summary=summary, built_at=built_at)


def _check_members(training_file: TrainingFile) -> None:
    """Every member must still be completed with an enriched file (and approved, in a
    file of approved conversations only: one enriched again waits for review)."""
    eligible = Conversation.objects.eligible_for_training()
    approved_only = training_file.approved_only
    if approved_only:
        eligible = eligible.filter(review_status="approved")
    eligible = eligible.values("conversation_id")
    status = "conversation__review_status" if approved_only else "conversation__enrichment_status"
    problems = list(
        training_file.memberships.exclude(conversation_id__in=eligible)
        .order_by("id")
        .values_list("conversation_id", status)[: NAMED_PROBLEMS + 1]
    )
    if not problems:
        return
    count = training_file.memberships.exclude(conversation_id__in=eligible).count()
    named = "; ".join(
        f"{business_id} ({(status or 'not reviewable').replace('_', ' ')})"
        for business_id, status in problems[:NAMED_PROBLEMS]
    )
    more = f"; and {count - NAMED_PROBLEMS} more" if count > NAMED_PROBLEMS else ""
    raise BuildError(
        f"{count} member conversation{'s are' if count != 1 else ' is'} no longer "
        f"{'approved' if approved_only else 'completed with an enriched file'}: "
        f"{named}{more}. Remove them or "
        f"{'approve them' if approved_only else 'enrich them again'}, then rebuild."
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
        for _, path, business_id, created_at, quality_score, review, *scaffolding in rows:
            # Scaffolding rows may be missing (null) or unnamed: empty strings then.
            names = (value or "" for value in scaffolding)
            member = builders.Member(
                str(business_id), created_at, quality_score, *names, review_status=review or ""
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


def _scratch() -> BinaryIO:
    """A temporary file with no name on disk: freed when closed or when the process ends."""
    return tempfile.TemporaryFile(prefix="training-file-")  # noqa: SIM115 (closed by the caller)


def _assemble(head: bytes, body: BinaryIO, tail: bytes, report: Callable[[], None]) -> BinaryIO:
    out = _scratch()
    out.write(head)
    body.seek(0)
    while chunk := body.read(COPY_CHUNK):
        out.write(chunk)
        report()
    out.write(tail)
    return out


def _store(folder: str, outputs: dict[str, BinaryIO]) -> tuple[dict[str, str], dict[str, int]]:
    """Save the outputs under a folder no other build uses; all or none of them."""
    paths: dict[str, str] = {}
    sizes: dict[str, int] = {}
    try:
        for file_format, handle in outputs.items():
            path = f"{folder}/{FILE_NAMES[file_format]}"
            sizes[file_format] = handle.tell()
            handle.seek(0)
            saved = default_storage.save(path, File(handle, name=FILE_NAMES[file_format]))
            paths[file_format] = saved
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
