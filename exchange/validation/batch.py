"""Validate many inputs: collect files, folders and standard input, fan out to processes.

Reports travel between processes as dicts (``ValidationReport.to_dict()``), or, for the
JSON report, as the JSON text of each dict, encoded in the worker that validated it:
trees stay in the worker that parsed them.

Workers get the whole input list once, when they start (for free where processes are
forked), and then only ranges of it; each range comes back as one list.
"""
from __future__ import annotations

import contextlib
import gc
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from exchange.errors import InputError, PackNotInstalledError
from exchange.i18n import t
from exchange.validation.packs import SchemaStore

if TYPE_CHECKING:
    from exchange.validation.engine import Validator
    from exchange.validation.rules import RuleSelection

__all__ = ["Input", "collect_inputs", "validate_inputs", "validate_inputs_json"]


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
                problems.append(InputError(t("'-' (standard input) can be given only once")))
                continue
            stdin_used = True
            inputs.append(Input("<stdin>", data=stdin()))
            continue
        path = Path(arg)
        if path.is_dir():
            if not os.access(path, os.R_OK | os.X_OK):
                problems.append(InputError(t(
                    "{path}: folder cannot be read (permission denied); check its permissions",
                    path=arg)))
                continue
            try:
                found = _xml_files(str(path))
            except OSError as exc:
                problems.append(InputError(t("{path}: folder cannot be read ({error})",
                                             path=arg, error=exc.strerror)))
                continue
            if not found:
                problems.append(InputError(t(
                    "{path}: no *.xml files in this folder or below; give files or another "
                    "folder", path=arg)))
            inputs.extend(Input(name, path=Path(name)) for name in found)
        elif path.exists():
            inputs.append(Input(arg, path=path))
        else:
            problems.append(InputError(t("{path}: no such file or folder; check the path",
                                         path=arg)))
    return inputs, problems


def _xml_files(folder: str) -> list[str]:
    """The files named ``*.xml`` in *folder* and below, as ``Path(folder).rglob("*.xml")``
    filtered by ``is_file()`` and sorted as paths would give them (same names, same
    order; symbolic links to folders are not followed, subfolders that cannot be read
    are passed over), without a Path object and a stat call per file."""
    found: list[tuple[list[str], str]] = []  # (parts below *folder*, path)

    def walk(directory: str, rel: list[str]) -> None:
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except PermissionError:
            return
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            name = entry.name
            if is_dir:
                walk(entry.path, rel + [name])
            if name.endswith(".xml"):
                try:
                    is_file = entry.is_file()
                except OSError:
                    is_file = False
                if is_file:
                    found.append((rel + [name], entry.path))

    walk(folder, [])
    # Path ordering compares the parts, not the strings ('a/b' sorts before 'a-b/c').
    found.sort(key=lambda item: item[0])
    # *folder* is str(Path(arg)): no trailing slash but in "/", and Path(".") / "a.xml"
    # is "a.xml".
    if folder == ".":
        prefix = ""
    elif folder.endswith("/"):
        prefix = folder
    else:
        prefix = folder + "/"
    return [prefix + "/".join(parts) for parts, _ in found]


# ------------------------------------------------------------------ one input

def _read(item: Input) -> bytes:
    if item.data is not None:
        return item.data
    # an Input holds its bytes or, when it has none, a path
    with open(cast("Path", item.path), "rb", buffering=0) as fh:
        return fh.read()


def _run_one(item: Input, validator: Validator, locale: str | None = None) -> dict[str, Any]:
    try:
        data = _read(item)
    except OSError as exc:
        return {"source": item.name, "io_error": t(
            "{file}: cannot be read ({error})", file=item.name, error=exc.strerror).render(locale)}
    try:
        return validator.validate(data, item.name).to_dict(locale)
    except PackNotInstalledError as exc:
        return {"source": item.name, "setup_error": exc.detail(locale)}


_BRIEF_KEYS = ("source", "decision", "errors", "warnings", "io_error", "setup_error")
_encode = json.JSONEncoder(ensure_ascii=False).encode  # what json.dumps(ensure_ascii=False) does


def _run_one_json(item: Input, validator: Validator, locale: str | None = None
                  ) -> tuple[dict[str, Any], str]:
    result = _run_one(item, validator, locale)
    return {k: result[k] for k in _BRIEF_KEYS if k in result}, _encode(result)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    # Validation makes no reference cycles (trees are freed by reference counting), but
    # the cyclic collector would walk every accumulated result again and again.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ------------------------------------------------------------------ workers

