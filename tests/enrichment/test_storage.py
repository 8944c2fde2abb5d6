"""Stored files are written whole or not at all, at exactly the path asked for."""

import os
import stat

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from core import storage


def test_write_file_creates_missing_folders_and_stores_the_exact_bytes(media_root):
    content = '{\n  "caf\u00e9": 1\n}\n'.encode()

    size = storage.write_file("owner/conversation/enriched.json", content)

    assert size == len(content)
    assert (media_root / "owner" / "conversation" / "enriched.json").read_bytes() == content


def test_write_file_replaces_an_existing_file_whole(media_root):
    storage.write_file("a/enriched.json", b"old content that is longer")

    storage.write_file("a/enriched.json", b"new")

    assert (media_root / "a" / "enriched.json").read_bytes() == b"new"
    assert os.listdir(media_root / "a") == ["enriched.json"]


def test_a_failed_write_leaves_no_partial_file_behind(media_root):
    # A folder where the file should go makes the final rename fail.
    (media_root / "b" / "enriched.json").mkdir(parents=True)

    with pytest.raises(OSError):
        storage.write_file("b/enriched.json", b"{}")

    assert os.listdir(media_root / "b") == ["enriched.json"]
    assert (media_root / "b" / "enriched.json").is_dir()


def test_written_files_get_the_configured_permissions(media_root, settings):
    settings.FILE_UPLOAD_PERMISSIONS = 0o640
    old_umask = os.umask(0o077)
    try:
        storage.write_file("c/enriched.json", b"{}")
        default_storage.save("c/uploaded.json", ContentFile(b"{}"))
    finally:
        os.umask(old_umask)

    for name in ("enriched.json", "uploaded.json"):
        mode = stat.S_IMODE((media_root / "c" / name).stat().st_mode)
        assert mode == 0o640, name


def test_the_generic_save_path_still_writes_atomically_at_the_given_name(media_root):
    default_storage.save("d/conversation.json", ContentFile(b"1"))
    saved = default_storage.save("d/conversation.json", ContentFile(b"22"))

    assert saved == "d/conversation.json"
    assert (media_root / "d" / "conversation.json").read_bytes() == b"22"
    assert os.listdir(media_root / "d") == ["conversation.json"]
