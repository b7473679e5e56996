"""The house plan (ARCHITECTURE.md) beyond what the import contracts check: every error of the
exchange has a kind that a client understands, each package's error tree is drawn where it is
defined, entry points leave transactions to the services, and modules stay readable."""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import exchange
from exchange.errors import (
    EXIT_CODES,
    HTTP_STATUS,
    ExchangeError,
    exit_code_of,
    http_status_of,
)

ROOT = Path(exchange.__file__).resolve().parent.parent
ENTRY_POINTS = ("exchange/api", "exchange/web", "exchange/cli")
MAX_LINES = 450


def _all_modules() -> list[str]:
    names = []
    for package in ("exchange", "adapters", "signing"):
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            if ".migrations" in info.name or info.name.endswith("__main__"):
                continue
            names.append(info.name)
    return names


def _exchange_errors() -> list[type[ExchangeError]]:
    for name in _all_modules():
        importlib.import_module(name)
    found, todo = [], [ExchangeError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith(("exchange", "adapters", "signing")):
                found.append(sub)
            todo.append(sub)
    return sorted(set(found), key=lambda c: (c.__module__, c.__qualname__))


def test_every_error_of_the_exchange_is_a_client_error_or_unavailable() -> None:
    """No domain error reaches a client as a 500: each belongs to a kind of the tables."""
    errors = _exchange_errors()
    assert len(errors) > 40  # the whole tree was found, not an empty walk
    without_kind = [f"{c.__module__}.{c.__qualname__}" for c in errors
                    if http_status_of(c.__new__(c)) == 500]
    assert without_kind == []
    statuses = {c.__qualname__: http_status_of(c.__new__(c)) for c in errors}
    assert statuses["DeliveryNotFound"] == 404
    assert statuses["DecisionConflict"] == 409  # a conflict first, though also refused
    assert statuses["AuthError"] == 401


def test_the_tables_map_every_kind_once_and_exit_codes_are_documented() -> None:
    assert set(HTTP_STATUS) == set(EXIT_CODES)
    assert set(EXIT_CODES.values()) <= {1, 2, 3}
    for kind in HTTP_STATUS:
        assert issubclass(kind, ExchangeError)


@pytest.mark.parametrize("code", sorted({c.code for c in _exchange_errors()}))
def test_error_codes_are_stable_identifiers(code: str) -> None:
    assert code and code == code.strip().lower() and " " not in code


def test_each_package_draws_its_error_tree() -> None:
    """Every class of a package's ``errors.py`` is named in that module's docstring."""
    missing = []
    for path in sorted((ROOT / "exchange").rglob("errors.py")):
        module = importlib.import_module(
            ".".join(path.relative_to(ROOT).with_suffix("").parts))
        doc = module.__doc__ or ""
        for name, cls in vars(module).items():
            if (inspect.isclass(cls) and issubclass(cls, ExchangeError)
                    and cls.__module__ == module.__name__ and name not in doc):
                missing.append(f"{module.__name__}.{name}")
    assert missing == []


def _calls(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("commit", "rollback", "session"):
            found.append((node.lineno, node.attr))
    return found


def test_entry_points_leave_transactions_to_the_services() -> None:
    """Routes, pages and commands neither commit nor roll back nor reach into the ORM
    session: a use case that changes state is a service function that does."""
    offences = []
    for folder in ENTRY_POINTS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line, attr in _calls(ast.parse(path.read_text())):
                offences.append(f"{path.relative_to(ROOT)}:{line}: .{attr}")
    assert offences == []


def test_the_house_rules_check_finds_an_offence() -> None:
    """The check above is not vacuous."""
    tree = ast.parse("def page(uow):\n    uow.session.get(Row, 1)\n    uow.commit()\n")
    assert sorted(attr for _, attr in _calls(tree)) == ["commit", "session"]


def test_modules_stay_readable() -> None:
    long = []
    for package in ("exchange", "adapters", "signing"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            lines = len(path.read_text().splitlines())
            if lines > MAX_LINES:
                long.append(f"{path.relative_to(ROOT)}: {lines}")
    assert long == []


def test_exit_codes_follow_the_kinds() -> None:
    from exchange.errors import ConfigError, ConflictError, NotFoundError, UnavailableError

    assert exit_code_of(ConfigError("x")) == 2
    assert exit_code_of(NotFoundError("x")) == 2
    assert exit_code_of(ConflictError("x")) == 1
    assert exit_code_of(UnavailableError("x")) == 3
