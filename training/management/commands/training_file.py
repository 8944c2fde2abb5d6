"""``manage.py training_file``: create, extend, export and manage training files."""

import json
import os
import sys
import time
import uuid
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.utils.text import slugify

from conversations.lookups import BatchJobNotFound
from conversations.models import Conversation
from core.background import live_workers
from enrichment.selection import ConversationsNotFound
from training import builds, services, tasks
from training.api.files import EXTENSIONS
from training.eligibility import (
    NotEligible,
    select_batch_job,
    select_ids,
    select_matching,
)
from training.exports import Split
from training.models import FileFormat, QualityTier, TrainingFile


class Everyone:
    """The command line's view: every active conversation, batch job and training file
    (staff visibility), acting for nobody (files it creates have no owner)."""

    is_staff = True
    is_authenticated = False


class ProgressBar:
    """A one-line progress bar on stderr, drawn only on a terminal, in the terminal's own
    colours (written to the stream under Django's, which would give it the error style)."""

    def __init__(self, stderr, *, enabled: bool, unit: str) -> None:
        self.stream = getattr(stderr, "_out", stderr)
        self.enabled = enabled and self.stream.isatty()
        self.unit = unit
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or not total:
            return
        width = 30
        filled = width * min(done, total) // total
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} {self.unit}"
        )
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")


