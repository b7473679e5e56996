"""Where the exchange keeps its data: ``EXCHANGE_HOME`` or a per-user data directory.

Everything the exchange writes is owner-only: directories ``0700``, files ``0600``,
whatever the umask. The ``exchange`` command sets a private umask for its whole process
(:func:`use_private_umask`), so files that libraries create (SQLite's, the schema store's,
an export) are owner-only too; the places that make secrets or the database also say so
themselves (:func:`private_dir`, :func:`create_private_file`, :func:`write_private`, from
:mod:`signing.files`, which the adapters and the demo PKI use too), for the processes that
embed the exchange without that umask. :func:`wider_than_private` finds
what an earlier version, a copy or a hand left open to the group or to others.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

import platformdirs

from signing.files import (
    PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, create_private_file, private_dir, write_private,
)

__all__ = [
    "PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "PRIVATE_UMASK", "create_private_file",
    "exchange_home", "private_dir", "schema_store_dir", "use_private_umask",
    "wider_than_private", "write_private",
]

PRIVATE_UMASK = 0o077
"""No permission for the group or for others on anything the process creates."""


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
