"""`exchange schemas list|install`: the catalog of standard packs and the local store."""
from __future__ import annotations

from typing import Annotated, Optional

import sys

import typer

from exchange.cli.lang import _
from exchange.cli.output import echo, fail, say
from exchange.i18n import t

__all__ = ["register"]

schemas_app = typer.Typer(help=_("List and install standard schema packs."), no_args_is_help=True)


@schemas_app.command("list", help=_(
    "Show the packs of the catalog, their versions, install state and document types."))
def list_packs(
    types: Annotated[bool, typer.Option("--types", help=_("List every document type."))] = False,
) -> None:
    from rich.console import Console
    from rich.table import Table

    from exchange.validation.packs import SchemaStore

    store = SchemaStore()
    if types:  # one line per document type, easy to grep
        for spec, installed in store.packs():
            state = "installed" if installed else "not-installed"
            for d in spec.document_types:
                typer.echo(f"{spec.name}\t{state}\t{d.root}\t{d.namespace}")
        return
    table = Table(title=say(t("Schema packs (store: {root})", root=store.root)))
    for col in (t("pack"), t("standard"), t("version"), t("state"), t("document types")):
        table.add_column(say(col))
    for spec, installed in store.packs():
        roots = [d.root for d in spec.document_types]
        table.add_row(spec.name, spec.standard, spec.version,
                      say(t("installed") if installed else t("not installed")),
                      say(t("{count} ({roots}, ...; --types lists all)", count=len(roots),
                            roots=", ".join(roots[:3]))))
    Console(width=None if sys.stdout.isatty() else 160).print(table)


@schemas_app.command("install", help=_(
    "Install a pack into the schema store, checking every file's pinned SHA-256."))
def install(
    name: Annotated[str, typer.Argument(help=_("Pack name, e.g. ubl-2.4."))],
    source: Annotated[Optional[str], typer.Option(
        "--from", help=_("Folder, .zip file or http(s) URL; default: the official download."))
    ] = None,
) -> None:
    from exchange.errors import ExchangeError
    from exchange.validation.packs import SchemaStore

    store = SchemaStore()
    try:
        result = store.install(name, source)
    except ExchangeError as exc:
        fail(exc)
    echo(t("installed {pack} ({standard} {version}): {files} files checked, in {path}",
           pack=result.pack.name, standard=result.pack.standard, version=result.pack.version,
           files=result.files, path=result.path))


def register(app: typer.Typer) -> None:
    app.add_typer(schemas_app, name="schemas")