class Command(BaseCommand):
    help = (
        "Training files: create NAME (IDS… | --batch JOB | --status completed), add ID (IDS… "
        "| --batch JOB), remove ID IDS…, rebuild ID, export ID --format F [-o PATH], "
        "archive ID [--undo], delete ID, list. Builds run here with a progress bar (or, with "
        "--background, by a worker)."
    )

    def add_arguments(self, parser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)

        def selection(sub) -> None:
            sub.add_argument(
                "ids",
                nargs="*",
                metavar="CONVERSATION_ID",
                help="conversations by id (their business id or row id); each must be "
                "completed. Or choose them with --batch or --status instead",
            )
            sub.add_argument(
                "--batch", metavar="JOB_ID", help="the completed conversations of this batch job"
            )
            sub.add_argument(
                "--status",
                metavar="STATUS",
                help="every conversation in this enrichment status (only completed ones "
                "can go into a training file: --status completed)",
            )

        def building(sub) -> None:
            sub.add_argument(
                "--background",
                action="store_true",
                help="queue the build for a worker (bin/worker)",
            )
            sub.add_argument(
                "--no-progress",
                action="store_true",
                help="no progress bar while building here (there is none off a terminal)",
            )

        file_id = "the training file's id (manage.py training_file list shows them)"
        create = commands.add_parser("create", help="a new training file")
        create.add_argument("name", help="its name, shown on the pages and in the API")
        create.add_argument(
            "--description", default="", help="a longer text about it (default: none)"
        )
        create.add_argument("--owner", metavar="USERNAME", help="owned by this user")
        create.add_argument(
            "--approved-only", action="store_true", help="only conversations a person approved"
        )
        tier_help = "only conversations of this quality tier or better"
        create.add_argument("--min-quality-tier", choices=QualityTier.values, help=tier_help)
        create.add_argument(
            "--validation-fraction",
            type=float,
            metavar="F",
            help="also build train/validation splits, F (0 < F < 1) of them in validation",
        )
        selection(create)
        building(create)
        add = commands.add_parser("add", help="add conversations")
        add.add_argument("training_file", metavar="ID", help=file_id)
        selection(add)
        building(add)
        remove = commands.add_parser("remove", help="remove conversations")
        remove.add_argument("training_file", metavar="ID", help=file_id)
        remove.add_argument(
            "ids", nargs="+", metavar="CONVERSATION_ID", help="the conversations to take out"
        )
        building(remove)
        rebuild = commands.add_parser("rebuild", help="build the files again")
        rebuild.add_argument("training_file", metavar="ID", help=file_id)
        building(rebuild)
        export = commands.add_parser("export", help="write a stored file")
        export.add_argument("training_file", metavar="ID", help=file_id)
        export.add_argument(
            "--format",
            choices=FileFormat.values,
            default=FileFormat.JSON,
            help="json: one JSON document with a header; jsonl: one training pair a line; "
            "chat-jsonl: one chat (system, user, assistant messages) a line (default: json)",
        )
        export.add_argument(
            "--split", choices=Split.values, help="only this split (files with a split)"
        )
        export.add_argument(
            "-o",
            "--output",
            metavar="PATH",
            help="a file, or - for stdout (default: the file's name, in this folder)",
        )
        export.add_argument(
            "--no-progress", action="store_true", help="no progress bar while writing"
        )
        archive = commands.add_parser("archive", help="archive (or --undo)")
        archive.add_argument("training_file", metavar="ID", help=file_id)
        archive.add_argument("--undo", action="store_true", help="make it active again")
        delete = commands.add_parser("delete", help="delete it and its stored files")
        delete.add_argument("training_file", metavar="ID", help=file_id)
        commands.add_parser("list", help="every training file")

    def handle(self, *args, command: str, **options) -> None:
        getattr(self, f"_{command}")(**options)

    # Commands -------------------------------------------------------------------------

    def _create(self, *, name, description, owner, ids, batch, status, background, **options):
        fraction = options["validation_fraction"]
        if fraction is not None and not 0 < fraction < 1:
            raise CommandError("--validation-fraction must be greater than 0 and less than 1.")
        user = self._user(owner) if owner else Everyone()
        selection = self._selection(ids, batch, status, user=user)
        change = self._run(
            lambda: services.create_training_file(
                name=name,
                description=description,
                user=user,
                selection=selection,
                background=True,
                enqueue=background,
                approved_only=options["approved_only"],
                min_quality_tier=options["min_quality_tier"] or "",
                validation_fraction=fraction,
            )
        )
        self._finish(change, background=background, progress=not options["no_progress"])

    def _add(self, *, training_file, ids, batch, status, background, **options) -> None:
        target = self._training_file(training_file)
        user = target.created_by or Everyone()
        selection = self._selection(ids, batch, status, user=user)
        change = self._run(
            lambda: services.add_conversations(
                target, selection, user=target.created_by, background=True, enqueue=background
            )
        )
        if not change.added:
            self.stdout.write("Nothing to add: every conversation is already in the file.")
        self._finish(change, background=background, progress=not options["no_progress"])

    def _remove(self, *, training_file, ids, background, **options) -> None:
        target = self._training_file(training_file)
        try:
            wanted = [str(uuid.UUID(value)) for value in ids]
        except ValueError as exc:
            raise CommandError(f"Not a conversation id: {exc}") from None
        change = self._run(
            lambda: services.remove_conversations(
                target, wanted, background=True, enqueue=background
            )
        )
        if change.not_included:
            self.stderr.write(
                f"Not in the file: {', '.join(change.not_included)}",
                style_func=self.style.WARNING,
            )
        self._finish(change, background=background, progress=not options["no_progress"])

    def _rebuild(self, *, training_file, background, **options) -> None:
        target = self._training_file(training_file)
        change = self._run(
            lambda: services.rebuild_training_file(target, background=True, enqueue=background)
        )
        self._finish(change, background=background, progress=not options["no_progress"])

    def _export(self, *, training_file, format, output, no_progress, split, **options) -> None:
        target = self._training_file(training_file)
        if split and target.validation_fraction is None:
            raise CommandError(f"{target.name}: it has no train/validation split.")
        path = target.split_path_for(split, format) if split else target.path_for(format)
        if not path:
            raise CommandError(f"{target.name}: not built yet (status {target.status}).")
        sizes = (target.splits or {}).get(split, {}).get("sizes", {})
        size = (sizes.get(format) if split else target.size_for(format)) or 0
        if output == "-":
            destination, shown = sys.stdout.buffer, "stdout"
        else:
            shown = (
                output
                or (slugify(target.name) or "training-file")
                + (f"-{split}" if split else "")
                + EXTENSIONS[format]
            )
            destination = open(shown, "wb")  # noqa: SIM115 (closed below)
        bar = ProgressBar(self.stderr, enabled=not no_progress, unit="bytes")
        written = 0
        try:
            with default_storage.open(path, "rb") as source:
                while chunk := source.read(1024 * 1024):
                    destination.write(chunk)
                    written += len(chunk)
                    bar(written, size)
            if destination is sys.stdout.buffer:
                destination.flush()
        except BrokenPipeError:
            # The reader stopped (``| head``): not an error. Python would report the pipe
            # again when it flushes stdout at exit; point stdout at nothing first.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return
        except FileNotFoundError:
            raise CommandError(f"The file {path} is missing from storage.") from None
        finally:
            bar.close()
            if destination is not sys.stdout.buffer:
                destination.close()
        if output != "-":
            self.stdout.write(f"Wrote {written:,} bytes to {Path(shown).resolve()}")

    def _archive(self, *, training_file, undo, **options) -> None:
        target = self._training_file(training_file)
        action = services.unarchive_training_file if undo else services.archive_training_file
        target = self._run(lambda: action(target))
        self.stdout.write(f"{target.name}: {target.status}")

    def _delete(self, *, training_file, **options) -> None:
        target = self._training_file(training_file)
        services.delete_training_file(target)
        self.stdout.write(f"Deleted {target.name} ({target.pk}) and its stored files.")

    def _list(self, **options) -> None:
        for item in TrainingFile.objects.select_related("created_by").order_by("-created_at"):
            owner = item.created_by.get_username() if item.created_by else "-"
            self.stdout.write(
                f"{item.pk}  {item.status:<10}  {item.conversation_count:>6} conversations  "
                f"{item.total_training_pairs:>7} pairs  {owner:<12}  {item.name}"
            )

    # Helpers --------------------------------------------------------------------------

    def _user(self, username: str):
        User = get_user_model()
        try:
            return User.objects.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(f"--owner {username!r}: no such user") from None

    def _training_file(self, value: str) -> TrainingFile:
        try:
            return TrainingFile.objects.get(pk=uuid.UUID(value))
        except (ValueError, TrainingFile.DoesNotExist):
            raise CommandError(f"No training file {value!r}.") from None

    def _selection(self, ids, batch, status, *, user):
        if sum(map(bool, (ids, batch, status))) != 1:
            raise CommandError("Choose conversations: ids, --batch JOB_ID or --status completed.")
        try:
            if batch:
                return select_batch_job(uuid.UUID(batch), user=user)
            if status:
                return select_matching(
                    Conversation.objects.visible_to(user)
                    .filter(enrichment_status=status)
                    .order_by("created_at", "pk")
                )
            return select_ids(ids, user=user, strict=True)
        except NotEligible as exc:
            raise _not_eligible(exc) from None
        except ValueError as exc:
            raise CommandError(f"Not an id: {exc}") from None
        except ConversationsNotFound as exc:
            raise CommandError(f"Unknown conversation ids: {', '.join(exc.missing)}") from None
        except BatchJobNotFound:
            raise CommandError(f"--batch {batch}: no such batch job") from None

    def _run(self, action):
        try:
            return action()
        except services.TrainingFileError as exc:
            raise CommandError(str(exc)) from None
        except NotEligible as exc:  # not approved, or below the file's quality tier
            raise _not_eligible(exc) from None

    def _finish(self, change: services.Change, *, background: bool, progress: bool) -> None:
        """Build here (with a progress bar) unless it was queued for a worker."""
        training_file = change.training_file
        if change.background and not background:
            bar = ProgressBar(self.stderr, enabled=progress, unit="conversations")
            started = time.perf_counter()
            try:
                outcome = builds.run_build(
                    training_file.pk, training_file.build_generation, on_progress=bar
                )
            except KeyboardInterrupt:
                builds.record_build_failure(
                    training_file.pk,
                    training_file.build_generation,
                    "The build was interrupted; rebuild to finish it.",
                )
                raise CommandError("Interrupted; the training file is marked failed.") from None
            except DatabaseError as exc:
                # Lost the database mid-build: a worker builds it once it is back.
                connection.close()
                tasks.enqueue_build(training_file.pk, training_file.build_generation)
                raise CommandError(
                    f"Lost the database while building ({exc}); a worker (bin/worker) builds it."
                ) from None
            finally:
                bar.close()
            training_file.refresh_from_db()
            self.stdout.write(f"Built in {time.perf_counter() - started:.1f}s: {outcome}.")
        elif change.background:
            self.stdout.write(
                f"Queued the build of {training_file.pk}; a worker builds it "
                f"(follow: GET /api/training-files/{training_file.pk})."
            )
            if not live_workers():
                self.stderr.write(
                    "No worker is running: nothing builds it until one starts (bin/worker).",
                    style_func=self.style.WARNING,
                )
        summary = {
            "trainingFileId": str(training_file.pk),
            "name": training_file.name,
            "status": training_file.status,
            "error": training_file.error or None,
            "conversationCount": training_file.conversation_count,
            "totalTrainingPairs": training_file.total_training_pairs,
            "added": len(change.added),
            "alreadyIncluded": len(change.already_included),
            "removed": len(change.removed),
            "leftOut": change.left_out,
        }
        self.stdout.write(json.dumps(summary))
        if training_file.status == "failed":
            sys.exit(1)


def _not_eligible(exc: NotEligible) -> CommandError:
    lines = [f"{item.sent_id}: {item.message}" for item in exc.ineligible]
    return CommandError("\n".join([str(exc), *lines]))
