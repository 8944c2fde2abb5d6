"""File storage for conversation files (DOMAIN.md §6).

Paths are relative to the storage root and are what the database stores; URLs are
never stored. Downloads go through the app after an ownership check.
"""

import contextlib
import os
import uuid
from collections.abc import Iterable

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage


class AtomicFileSystemStorage(FileSystemStorage):
    """Local storage whose writes replace a file whole or not at all.

    A crash or a full disk in the middle of a write must never leave a half-written
    enriched file where a training-set builder would pick it up.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("allow_overwrite", True)
        super().__init__(**kwargs)

    def _save(self, name: str, content) -> str:
        self._write_atomically(self.path(name), content.chunks())
        return name.replace("\\", "/")

    def write_bytes(self, name: str, data: bytes) -> int:
        """Write ``data`` at exactly ``name`` (replacing any file there); return its size.

        The hot path of enrichment: one call per enriched file, without the generic
        ``save()`` machinery (name checks for uploads, chunking) that a path we built
        ourselves does not need.
        """
        return self._write_atomically(self.path(name), (data,))

    def probe(self) -> None:
        """Raise unless files can be written under the root (the health check)."""
        os.makedirs(self.location, exist_ok=True)
        if not os.access(self.location, os.W_OK | os.X_OK):
            raise PermissionError(f"{self.location} is not writable.")

    def write_chunks(self, name: str, chunks) -> int:
        """``write_bytes`` for content given in pieces, never held whole."""
        return self._write_atomically(self.path(name), chunks)

    def _write_atomically(self, full_path: str, chunks) -> int:
        # A unique sibling name: the rename below is atomic only within one folder.
        tmp_path = f"{full_path}.{uuid.uuid4().hex}.part"
        try:
            fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(full_path), exist_ok=True)
            fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        size = 0
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    size += handle.write(chunk if isinstance(chunk, bytes) else chunk.encode())
                if self.file_permissions_mode is not None:
                    os.fchmod(handle.fileno(), self.file_permissions_mode)
            os.replace(tmp_path, full_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_path)
            raise
        return size


def raw_path(owner: str, conversation_id: str) -> str:
    return f"raw/{owner}/{conversation_id}.json"


def parsed_path(owner: str, conversation_id: str) -> str:
    return f"{owner}/{conversation_id}/conversation.json"


def enriched_path(owner: str, conversation_id: str) -> str:
    """Where enrichment wrote its output before revisions (rows may still point here)."""
    return f"{owner}/{conversation_id}/enriched.json"


def revision_path(owner: str, conversation_id: str, number: int) -> str:
    """A revision after the first (an edit or a replacement): never overwritten."""
    return f"{owner}/{conversation_id}/revisions/{number}.json"


def enriched_output_path(owner: str, conversation_id: str, revision: int, claim: str) -> str:
    """One enrichment's output: of one revision, by one claim, so that two enrichments
    never write the same file (the row points at the one whose outcome wins)."""
    return f"{owner}/{conversation_id}/enriched/{revision}-{claim}.json"


def delete_file(path: str) -> bool:
    """Remove ``path`` if it is there; ``False`` when it could not be (best effort: a
    file left behind costs space, never correctness)."""
    try:
        default_storage.delete(path)
    except OSError:
        return False
    return True


def write_file(path: str, content: bytes) -> int:
    """Write ``content`` at exactly ``path`` (replacing any file there); return its size."""
    write_bytes = getattr(default_storage, "write_bytes", None)
    if write_bytes is not None:
        return write_bytes(path, content)
    saved = default_storage.save(path, ContentFile(content))
    if saved != path:
        # A backend that renames on collision would break the path conventions.
        default_storage.delete(saved)
        raise OSError(f"Storage wrote {saved!r} instead of {path!r}; enable overwriting.")
    return len(content)


def write_chunks(path: str, chunks: Iterable[bytes]) -> int:
    """``write_file`` for content given in pieces: written as they come where the storage
    can (local files), so a large document is never held whole; joined otherwise."""
    write = getattr(default_storage, "write_chunks", None)
    if write is not None:
        return write(path, chunks)
    return write_file(path, b"".join(chunks))


def read_file(path: str) -> bytes:
    with default_storage.open(path, "rb") as handle:
        return handle.read()


def check_storage() -> None:
    """Raise when the file storage does not answer (a missing bucket, a read-only disk)."""
    probe = getattr(default_storage, "probe", None)
    if probe is not None:
        probe()
    else:
        default_storage.listdir("")
