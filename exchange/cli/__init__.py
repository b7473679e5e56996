"""The ``exchange`` command line. Each module in ``COMMAND_MODULES`` adds its commands
through ``register(app)``; heavy imports stay inside the command functions so that
``exchange validate`` starts fast."""
from __future__ import annotations

import importlib
from typing import Annotated, Optional

import typer

__all__ = ["app", "main"]

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

app = typer.Typer(
    name="exchange",
    help="CAREC cross-border e-logistics document exchange.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback()
def _reader_language(
    lang: Annotated[Optional[str], typer.Option(
        "--lang", help="Language of the messages: en, ru or zh (default: the locale, "
                       "LC_ALL / LC_MESSAGES / LANG).")] = None,
) -> None:
    from exchange.cli.lang import choose

    choose(lang)


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    from exchange.paths import use_private_umask

    use_private_umask()  # all the command writes is owner-only (also SQLite's, libraries')
    app()
