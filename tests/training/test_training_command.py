"""``manage.py training_file``: create, add, remove, rebuild, export, archive, delete, list."""

import json
import uuid
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    UserFactory,
    enriched_conversation,
)
from tests.jobs import queued
from training.models import TrainingFile

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str, int]:
    out, err = StringIO(), StringIO()
    try:
        call_command("training_file", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return out.getvalue(), err.getvalue(), exit_.code
    return out.getvalue(), err.getvalue(), 0


def summary(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def members(training_file) -> list[uuid.UUID]:
    return list(training_file.memberships.order_by("id").values_list("conversation_id", flat=True))


def stored(path: str) -> bytes:
    with default_storage.open(path, "rb") as handle:
        return handle.read()


def test_create_by_ids_builds_here_and_prints_a_json_summary():
    conversations = [enriched_conversation() for _ in range(2)]

    output, _, code = run("create", "CLI set", *[str(c.conversation_id) for c in conversations])

    training_file = TrainingFile.objects.get()
    assert code == 0
    assert output.startswith("Built in ")
    assert summary(output) == {
        "trainingFileId": str(training_file.pk),
        "name": "CLI set",
        "status": "active",
        "error": None,
        "conversationCount": 2,
        "totalTrainingPairs": 8,
        "added": 2,
        "alreadyIncluded": 0,
        "removed": 0,
        "leftOut": 0,
    }
    assert training_file.created_by is None
    assert members(training_file) == [c.conversation_id for c in conversations]


def test_create_for_an_owner_by_batch_job_counts_the_left_out():
    owner = UserFactory(username="dana")
    job = BatchJobFactory(created_by=owner)
    item = BatchItemFactory(batch_job=job, conversation=enriched_conversation(created_by=owner))
    BatchItemFactory(batch_job=job)

    output, _, _ = run("create", "Job set", "--batch", str(job.pk), "--owner", "dana")

    training_file = TrainingFile.objects.get()
    assert training_file.created_by == owner
    assert members(training_file) == [item.conversation.conversation_id]
    assert summary(output)["leftOut"] == 1


def test_create_by_status_takes_every_completed_conversation():
    conversations = [enriched_conversation() for _ in range(3)]
    ConversationFactory()

    output, _, _ = run("create", "All done", "--status", "completed")

    assert summary(output)["added"] == 3
    assert sorted(members(TrainingFile.objects.get())) == sorted(
        c.conversation_id for c in conversations
    )


def test_create_with_background_queues_the_build_for_a_worker():
    conversation = enriched_conversation()

    output, errors, _ = run("create", "Later", str(conversation.pk), "--background")

    training_file = TrainingFile.objects.get()
    assert "Queued the build of" in output
    assert summary(output)["status"] == "processing"
    assert training_file.status == "processing"
    job = queued("build_training_file").get()
    assert job.args == {
        "training_file_id": str(training_file.pk),
        "generation": training_file.build_generation,
    }
    assert "No worker is running: nothing builds it until one starts (bin/worker)." in errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "X"], "Choose conversations: ids, --batch JOB_ID or --status completed."),
        (["create", "X", "nope"], "Not an id:"),
        (["create", "X", str(uuid.UUID(int=1))], "Unknown conversation ids:"),
        (["create", "X", "--batch", str(uuid.UUID(int=2))], "no such batch job"),
        (["create", "X", "--status", "not_started"], "There are no completed conversations"),
        (["create", "X", "--owner", "nobody", "--status", "completed"], "no such user"),
        (["add", "not-an-id", "--status", "completed"], "No training file 'not-an-id'."),
        (["export", str(uuid.UUID(int=3))], "No training file"),
    ],
)
def test_bad_input_is_a_clear_error(args, message):
    ConversationFactory()

    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(*args)
    assert not TrainingFile.objects.exists()


def test_create_refuses_ineligible_ids_listing_each():
    pending = ConversationFactory()

    with pytest.raises(CommandError) as refused:
        run("create", "X", str(pending.pk))

    assert str(refused.value) == (
        "1 conversation is not completed with an enriched file; nothing was changed.\n"
        f"{pending.pk}: Its enrichment is not completed (status: not started)."
    )


def test_add_and_remove_rebuild_the_files():
    first, second = enriched_conversation(), enriched_conversation()
    run("create", "Growing", str(first.pk))
    training_file = TrainingFile.objects.get()

    added, _, _ = run("add", str(training_file.pk), str(first.pk), str(second.pk))
    removed, errors, _ = run("remove", str(training_file.pk), str(first.pk), str(uuid.UUID(int=9)))

    assert (summary(added)["added"], summary(added)["alreadyIncluded"]) == (1, 1)
    assert summary(removed)["removed"] == 1
    assert errors.strip() == f"Not in the file: {uuid.UUID(int=9)}"
    training_file.refresh_from_db()
    assert members(training_file) == [second.conversation_id]
    assert training_file.conversation_count == 1


def test_a_failed_build_exits_1_and_says_why():
    conversation = enriched_conversation()
    run("create", "Fragile", str(conversation.pk))
    default_storage.delete(conversation.enriched_file_path)

    output, _, code = run("rebuild", str(TrainingFile.objects.get().pk))

    assert code == 1
    result = summary(output)
    assert result["status"] == "failed"
    assert "is missing from storage" in result["error"]


