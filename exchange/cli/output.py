"""Exit codes and error output shared by every command.

    0  everything checked is valid / the operation succeeded
    1  something checked is invalid (a document, a signature, an audit chain)
    2  usage, configuration or I/O error: nothing was checked
    3  a part the exchange needs (the database) is unavailable

The codes of the exchange's errors come from one table, :data:`exchange.errors.EXIT_CODES`
(see :mod:`exchange.cli.context`).
"""
from __future__ import annotations

from typing import NoReturn

import typer

from exchange.errors import EXIT_INVALID, EXIT_OK, EXIT_USAGE

__all__ = ["EXIT_OK", "EXIT_INVALID", "EXIT_USAGE", "fail"]


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
