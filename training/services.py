"""Training-file services: the one place every entry point (API, pages, admin, command
line, the build task) goes through.

Every change of a file's members (create, add, remove) and every rebuild bumps the file's
build generation and rebuilds its files from the members' current enriched files: in the
same transaction when the file has at most ``ENRICHMENT_BULK_LIMIT`` members (a failed
build then changes nothing), else in the background (``processing`` with progress, then
``active``, or ``failed`` with the reason and the previous files left in place). A build
records its files only if its generation is still current, so a build overtaken by a
newer change never overwrites the newer files. A background build whose worker stops is
taken up again by the engine (``core.tasks``: stalled jobs are retried).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from conversations.models import Conversation
from core.errors import Conflict

from .builds import build_now, record_build_failure
from .eligibility import Selection, chunks, only_approved
from .files import BuildError, delete_folder
from .models import TrainingFile, TrainingFileConversation, TrainingFileStatus
from .tasks import enqueue_build


class TrainingFileError(Conflict):
    """A change the training file cannot take; the message says why (shown to users)."""


class NameTaken(TrainingFileError):
    code = "name_taken"


class NothingSelected(TrainingFileError):
    code = "nothing_selected"


class NotChangeable(TrainingFileError):
    code = "not_changeable"


class BuildFailed(TrainingFileError):
    """The build in the request failed: the file keeps its previous build (shown in the
    API's answer)."""

    code = "build_failed"

    def __init__(self, message: str, training_file: TrainingFile | None = None) -> None:
        if training_file is not None:
            training_file.refresh_from_db()  # as the failed build left it
        super().__init__(message, subject=training_file)


@dataclass
class Change:
    training_file: TrainingFile
    background: bool = False
    added: list[str] = field(default_factory=list)
    already_included: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    not_included: list[str] = field(default_factory=list)
    left_out: int = 0
    not_approved: int = 0  # of left_out: left out of an approved-only file, not approved


# Changing a training file ------------------------------------------------------------


def _owner(user):
    return user if user is not None and user.is_authenticated else None


def _name_taken(name: str, owner) -> bool:
    return TrainingFile.objects.filter(name=name, created_by=owner).exists()


def create_training_file(
    *,
    name: str,
    description: str = "",
    user,
    selection: Selection,
    background: bool | None = None,
    enqueue: bool = True,
    approved_only: bool = False,
) -> Change:
    """A new training file of the selected conversations, owned by ``user``; with
    ``approved_only``, of conversations a person approved, now and whenever more are
    added (``eligibility.only_approved``).

    ``background=None`` builds in this request up to ``ENRICHMENT_BULK_LIMIT``
    conversations, else queues the build; ``enqueue=False`` leaves a queued build to the
    caller (``run_build``). Raises ``NameTaken``, ``NothingSelected``, ``BuildFailed``.
    """
    name = name.strip()
    owner = _owner(user)
    if approved_only:
        selection = only_approved(selection)
    if not selection.pks:
        raise NothingSelected(
            f"There are no {'approved ' if approved_only else ''}completed conversations to "
            "put in a training file."
        )
    if _name_taken(name, owner):
        raise NameTaken(f"You already have a training file named “{name}”.")
    try:
        with transaction.atomic():
            training_file = TrainingFile.objects.create(
                name=name,
                description=description.strip(),
                created_by=owner,
                approved_only=approved_only,
            )
            added = _insert(training_file, selection.pks, user=owner)
            queued = _rebuild(training_file, background=background, enqueue=enqueue)
    except IntegrityError:
        if _name_taken(name, owner):  # created at the same moment by another request
            raise NameTaken(f"You already have a training file named “{name}”.") from None
        raise
    return Change(
        training_file,
        queued,
        added=added,
        left_out=selection.left_out,
        not_approved=selection.not_approved,
    )


def add_conversations(
    training_file: TrainingFile,
    selection: Selection,
    *,
    user,
    background: bool | None = None,
    enqueue: bool = True,
) -> Change:
    """Add the selected conversations; ones already in the file are reported, not added
    twice. The files are rebuilt when anything was added."""
    if training_file.approved_only:
        selection = only_approved(selection)
    if not selection.pks:
        approved = "approved " if training_file.approved_only else ""
        raise NothingSelected(f"There are no {approved}completed conversations to add.")
    with transaction.atomic():
        training_file = _lock(training_file)
        business = _business_ids(selection.pks)
        members = _members_among(training_file, list(business.values()))
        new = [pk for pk in selection.pks if business[pk] not in members]
        already = [
            selection.sent_ids.get(pk, str(business[pk]))
            for pk in selection.pks
            if business[pk] in members
        ]
        added = _insert(training_file, new, user=_owner(user))
        queued = bool(added) and _rebuild(training_file, background=background, enqueue=enqueue)
    return Change(
        training_file,
        queued,
        added=added,
        already_included=already,
        left_out=selection.left_out,
        not_approved=selection.not_approved,
    )


def remove_conversations(
    training_file: TrainingFile,
    ids: Sequence[str | uuid.UUID],
    *,
    background: bool | None = None,
    enqueue: bool = True,
) -> Change:
    """Remove members named by either id form; ids that are not members are reported."""
    wanted = list(dict.fromkeys(str(uuid.UUID(str(value))) for value in ids))
    with transaction.atomic():
        training_file = _lock(training_file)
        found: dict[str, uuid.UUID] = {}
        for chunk in chunks(wanted):
            rows = training_file.memberships.filter(
                Q(conversation__pk__in=chunk) | Q(conversation__conversation_id__in=chunk)
            ).values_list("conversation__pk", "conversation_id")
            for pk, business_id in rows:
                found[str(pk)] = found[str(business_id)] = business_id
        removed = list(dict.fromkeys(found[value] for value in wanted if value in found))
        for chunk in chunks(removed):
            training_file.memberships.filter(conversation_id__in=chunk).delete()
        queued = bool(removed) and _rebuild(training_file, background=background, enqueue=enqueue)
    return Change(
        training_file,
        queued,
        removed=[str(business_id) for business_id in removed],
        not_included=[value for value in wanted if value not in found],
    )


def rebuild_training_file(
    training_file: TrainingFile, *, background: bool | None = None, enqueue: bool = True
) -> Change:
    """Build the files again from the members' current enriched files. A failed build in
    the request is recorded (``failed`` with the reason) and raised as ``BuildFailed``."""
    try:
        with transaction.atomic():
            training_file = _lock(training_file)
            queued = _rebuild(training_file, background=background, enqueue=enqueue)
    except BuildFailed as exc:
        record_build_failure(training_file.pk, None, str(exc))
        raise BuildFailed(exc.message, training_file) from None
    return Change(training_file, queued)


def archive_training_file(training_file: TrainingFile) -> TrainingFile:
    """Archived files keep their members and files but take no changes."""
    with transaction.atomic():
        training_file = _lock(training_file, archived_ok=True)
        if training_file.is_processing:
            raise NotChangeable("The training file is being built; archive it once it is done.")
        training_file.status = TrainingFileStatus.ARCHIVED
        training_file.save(update_fields=["status", "updated_at"])
    return training_file


def unarchive_training_file(training_file: TrainingFile) -> TrainingFile:
    with transaction.atomic():
        training_file = _lock(training_file, archived_ok=True)
        if training_file.is_archived:
            # Back to what it was: failed files keep saying why.
            failed = bool(training_file.error)
            training_file.status = (
                TrainingFileStatus.FAILED if failed else TrainingFileStatus.ACTIVE
            )
            training_file.save(update_fields=["status", "updated_at"])
    return training_file


def delete_training_file(training_file: TrainingFile) -> None:
    """Delete the file, its members and everything it stored (a build still running
    finds it gone and deletes what it wrote)."""
    folder = f"{training_file.storage_bucket}/{training_file.pk}"
    with transaction.atomic():
        TrainingFile.objects.filter(pk=training_file.pk).delete()
        transaction.on_commit(partial(delete_folder, folder))


def _lock(training_file: TrainingFile, *, archived_ok: bool = False) -> TrainingFile:
    locked = TrainingFile.objects.select_for_update().get(pk=training_file.pk)
    if locked.is_archived and not archived_ok:
        raise NotChangeable("The training file is archived; unarchive it to change it.")
    return locked


def _business_ids(pks: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    business: dict[uuid.UUID, uuid.UUID] = {}
    for chunk in chunks(pks):
        business.update(
            Conversation.objects.filter(pk__in=chunk).values_list("pk", "conversation_id")
        )
    return {pk: business[pk] for pk in pks}


def _members_among(training_file: TrainingFile, business_ids: list[uuid.UUID]) -> set:
    members: set = set()
    for chunk in chunks(business_ids):
        members.update(
            training_file.memberships.filter(conversation_id__in=chunk).values_list(
                "conversation_id", flat=True
            )
        )
    return members


def _insert(training_file: TrainingFile, pks: Sequence[uuid.UUID], *, user) -> list[str]:
    """Add members in the given order; returns their business ids."""
    business = _business_ids(pks)
    now = timezone.now()
    for chunk in chunks(pks, 2000):
        TrainingFileConversation.objects.bulk_create(
            TrainingFileConversation(
                training_file=training_file,
                conversation_id=business[pk],
                added_at=now,
                added_by=user,
            )
            for pk in chunk
        )
    return [str(business[pk]) for pk in pks]


# Building -------------------------------------------------------------------------------


def _rebuild(training_file: TrainingFile, *, background: bool | None, enqueue: bool) -> bool:
    """Within the caller's transaction (the row locked): a new generation, then the build
    in this transaction or queued after the commit. Returns whether it was queued."""
    training_file.build_generation += 1
    training_file.build_total = training_file.memberships.count()
    training_file.build_done = 0
    training_file.build_started_at = None
    if background is None:
        background = training_file.build_total > settings.ENRICHMENT_BULK_LIMIT
    if background:
        training_file.status = TrainingFileStatus.PROCESSING
        training_file.error = ""
    training_file.save()
    if background:
        if enqueue:
            enqueue_build(training_file.pk, training_file.build_generation)
        return True
    try:
        build_now(training_file)
    except BuildError as exc:
        raise BuildFailed(f"The training file could not be built: {exc}") from None
    return False