@pytest.mark.parametrize("file_format", ["json", "jsonl", "chat-jsonl"])
def test_export_writes_the_stored_file(tmp_path, file_format):
    run("create", "Export me", str(enriched_conversation().pk))
    training_file = TrainingFile.objects.get()
    target = tmp_path / "out.file"

    output, _, _ = run("export", str(training_file.pk), "--format", file_format, "-o", str(target))

    assert target.read_bytes() == stored(training_file.path_for(file_format))
    assert output.strip() == f"Wrote {target.stat().st_size:,} bytes to {target}"


def test_export_names_the_file_after_the_training_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run("create", "March: calm ones", str(enriched_conversation().pk))

    run("export", str(TrainingFile.objects.get().pk), "--format", "chat-jsonl")

    assert (tmp_path / "march-calm-ones.chat.jsonl").is_file()


def test_archive_list_and_delete(django_capture_on_commit_callbacks):
    run("create", "Old set", str(enriched_conversation().pk))
    training_file = TrainingFile.objects.get()
    paths = training_file.stored_paths

    archived, _, _ = run("archive", str(training_file.pk))
    listed, _, _ = run("list")
    with django_capture_on_commit_callbacks(execute=True):
        deleted, _, _ = run("delete", str(training_file.pk))

    assert archived.strip() == "Old set: archived"
    assert listed.split() == [
        str(training_file.pk),
        "archived",
        "1",
        "conversations",
        "4",
        "pairs",
        "-",
        "Old",
        "set",
    ]
    assert deleted.strip() == f"Deleted Old set ({training_file.pk}) and its stored files."
    assert not TrainingFile.objects.exists()
    assert [default_storage.exists(path) for path in paths] == [False, False, False]


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_progress_bars_for_builds_and_exports(tmp_path):
    conversations = [enriched_conversation() for _ in range(2)]
    build_bar, export_bar = Terminal(), Terminal()

    call_command(
        "training_file",
        "create",
        "Shown",
        *[str(c.pk) for c in conversations],
        stdout=StringIO(),
        stderr=build_bar,
    )
    training_file = TrainingFile.objects.get()
    call_command(
        "training_file",
        "export",
        str(training_file.pk),
        "-o",
        str(tmp_path / "x.json"),
        stdout=StringIO(),
        stderr=export_bar,
    )

    assert build_bar.getvalue() == "\r[" + "#" * 30 + "] 2/2 conversations\n"
    size = training_file.json_file_size
    assert export_bar.getvalue() == f"\r[{'#' * 30}] {size:,}/{size:,} bytes\n"


def test_progress_bars_and_warnings_are_not_in_the_error_style():
    conversations = [enriched_conversation() for _ in range(2)]
    bar, warnings = Terminal(), Terminal()
    call_command(
        "training_file",
        "create",
        "Coloured",
        *[str(c.pk) for c in conversations],
        stdout=StringIO(),
        stderr=bar,
        force_color=True,
    )
    training_file = TrainingFile.objects.get()
    call_command(
        "training_file",
        "remove",
        str(training_file.pk),
        str(uuid.uuid4()),
        stdout=StringIO(),
        stderr=warnings,
        force_color=True,
    )

    bold_red = "\x1b[31;1m"
    assert bar.getvalue() == "\r[" + "#" * 30 + "] 2/2 conversations\n"
    assert "Not in the file:" in warnings.getvalue()
    assert bold_red not in warnings.getvalue()


def test_help_explains_every_argument():
    from django.core.management import load_command_class

    command = load_command_class("training", "training_file")
    parser = command.create_parser("manage.py", "training_file")
    subcommands = next(a for a in parser._actions if a.dest == "command").choices

    unexplained = [
        f"{name} {action.dest}"
        for name, sub in subcommands.items()
        for action in sub._actions
        if not action.help and action.dest != "help"
    ]
    create_help = subcommands["create"].format_help()
    export_help = subcommands["export"].format_help()

    assert unexplained == []
    assert "its name, shown on the pages" in create_help
    assert "CONVERSATION_ID" in create_help and "conversations by id" in create_help
    assert "chat-jsonl: one chat" in export_help


def test_no_progress_bar_off_a_terminal_or_when_asked():
    conversation = enriched_conversation()
    quiet, asked = StringIO(), Terminal()

    call_command(
        "training_file", "create", "A", str(conversation.pk), stdout=StringIO(), stderr=quiet
    )
    call_command(
        "training_file",
        "create",
        "B",
        str(conversation.pk),
        "--no-progress",
        stdout=StringIO(),
        stderr=asked,
    )

    assert quiet.getvalue() == ""
    assert asked.getvalue() == ""


@pytest.mark.django_db(transaction=True)
def test_export_to_a_reader_that_stopped_ends_quietly(media_root):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from devtools.workers import current_database_url

    run("create", "Piped", str(enriched_conversation().pk))
    training_file = TrainingFile.objects.get()
    exporter = subprocess.Popen(
        [sys.executable, "manage.py", "training_file", "export", str(training_file.pk), "-o", "-"],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DATABASE_URL": current_database_url(), "MEDIA_ROOT": str(media_root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    exporter.stdout.close()  # as `| head` does once it has read enough

    errors = exporter.stderr.read().decode()
    exporter.wait(timeout=60)

    assert errors == ""
    assert exporter.returncode == 0
