"""Exit codes and the lines a command prints for a person, in the reader's language.

    0  everything checked is valid / the operation succeeded
    1  something checked is invalid (a document, a signature, an audit chain)
    2  usage, configuration or I/O error: nothing was checked
    3  a part the exchange needs (the database) is unavailable

The codes of the exchange's errors come from one table, :data:`exchange.errors.EXIT_CODES`
(see :mod:`exchange.cli.context`).

Prose meant for people (summaries, confirmations, table headers, errors and warnings) comes
from the ``cli`` catalogue in the language of :func:`exchange.cli.lang.reader_locale`. What
scripts read stays the same in every language: ``--format json`` and ``--json`` output, the
tab-separated lines (``schemas list --types``, ``adapters list`` and ``members``, ``parties
list``, ``payments unmatched`` and the ``refused``/``unmatched`` lines of ``payments
import``), ``key=value`` fields, status words and codes (``PASS``, ``BROKEN``, ``dead``,
``delivered``...), ids, paths and the exit codes.
"""
from __future__ import annotations

from typing import NoReturn

import typer

from exchange.errors import EXIT_INVALID, EXIT_OK, EXIT_USAGE, ExchangeError
from exchange.i18n import Text, render, t

__all__ = ["EXIT_OK", "EXIT_INVALID", "EXIT_USAGE", "echo", "error", "fail", "say", "warn"]


def say(text: Text | str) -> str:
    """*text* in the reader's language (a plain string, data, as it is)."""
    from exchange.cli.lang import reader_locale

    return render(text, reader_locale())


def echo(text: Text | str, *, err: bool = False) -> None:
    typer.echo(say(text), err=err)


def warn(message: Text | str) -> None:
    echo(t("warning: {message}", message=message), err=True)


def error(message: Text | str | ExchangeError) -> None:
    """An ``error:`` line on standard error (an error of the exchange: its message)."""
    if isinstance(message, ExchangeError):
        message = message.text or message.message
    echo(t("error: {message}", message=message), err=True)


def fail(message: Text | str | ExchangeError, code: int = EXIT_USAGE) -> NoReturn:
    """End the command with an ``error:`` line and *code*."""
    error(message)
    raise typer.Exit(code)