_VALIDATOR: Validator | None = None
_INPUTS: list[Input] = []
_LOCALE: str | None = None


def _make_validator(store: SchemaStore, rules: RuleSelection | None,
                    rule_root: str | None, lang: str = "en") -> Validator:
    """A validator; with a rules layer choosing packs by *rules* unless it is None or off."""
    from exchange.validation.engine import Validator

    if rules is None or rules.off:
        return Validator(store)
    from exchange.validation.rulepacks import RuleStore
    from exchange.validation.rules import RuleEngine

    engine = RuleEngine(RuleStore(None if rule_root is None else Path(rule_root)),
                        default=rules, lang=lang)
    return Validator(store, rules=engine)


def _init_worker(store_root: str, inputs: list[Input], rules: RuleSelection | None = None,
                 rule_root: str | None = None, lang: str = "en",
                 locale: str | None = None) -> None:
    global _VALIDATOR, _INPUTS, _LOCALE
    _VALIDATOR = _make_validator(SchemaStore(Path(store_root)), rules, rule_root, lang)
    _INPUTS = inputs
    _LOCALE = locale
    gc.freeze()  # what was inherited or loaded so far is never garbage


def _run_range(bounds: tuple[int, int], as_json: bool) -> list[Any]:  # Any: dicts or JSON
    run = _run_one_json if as_json else _run_one
    validator = cast("Validator", _VALIDATOR)  # set by _init_worker, before any range
    with _no_cyclic_gc():
        return [run(item, validator, _LOCALE) for item in _INPUTS[bounds[0]:bounds[1]]]


def _run_range_dicts(bounds: tuple[int, int]) -> list[Any]:
    return _run_range(bounds, False)


def _run_range_json(bounds: tuple[int, int]) -> list[Any]:
    return _run_range(bounds, True)


def _results(inputs: list[Input], store: SchemaStore, jobs: int, as_json: bool,
             progress: Callable[[int], None] | None, rules: RuleSelection | None = None,
             rule_root: str | None = None, lang: str = "en", locale: str | None = None,
             ) -> Iterator[Any]:  # Any: report dicts, or their JSON text when as_json
    if jobs <= 1 or len(inputs) < 2:
        validator = _make_validator(store, rules, rule_root, lang)
        run = _run_one_json if as_json else _run_one
        with _no_cyclic_gc():
            for item in inputs:
                yield run(item, validator, locale)
                if progress:
                    progress(1)
        return
    # Ranges small enough that a worker slowed by other load does not leave the other
    # waiting at the end, large enough that passing them around costs nothing.
    size = max(1, min(128, len(inputs) // (jobs * 8) or 1))
    ranges = [(i, min(i + size, len(inputs))) for i in range(0, len(inputs), size)]
    from concurrent.futures import ProcessPoolExecutor

    task = _run_range_json if as_json else _run_range_dicts
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                             initargs=(str(store.root), inputs, rules, rule_root, lang,
                                       locale)) as pool, _no_cyclic_gc():
        for results in pool.map(task, ranges):
            yield from results
            if progress:
                progress(len(results))


def validate_inputs(inputs: list[Input], *, store: SchemaStore, jobs: int = 1,
                    progress: Callable[[int], None] | None = None,
                    rules: RuleSelection | None = None, rule_root: str | None = None,
                    lang: str = "en", locale: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield one result dict per input, in input order. *rules* adds the rules layer
    (packs from the rule store at *rule_root*, default the data directory's; rule messages
    in *lang* where a rule has it); findings' messages in *locale*."""
    return _results(inputs, store, jobs, False, progress, rules, rule_root, lang, locale)


def validate_inputs_json(inputs: list[Input], *, store: SchemaStore, jobs: int = 1,
                         progress: Callable[[int], None] | None = None,
                         rules: RuleSelection | None = None, rule_root: str | None = None,
                         lang: str = "en", locale: str | None = None
                         ) -> Iterator[tuple[dict[str, Any], str]]:
    """Yield, per input and in input order, the brief of its result (``source``,
    ``decision``, ``errors``, ``warnings``, or ``io_error`` / ``setup_error``: what a
    summary and an exit code need) and the JSON text of the whole result dict."""
    return _results(inputs, store, jobs, True, progress, rules, rule_root, lang, locale)
