"""The ``exchange`` command line. Each module in ``COMMAND_MODULES`` adds its commands
through ``register(app)``; heavy imports stay inside the command functions so that
``exchange validate`` starts fast. The modules register in :func:`main`, once the reader's
language is known, because their help texts are made as they register."""
from __future__ import annotations

import importlib
import sys
from typing import Annotated, Optional

import typer

from exchange.cli.lang import _

__all__ = ["build_app", "main"]

COMMAND_MODULES = [
    "exchange.cli.demo",
    "exchange.cli.dispatch",
    "exchange.cli.deliveries",
    "exchange.cli.adapters",
    "exchange.cli.validate",
    "exchange.cli.schemas",
    "exchange.cli.rules",
    "exchange.cli.server",
    "exchange.cli.signing",
    "exchange.cli.payments",
    "exchange.cli.hub",
    "exchange.cli.subscriptions",
]


def _reader_language(
    lang: Annotated[Optional[str], typer.Option(
        "--lang", help=_("Language of the messages: en, ru or zh (default: the locale, "
                         "LC_ALL / LC_MESSAGES / LANG)."))] = None,
) -> None:
    from exchange.cli.lang import choose

    choose(lang)


def build_app() -> typer.Typer:
    """The ``exchange`` app with every command, its help in the reader's language."""
    app = typer.Typer(
        name="exchange",
        help=_("CAREC cross-border e-logistics document exchange."),
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_reader_language)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    return app


def _fold_help_lines() -> None:
    """Chinese help has no spaces to wrap at: Typer's tables would cut such a line at the
    column's edge with an ellipsis; fold it onto the next line instead."""
    from rich.markdown import Markdown
    from rich.text import Text
    from typer import rich_utils

    make = rich_utils._make_rich_text

    def folded(*, text: str, style: str = "",
               markup_mode: rich_utils.MarkupModeStrict) -> Markdown | Text:
        made = make(text=text, style=style, markup_mode=markup_mode)
        if isinstance(made, Text):
            made.overflow = "fold"
        return made

    rich_utils._make_rich_text = folded


def main() -> None:
    from exchange.cli.lang import choose, lang_in, reader_locale
    from exchange.paths import use_private_umask

    use_private_umask()  # all the command writes is owner-only (also SQLite's, libraries')
    choose(lang_in(sys.argv[1:]))
    if reader_locale() == "zh_Hans":
        _fold_help_lines()
    build_app()()
