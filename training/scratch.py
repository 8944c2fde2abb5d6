"""Local scratch folders of builds, and the clean-up of those a killed worker left.

A build assembles its files in a temporary folder, which the build removes when it ends
however it ends, unless its process is killed. So a build holds an exclusive lock
(``flock``) on a file in its folder for as long as it runs: the kernel lets go of it when
the process ends, killed or not. The next build on the machine removes every scratch
folder whose lock it can take (a killed worker's folder can be as big as the files it was
building). Locks, unlike process ids, hold across containers on one host that share the
folder (a local file system: not NFS) and across a restart that hands out the same process
ids again.
"""

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger("training.files")

PREFIX = "training-file-"
LOCK_NAME = ".building"
# A folder without a lock file is being created right now, or was left by a version
# that did not lock: removed once it is this old (seconds).
UNLOCKED_GRACE = 3600


@contextlib.contextmanager
def scratch_folder() -> Iterator[str]:
    """A new scratch folder for a build, locked while it is in use, after removing the
    folders of builds that are gone."""
    try:
        remove_orphans()
    except Exception:  # clean-up must never fail a build
        logger.exception("Could not clean up the scratch folders of earlier builds")
    with (
        tempfile.TemporaryDirectory(prefix=PREFIX) as folder,
        open(Path(folder) / f"{LOCK_NAME}.new", "wb") as lock,
    ):
        # Locked before it has its name: another build's clean-up never finds it free.
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.rename(Path(folder) / f"{LOCK_NAME}.new", Path(folder) / LOCK_NAME)
        yield folder


def remove_orphans(root: Path | None = None) -> list[Path]:
    """Remove the scratch folders whose build is gone; return those removed."""
    removed = []
    for folder in Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        if folder.is_dir() and not folder.is_symlink() and _remove_if_orphaned(folder):
            removed.append(folder)
    if removed:
        logger.info("Removed %d scratch folder(s) of builds that were killed", len(removed))
    return removed


def _remove_if_orphaned(folder: Path) -> bool:
    try:
        lock = open(folder / LOCK_NAME, "rb")  # noqa: SIM115 (closed below)
    except FileNotFoundError:
        try:
            old = time.time() - folder.stat().st_mtime > UNLOCKED_GRACE
        except OSError:
            return False
        return old and _remove(folder)
    except OSError:  # another user's, or unreadable: not ours to judge
        return False
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: its build is running
            return False
        return _remove(folder)


def _remove(folder: Path) -> bool:
    shutil.rmtree(folder, ignore_errors=True)
    return not folder.exists()
