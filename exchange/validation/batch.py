"""Validate many inputs: collect files, folders and standard input, fan out to processes.

Reports travel between processes as dicts (``ValidationReport.to_dict()``): trees
stay in the worker that parsed them.
"""
from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..schemapacks import SchemaStore

__all__ = ["Input", "collect_inputs", "validate_inputs"]


@dataclass(frozen=True)
class Input:
    name: str
    path: Path | None = None
    data: bytes | None = None


def collect_inputs(args: Iterable[str], *, stdin: Callable[[], bytes]) -> tuple[
        list[Input], list[InputError]]:
    """Expand paths into inputs; return the inputs and the problems found (missing
    files, unreadable folders), so that the caller can report all of them at once."""
    inputs: list[Input] = []
    problems: list[InputError] = []
    stdin_used = False
    for arg in args:
        if arg == "-":
            if stdin_used:
                problems.append(InputError("'-' (standard input) can be given only once"))
                continue
            stdin_used = True
            inputs.append(Input("<stdin>", data=stdin()))
            continue
        path = Path(arg)
        if path.is_dir():
            if not os.access(path, os.R_OK | os.X_OK):
                problems.append(InputError(
                    f"{arg}: folder cannot be read (permission denied); check its permissions"))
                continue
            try:
                found = sorted(p for p in path.rglob("*.xml") if p.is_file())
            except OSError as exc:
                problems.append(InputError(f"{arg}: folder cannot be read ({exc.strerror})"))
                continue
            if not found:
                problems.append(InputError(
                    f"{arg}: no *.xml files in this folder or below; give files or another "
                    "folder"))
            inputs.extend(Input(str(p), path=p) for p in found)
        elif path.exists():
            inputs.append(Input(arg, path=path))
        else:
            problems.append(InputError(f"{arg}: no such file or folder; check the path"))
    return inputs, problems


# ------------------------------------------------------------------ workers

_VALIDATOR = None


def _init_worker(store_root: str) -> None:
    global _VALIDATOR
    from .engine import Validator

    _VALIDATOR = Validator(SchemaStore(Path(store_root)))


def _run_one(item: Input, validator: Any) -> dict[str, Any]:
    from ..errors import PackNotInstalledError

    try:
        data = item.data if item.data is not None else item.path.read_bytes()  # type: ignore[union-attr]
    except OSError as exc:
        return {"source": item.name, "io_error": f"{item.name}: cannot be read ({exc.strerror})"}
    try:
        return validator.validate(data, item.name).to_dict()
    except PackNotInstalledError as exc:
        return {"source": item.name, "setup_error": exc.message}


def _run_chunk(items: list[Input]) -> list[dict[str, Any]]:
    with _no_cyclic_gc():
        return [_run_one(item, _VALIDATOR) for item in items]


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def validate_inputs(inputs: list[Input], *, store: SchemaStore, jobs: int = 1,
                    progress: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
    """Yield one result dict per input, in input order."""
    if jobs <= 1 or len(inputs) < 2:
        from .engine import Validator

        validator = Validator(store)
        # The loop makes no reference cycles (trees are freed by reference counting), but
        # the cyclic collector would walk every accumulated report again and again.
        with _no_cyclic_gc():
            for item in inputs:
                yield _run_one(item, validator)
                if progress:
                    progress(1)
        return
    chunk = max(1, min(64, len(inputs) // (jobs * 8) or 1))
    chunks = [inputs[i:i + chunk] for i in range(0, len(inputs), chunk)]
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                             initargs=(str(store.root),)) as pool:
        for results in pool.map(_run_chunk, chunks):
            yield from results
            if progress:
                progress(len(results))
