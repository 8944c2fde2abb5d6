"""Local scratch folders of builds, and the clean-up of those a killed worker left.

A build assembles its files in a temporary folder, which the build removes when it ends
however it ends, unless its process is killed. The folder's name holds the building
process's id, so that the next build on the machine removes the folders of processes
that are gone (a killed worker's folder can be as big as the files it was building).
"""

import logging
import os
import shutil
import tempfile
from pathlib import Path

logger = logging.getLogger("training.files")

PREFIX = "training-file-"


def scratch_folder() -> tempfile.TemporaryDirectory:
    """A new scratch folder for this process's build, after removing orphaned ones."""
    remove_orphans()
    return tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-")


def remove_orphans(root: Path | None = None) -> list[Path]:
    """Remove the scratch folders whose process is gone; return them."""
    removed = []
    for folder in Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        pid = folder.name.removeprefix(PREFIX).split("-", 1)[0]
        if pid.isdigit() and folder.is_dir() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    if removed:
        logger.info("Removed %d scratch folder(s) of killed builds", len(removed))
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
