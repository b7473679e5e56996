"""Exit codes and error output shared by every command.

    0  everything checked is valid / the operation succeeded
    1  something checked is invalid (a document, a signature, an audit chain)
    2  usage, configuration or I/O error: nothing was checked
"""
from __future__ import annotations

from typing import NoReturn

import typer

__all__ = ["EXIT_OK", "EXIT_INVALID", "EXIT_USAGE", "fail"]

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
