"""Imports of hostile or impossible input fail with the file's name and a reason, never a
traceback, and write nothing: no rows, no files. The storage failures (disk full,
read-only storage) are the operating system's answers, faked at ``os.open``."""

import errno
import json
import os
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from conversations import imports
from conversations.models import BatchItem, BatchJob, Conversation, Persona, ProcessingStatus
from tests.factories import UserFactory, conversation_document

pytestmark = pytest.mark.django_db

HOSTILE = {
    "100000-deep": (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 100 levels"),
    "5000-digit-integer": (
        b'{"turns": [], "n": 1' + b"0" * 5000 + b"}",
        "a number too large to store",
    ),
    "lone-surrogate": (
        b'{"turns": [], "title": "\\ud800"}',
        "a lone surrogate (such as \\ud800), which is not text",
    ),
}


@pytest.fixture
def owner(db):
    return UserFactory(username="owner")


def import_conversations(*paths: Path) -> str:
    out, err = StringIO(), StringIO()
    call_command("import_conversations", *paths, "--owner", "owner", stdout=out, stderr=err)
    return out.getvalue()


def nothing_written(media_root: Path) -> None:
    assert Conversation.objects.count() == 0
    assert BatchJob.objects.count() == 0
    assert BatchItem.objects.count() == 0
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


def a_good_file(folder: Path, name: str = "good.json") -> Path:
    """A valid conversation file whose content differs from every other's (the name is in
    it), so that no file of an import is a duplicate of another."""
    path = folder / name
    path.write_text(json.dumps(conversation_document(session_context=f"Session of {name}.")))
    return path


@pytest.mark.parametrize(("content", "reason"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_conversation_files_fail_naming_the_file_and_the_reason(
    tmp_path, media_root, owner, content, reason
):
    hostile = tmp_path / "hostile.json"
    hostile.write_bytes(content)

    with pytest.raises(CommandError) as failure:
        import_conversations(a_good_file(tmp_path), hostile)

    message = str(failure.value)
    assert message.startswith(f"{hostile}: cannot be imported: {reason} (")
    assert "line 1 column" in message
    nothing_written(media_root)


NOT_UTF8 = {
    # A conversation saved as Latin-1: "é" is the one byte 0xe9.
    "latin-1": (
        json.dumps(conversation_document(session_context="Café talk."), ensure_ascii=False).encode(
            "latin-1"
        ),
        0xE9,
    ),
    "random-bytes": (bytes([0x7B, 0x22, 0xC3, 0x28, 0x00, 0xFF]), 0xC3),
}


@pytest.mark.parametrize(("content", "byte"), NOT_UTF8.values(), ids=NOT_UTF8.keys())
def test_a_file_that_is_not_utf8_fails_naming_the_file_the_byte_and_where(
    tmp_path, media_root, owner, content, byte
):
    path = tmp_path / "encoded.json"
    path.write_bytes(content)

    with pytest.raises(CommandError) as failure:
        import_conversations(a_good_file(tmp_path), path)

    position = content.index(bytes([byte]))
    assert str(failure.value) == (
        f"{path}: not UTF-8 text: byte 0x{byte:02x} at position {position:,}"
    )
    nothing_written(media_root)


def test_a_truncated_reply_is_still_imported_for_validation_to_report(tmp_path, media_root, owner):
    truncated = tmp_path / "truncated.json"
    truncated.write_bytes(b'{"turns": [{"role": "user", "content": "Hel')

    import_conversations(truncated)

    conversation = Conversation.objects.get()
    assert conversation.processing_status == ProcessingStatus.PARSE_FAILED
    assert conversation.file_path == ""


def test_a_utf8_byte_order_mark_is_accepted(tmp_path, media_root, owner):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(conversation_document()).encode())

    import_conversations(path)

    conversation = Conversation.objects.get()
    assert conversation.processing_status == ProcessingStatus.COMPLETED
    assert conversation.turn_count == len(conversation_document()["turns"])


def test_a_file_over_the_cap_is_refused_before_it_is_read(tmp_path, media_root, owner, monkeypatch):
    monkeypatch.setattr(imports, "MAX_FILE_BYTES", 2000)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({**conversation_document(), "padding": "x" * 2000}))

    with pytest.raises(CommandError) as failure:
        import_conversations(a_good_file(tmp_path), big)

    assert str(failure.value) == (
        f"{big}: larger than 2,000 bytes, the most enrichment can take (its enriched "
        "document would be larger than the largest one it writes)"
    )
    nothing_written(media_root)


def test_the_cap_is_the_largest_document_enrichment_writes():
    from enrichment.pipeline.normalize import MAX_SIZE_BYTES

    assert imports.MAX_FILE_BYTES == MAX_SIZE_BYTES == 100 * 1024 * 1024


def fail_writes_under(monkeypatch, root: Path, code: int, *, after: int = 0) -> None:
    """The operating system refuses to create files under ``root`` (after ``after``
    successful ones), as a full disk or a read-only mount does."""
    real_open = os.open
    created = {"n": 0}

    def refusing_open(path, flags, *args, **kwargs):
        creating = str(path).startswith(str(root)) and flags & os.O_CREAT
        if creating and created["n"] >= after:
            raise OSError(code, os.strerror(code), str(path))
        fd = real_open(path, flags, *args, **kwargs)
        created["n"] += bool(creating)
        return fd

    monkeypatch.setattr(os, "open", refusing_open)


@pytest.mark.parametrize(
    ("code", "reason"),
    [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system")],
    ids=["disk-full", "read-only"],
)
@pytest.mark.parametrize("after", [0, 3], ids=["first-file", "midway"])
def test_storage_failures_fail_naming_the_file_and_leave_nothing(
    tmp_path, media_root, owner, monkeypatch, code, reason, after
):
    files = [a_good_file(tmp_path, f"c{n}.json") for n in range(3)]
    fail_writes_under(monkeypatch, media_root, code, after=after)

    with pytest.raises(CommandError) as failure:
        import_conversations(*files)

    failed_file = files[after // 2]  # two files stored per conversation: raw and parsed
    assert str(failure.value).startswith(f"The file storage failed while storing {failed_file} as ")
    assert f" ({reason}); nothing was kept." in str(failure.value)
    nothing_written(media_root)


# Scaffolding -----------------------------------------------------------------------------


def import_scaffolding(path: Path) -> None:
    call_command("import_scaffolding", path, stdout=StringIO(), stderr=StringIO())


PERSONA = {"persona_key": "p1", "name": "Dana"}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 100 levels"),
        (b'{"persona_key": "p2", "name": "X", "n": 1' + b"0" * 5000 + b"}", "a number too"),
        (b'{"persona_key": "p2", "name": "\\ud800"}', "a lone surrogate (such as \\ud800)"),
    ],
    ids=["100000-deep", "5000-digit-integer", "lone-surrogate"],
)
def test_hostile_scaffolding_lines_fail_naming_file_and_line(tmp_path, line, reason):
    path = tmp_path / "personas.ndjson"
    path.write_bytes(json.dumps(PERSONA).encode() + b"\n" + line + b"\n")

    with pytest.raises(CommandError) as failure:
        import_scaffolding(path)

    assert str(failure.value).startswith(f"{path}, line 2: not valid JSON: {reason}")
    assert not Persona.objects.exists()


def test_a_nul_character_in_scaffolding_is_refused_before_the_database(tmp_path):
    path = tmp_path / "personas.ndjson"
    path.write_text(
        json.dumps(PERSONA)
        + "\n"
        + json.dumps({**PERSONA, "persona_key": "p2", "bio": "a\x00b"})
        + "\n"
    )

    with pytest.raises(CommandError) as failure:
        import_scaffolding(path)

    assert str(failure.value) == (
        f"{path}, line 2: contains a NUL character (\\u0000), which the database cannot store"
    )
    assert not Persona.objects.exists()


def test_scaffolding_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "personas.ndjson"
    path.write_bytes(json.dumps(PERSONA).encode() + b'\n{"persona_key": "\xff"}\n')

    with pytest.raises(CommandError) as failure:
        import_scaffolding(path)

    position = len(json.dumps(PERSONA)) + len('\n{"persona_key": "')
    assert str(failure.value) == f"{path}: not UTF-8 text: byte 0xff at position {position}"
    assert not Persona.objects.exists()


def test_a_scaffolding_file_over_the_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "MAX_FILE_BYTES", 10)
    path = tmp_path / "personas.ndjson"
    path.write_text(json.dumps(PERSONA) + "\n")

    with pytest.raises(CommandError, match=r"personas.ndjson: larger than 10 bytes"):
        import_scaffolding(path)

    assert not Persona.objects.exists()
