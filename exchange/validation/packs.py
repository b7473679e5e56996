"""Schema packs: the catalog in ``schemas/packs/*.toml`` and the local schema store.

A pack is a set of standard files (XSDs, code lists, examples) pinned by SHA-256 in
the catalog. ``install`` copies them from a folder, a zip or a URL into
``$EXCHANGE_HOME/schemas/<pack>/``, checking every digest first: the store changes
only when every file matched, and then in one rename.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import tomllib
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Generic, Protocol, TypeVar

import schemas

from exchange.errors import (
    DigestMismatchError,
    PackNotInstalledError,
    PackSourceError,
    UnknownPackError,
)
from exchange.i18n import t
from exchange.paths import schema_store_dir

__all__ = [
    "DocumentType", "InstallResult", "PackSpec", "PinnedStore", "SchemaStore", "load_catalog",
    "get_pack",
    "MAX_FILE_BYTES",
]

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest single file accepted from a pack source (guards against zip bombs)."""
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
INSTALLED_MARKER = ".installed.toml"


@dataclass(frozen=True)
class DocumentType:
    root: str
    namespace: str
    schema: str  # path inside the pack


@dataclass(frozen=True)
class PackSpec:
    name: str
    standard: str
    version: str
    download_url: str
    files: dict[str, str]
    document_types: tuple[DocumentType, ...]
    code_lists: dict[str, str] = field(default_factory=dict)
    licence_file: str | None = None
    shipment_documents: bool = True
    """Whether its documents may be submitted with a shipment (trade documents), or only
    read elsewhere (bank files: the payments import)."""

    def by_namespace(self) -> dict[str, DocumentType]:
        return {d.namespace: d for d in self.document_types}


def _parse_spec(path: Path) -> PackSpec:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return PackSpec(
        name=data["name"],
        standard=data["standard"],
        version=data["version"],
        download_url=data["download_url"],
        files=dict(data["files"]),
        document_types=tuple(DocumentType(**d) for d in data["document_types"]),
        code_lists=dict(data.get("code_lists", {})),
        licence_file=data.get("licence_file"),
        shipment_documents=bool(data.get("shipment_documents", True)),
    )


def load_catalog(folder: Path | None = None) -> dict[str, PackSpec]:
    """All packs of the catalog, by name."""
    folder = folder or schemas.packs_dir()
    specs = (_parse_spec(p) for p in sorted(folder.glob("*.toml")))
    return {s.name: s for s in specs}


