"""Writing a file whole or not at all: the one :func:`write_atomic` every output goes through."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from archcost.errors import UsageError


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as a temporary file in the same folder, then rename it over ``path``.

    ``path`` is either its old self or complete: an interrupted or failed write (a full
    disk, a failed rename, Ctrl-C) removes the temporary file and leaves ``path`` as it was.
    ``path`` must be a regular file or not exist: a device, a FIFO or a folder there (also
    behind a symlink, such as ``/dev/stdout``) is refused with :class:`UsageError`, never
    written through nor replaced. ``OSError`` from the file system reaches the caller.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISREG(mode):
            raise UsageError("refusing to write: not a regular file (a device, a FIFO or a folder); "
                             "name a file", where=str(path))
    fd, tmp = tempfile.mkstemp(prefix=".archcost-", dir=path.parent if str(path.parent) else ".")
    try:
        try:
            handle = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            raise
        with handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
