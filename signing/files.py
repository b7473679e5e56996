"""Owner-only files and folders, whatever the umask: directories ``0700``, files ``0600``.

Keys, certificates, the database and everything else the exchange, its adapters and the demo
PKI write are nobody else's. A folder that exists already keeps its mode (an operator may
have opened a share to a national system on purpose).
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "create_private_file", "private_dir",
           "write_private"]

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """``mkdir -p`` *path*: each directory made here is ``0700``; one that exists is left as
    it is (an operator may have opened a shared folder on purpose)."""
    missing: list[Path] = []
    current = path
    while not os.path.lexists(current) and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:  # another process made it at the same moment
            continue
        os.chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode passes through the umask
    return path


def create_private_file(path: Path) -> bool:
    """Create *path* empty with mode ``0600`` (its folder ``0700``) unless it exists;
    True when it was made here."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return True


def write_private(path: Path, data: bytes) -> Path:
    """Write *data* to *path* with mode ``0600`` (an existing file is narrowed to it too),
    making its folder (``0700``) first."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(fd, PRIVATE_FILE_MODE)
        out.write(data)
    return path