class PinnedPack(Protocol):
    """What the store needs of a catalog entry: its files and their pinned digests."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def download_url(self) -> str: ...
    @property
    def files(self) -> dict[str, str]: ...


_P = TypeVar("_P", bound=PinnedPack)


def get_pack(name: str, catalog: dict[str, _P] | None = None, *, kind: str = "schema") -> _P:
    if catalog is None:
        catalog = load_catalog()  # type: ignore[assignment]
        assert catalog is not None
    try:
        return catalog[name]
    except KeyError:
        known = ", ".join(sorted(catalog))
        if kind == "rule":
            raise UnknownPackError(t("unknown rule pack {name!r} (known packs: {known})",
                                     name=name, known=known or "none")) from None
        raise UnknownPackError(t("unknown schema pack {name!r} (known packs: {known})",
                                 name=name, known=known or "none")) from None


# --------------------------------------------------------------------------- sources

class _Source:
    """Read access to the files of a pack source, by path inside the pack."""

    def __init__(self, prefix: str = ""):
        self.prefix = prefix

    def read(self, rel: str) -> bytes | None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass


class _FolderSource(_Source):
    def __init__(self, root: Path, probe: str):
        hits = list(root.rglob(PurePosixPath(probe).name))
        base = next((h for h in hits if h.as_posix().endswith("/" + probe)), None)
        if base is None:
            raise PackSourceError(t("{source} does not hold this pack: {probe} was not found in "
                                    "it", source=str(root), probe=probe))
        self.root = Path(base.as_posix()[: -len(probe)])
        super().__init__()

    def read(self, rel: str) -> bytes | None:
        path = self.root / rel
        if not path.is_file():
            return None
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PackSourceError(t("{file} is larger than {limit:,} bytes", file=rel,
                                    limit=MAX_FILE_BYTES))
        return path.read_bytes()


class _ZipSource(_Source):
    def __init__(self, stream: io.BufferedIOBase | Path, probe: str, label: str):
        try:
            self.zf = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError) as exc:
            raise PackSourceError(t("{source} is not a readable zip file: {error}", source=label,
                                    error=str(exc))) from None
        names = self.zf.namelist()
        match = next((n for n in names if n == probe or n.endswith("/" + probe)), None)
        if match is None:
            raise PackSourceError(t("{source} does not hold this pack: {probe} is not in it",
                                    source=label, probe=probe))
        super().__init__(match[: -len(probe)])

    def read(self, rel: str) -> bytes | None:
        try:
            info = self.zf.getinfo(self.prefix + rel)
        except KeyError:
            return None
        if info.file_size > MAX_FILE_BYTES:
            raise PackSourceError(t("{file} is larger than {limit:,} bytes", file=rel,
                                    limit=MAX_FILE_BYTES))
        with self.zf.open(info) as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise PackSourceError(t("{file} expands beyond {limit:,} bytes", file=rel,
                                    limit=MAX_FILE_BYTES))
        return data

    def close(self) -> None:
        self.zf.close()


def _download(url: str) -> Path:
    import httpx

    tmp = tempfile.NamedTemporaryFile(prefix="exchange-pack-", suffix=".zip", delete=False)
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60.0) as resp:
            if resp.status_code != 200:
                raise PackSourceError(t("downloading {url} failed: HTTP {status}", url=url,
                                        status=resp.status_code))
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise PackSourceError(t("{url} is larger than {limit:,} bytes", url=url,
                                            limit=MAX_DOWNLOAD_BYTES))
                tmp.write(chunk)
    except httpx.HTTPError as exc:
        tmp.close()
        os.unlink(tmp.name)
        raise PackSourceError(t("downloading {url} failed: {error}", url=url,
                                error=str(exc))) from None
    except BaseException:
        tmp.close()
        os.unlink(tmp.name)
        raise
    tmp.close()
    return Path(tmp.name)


# --------------------------------------------------------------------------- store

@dataclass(frozen=True)
class InstallResult(Generic[_P]):
    pack: _P
    path: Path
    files: int


class PinnedStore(Generic[_P]):
    """A local store of packs pinned by a catalog: installs check every digest first.

    :class:`SchemaStore` holds schema packs; :class:`~exchange.validation.rulepacks.RuleStore`
    rule packs, with the same install rules."""

    kind = "schema"
    install_command = "exchange schemas install"
    root: Path
    catalog: dict[str, _P]

    def _probe(self, spec: _P) -> str:
        """A file that locates the pack inside a source (its folder or zip prefix)."""
        return next(iter(spec.files))

    def spec(self, name: str) -> _P:
        """The catalog entry of pack *name* (:class:`UnknownPackError` if there is none)."""
        return get_pack(name, self.catalog, kind=self.kind)

    def pack_dir(self, name: str) -> Path:
        return self.root / name

    def is_installed(self, name: str) -> bool:
        return (self.pack_dir(name) / INSTALLED_MARKER).is_file()

    def require(self, name: str) -> Path:
        self.spec(name)
        if not self.is_installed(name):
            if self.kind == "rule":
                raise PackNotInstalledError(t("rule pack {name!r} is not installed; run: "
                                              "{command} {name}", name=name,
                                              command=self.install_command))
            raise PackNotInstalledError(t("schema pack {name!r} is not installed; run: "
                                          "{command} {name}", name=name,
                                          command=self.install_command))
        return self.pack_dir(name)

    def packs(self) -> Iterator[tuple[_P, bool]]:
        for spec in self.catalog.values():
            yield spec, self.is_installed(spec.name)

    def install(self, name: str, source: str | None = None) -> InstallResult[_P]:
        """Install pack *name* from *source* (folder, zip file, http(s) URL; default: the
        official download). Every file's digest is checked before the store changes."""
        spec = self.spec(name)
        src = self._open_source(spec, source)
        try:
            staged = self._stage(spec, src)
        finally:
            src.close()
        target = self.pack_dir(name)
        old = None
        if target.exists():
            old = target.with_name(f".old-{name}-{uuid.uuid4().hex}")
            target.rename(old)
        staged.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return InstallResult(spec, target, len(spec.files))

    def _open_source(self, spec: _P, source: str | None) -> _Source:
        probe = self._probe(spec)
        url = source or spec.download_url
        if url.startswith(("http://", "https://")):
            path = _download(url)
            try:
                return _ZipSource(path.open("rb"), probe, url)
            finally:
                path.unlink(missing_ok=True)  # the open handle keeps the data readable
        path = Path(url).expanduser()
        if not path.exists():
            raise PackSourceError(t("{source} does not exist (give a folder, a .zip file or a URL)",
                                    source=str(path)))
        if path.is_dir():
            try:
                return _FolderSource(path, probe)
            except PermissionError as exc:
                raise PackSourceError(t("{source} cannot be read: {error}", source=str(path),
                                        error=str(exc))) from None
        try:
            return _ZipSource(path.open("rb"), probe, str(path))
        except PermissionError as exc:
            raise PackSourceError(t("{source} cannot be read: {error}", source=str(path),
                                        error=str(exc))) from None

    def _stage(self, spec: _P, src: _Source) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".staging-{spec.name}-", dir=self.root))
        try:
            for rel, expected in spec.files.items():
                data = src.read(rel)
                if data is None:
                    raise DigestMismatchError(t("{file} is missing from the source; the pack was not "
                                               "installed", file=rel))
                actual = hashlib.sha256(data).hexdigest()
                if actual != expected:
                    raise DigestMismatchError(
                        t("{file} does not match its pinned digest (expected sha256 "
                          "{expected}, got {actual}); the pack was not installed", file=rel,
                          expected=expected, actual=actual))
                out = staging / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
            (staging / INSTALLED_MARKER).write_text(
                f'name = "{spec.name}"\nversion = "{spec.version}"\nfiles = {len(spec.files)}\n',
                encoding="utf-8")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return staging


class SchemaStore(PinnedStore[PackSpec]):
    """The local store of installed schema packs under ``<home>/schemas``."""

    def __init__(self, root: Path | None = None, catalog: dict[str, PackSpec] | None = None):
        self.root = root or schema_store_dir()
        self.catalog = catalog if catalog is not None else load_catalog()

    def _probe(self, spec: PackSpec) -> str:
        return spec.document_types[0].schema
