"""Where the exchange keeps its data: ``EXCHANGE_HOME`` or a per-user data directory.

Everything the exchange writes is owner-only: directories ``0700``, files ``0600``,
whatever the umask. The ``exchange`` command sets a private umask for its whole process
(:func:`use_private_umask`), so files that libraries create (SQLite's, the schema store's,
an export) are owner-only too; the places that make secrets or the database also say so
themselves (:func:`private_dir`, :func:`create_private_file`, :func:`write_private`), for
the processes that embed the exchange without that umask. :func:`wider_than_private` finds
what an earlier version, a copy or a hand left open to the group or to others.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

import platformdirs

__all__ = [
    "PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "PRIVATE_UMASK", "create_private_file",
    "exchange_home", "private_dir", "schema_store_dir", "use_private_umask",
    "wider_than_private", "write_private",
]

PRIVATE_UMASK = 0o077
"""No permission for the group or for others on anything the process creates."""
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def exchange_home() -> Path:
    home = os.environ.get("EXCHANGE_HOME")
    if home:
        return Path(home).expanduser()
    return Path(platformdirs.user_data_dir("carec-exchange", appauthor=False))


def schema_store_dir(home: Path | None = None) -> Path:
    return (home or exchange_home()) / "schemas"


def use_private_umask() -> int:
    """Make every file and directory this process creates from now on owner-only (bits of
    the umask already set stay set); returns the umask before."""
    old = os.umask(PRIVATE_UMASK)
    os.umask(old | PRIVATE_UMASK)
    return old


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


def wider_than_private(paths: Iterable[Path]) -> Iterator[tuple[Path, int]]:
    """``(path, mode)`` of every existing directory or file among *paths*, and below the
    directories, that the group or others may use in any way. Symbolic links are not
    followed (their own mode means nothing); each path is named once."""
    seen: set[Path] = set()

    def check(path: Path) -> Iterator[tuple[Path, int]]:
        if path in seen:
            return
        seen.add(path)
        try:
            st = path.lstat()
        except OSError:
            return
        if stat.S_ISLNK(st.st_mode):
            return
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            yield path, mode
        if stat.S_ISDIR(st.st_mode):
            try:
                children = sorted(path.iterdir())
            except OSError:
                return
            for child in children:
                yield from check(child)

    for path in paths:
        yield from check(Path(os.path.abspath(path)))
