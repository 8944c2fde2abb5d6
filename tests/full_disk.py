"""A local storage on a full disk, for the tests: every file's bytes go to ``/dev/full``,
where the kernel refuses them with ENOSPC ("No space left on device") exactly as a full
filesystem does. Reads, listings and deletes are the local storage's own."""

from core.storage import AtomicFileSystemStorage


class FullDiskStorage(AtomicFileSystemStorage):
    def _write_atomically(self, full_path: str, chunks) -> int:
        size = 0
        with open("/dev/full", "wb", buffering=0) as device:
            for chunk in chunks:
                size += device.write(chunk if isinstance(chunk, bytes) else chunk.encode())
        return size
