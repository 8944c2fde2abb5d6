"""Duplicates on the command line: content its owner imported before is reported and
skipped unless asked for; re-running an import never doubles anything."""

import json
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from conversations.fingerprints import content_hash
from conversations.models import BatchJob, Conversation
from tests.factories import TRUNCATED_REPLY, UserFactory, conversation_document

pytestmark = pytest.mark.django_db


def import_files(*paths, owner: str = "owner", extra: tuple = ()) -> tuple[str, dict]:
    out = StringIO()
    call_command(
        "import_conversations", *paths, "--owner", owner, "--no-auto-enrich", *extra, stdout=out
    )
    return out.getvalue(), json.loads(out.getvalue().splitlines()[-1])


def write_documents(folder, count: int) -> list:
    paths = []
    for n in range(count):
        path = folder / f"chat-{n}.json"
        path.write_text(json.dumps(conversation_document(session_context=f"Case {n}.")))
        paths.append(path)
    return paths


def test_running_an_import_again_skips_every_file_and_creates_no_job(tmp_path):
    UserFactory(username="owner")
    paths = write_documents(tmp_path, 3)
    _, first = import_files(*paths)

    output, second = import_files(*paths)

    assert second["imported"] == 0
    assert second["batchJobId"] is None
    files = [d["file"] for d in second["duplicates"]]
    assert files == ["chat-0.json", "chat-1.json", "chat-2.json"]
    originals = [d["duplicateOf"]["businessConversationId"] for d in second["duplicates"]]
    assert originals == first["conversationIds"]
    assert second["duplicates"][0]["duplicateOf"]["batchJobId"] == first["batchJobId"]
    assert "skipped (duplicate)  chat-0.json: same content as “Chat 0” (batch job " in output
    assert "Nothing imported: every file was imported before." in output
    assert BatchJob.objects.count() == 1
    assert Conversation.objects.count() == 3


def test_the_same_document_formatted_differently_is_a_duplicate(tmp_path):
    UserFactory(username="owner")
    document = conversation_document()
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(document, separators=(",", ":")))
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(dict(reversed(document.items())), indent=4))
    import_files(compact)

    _, summary = import_files(pretty)

    assert summary["imported"] == 0
    assert summary["duplicates"][0]["file"] == "pretty.json"
    stored = Conversation.objects.get()
    assert stored.content_hash == content_hash(b"", document)


def test_unparseable_files_are_duplicates_only_when_their_bytes_are_the_same(tmp_path):
    UserFactory(username="owner")
    truncated = tmp_path / "truncated.json"
    truncated.write_bytes(TRUNCATED_REPLY)
    same = tmp_path / "same-bytes.json"
    same.write_bytes(TRUNCATED_REPLY)
    other = tmp_path / "cut-elsewhere.json"
    other.write_bytes(TRUNCATED_REPLY[:-3])
    import_files(truncated)

    _, summary = import_files(same, other)

    assert summary["imported"] == 1
    assert summary["unparseable"] == 1
    assert [d["file"] for d in summary["duplicates"]] == ["same-bytes.json"]
    assert Conversation.objects.count() == 2


def test_a_file_repeated_in_one_import_is_imported_once(tmp_path):
    UserFactory(username="owner")
    [first] = write_documents(tmp_path, 1)
    again = tmp_path / "again.json"
    again.write_bytes(first.read_bytes())

    output, summary = import_files(first, again)

    job = BatchJob.objects.get(pk=summary["batchJobId"])
    assert summary["imported"] == 1
    assert summary["duplicates"] == [
        {"file": "again.json", "duplicateOf": None, "repeats": "chat-0.json"}
    ]
    assert "again.json: same content as chat-0.json in the same import" in output
    assert (job.total_items, job.duplicate_items) == (1, 1)
    assert job.items.get().conversation.conversation_name == "Chat 0"


def test_allow_duplicates_imports_the_same_content_again(tmp_path):
    UserFactory(username="owner")
    paths = write_documents(tmp_path, 2)
    import_files(*paths)

    _, summary = import_files(*paths, extra=("--allow-duplicates",))

    assert summary["imported"] == 2
    assert summary["duplicates"] == []
    assert Conversation.objects.count() == 4
    assert BatchJob.objects.get(pk=summary["batchJobId"]).duplicate_items == 0
    hashes = list(Conversation.objects.values_list("content_hash", flat=True))
    assert len(set(hashes)) == 2


def test_another_owners_content_and_deactivated_conversations_are_no_duplicates(tmp_path):
    UserFactory(username="owner")
    UserFactory(username="someone")
    first, second = write_documents(tmp_path, 2)
    import_files(first, owner="someone")
    import_files(second)
    Conversation.objects.filter(created_by__username="owner").update(is_active=False)

    _, summary = import_files(first, second)

    assert summary["imported"] == 2
    assert summary["duplicates"] == []
    assert Conversation.objects.filter(created_by__username="owner").count() == 3


def test_conversations_imported_before_fingerprints_are_fingerprinted_and_then_found(tmp_path):
    UserFactory(username="owner")
    paths = write_documents(tmp_path, 3)
    import_files(*paths)
    Conversation.objects.update(content_hash="")
    missing = Conversation.objects.order_by("created_at").last()
    default_storage.delete(missing.raw_response_path)
    default_storage.delete(missing.file_path)
    out = StringIO()

    call_command("fingerprint_conversations", "--batch-size", "2", stdout=out)
    _, summary = import_files(*paths)

    assert out.getvalue().splitlines() == [
        "Fingerprinted 2 conversations.",
        "1 have no readable file and stay without a fingerprint.",
    ]
    assert [d["file"] for d in summary["duplicates"]] == ["chat-0.json", "chat-1.json"]
    assert summary["imported"] == 1
