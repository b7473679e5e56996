"""`exchange hub certificate`: the hub's own certificate, for the receivers of its seal.

The same PEM as ``GET /v1/hub/certificate``: the certificate whose key seals every accepted
document, then the chain the seals embed. A customs authority pins it with
``exchange trust add --hub hub.pem``.
"""
from __future__ import annotations

from typing import Annotated

import typer

from exchange.cli.context import CommandContext, reported
from exchange.cli.lang import _
from exchange.cli.output import echo
from exchange.i18n import t

__all__ = ["register"]

hub_app = typer.Typer(help=_("The exchange hub's own identity (its seal)."), no_args_is_help=True)


@hub_app.command("certificate", help=_(
    "Print the hub's certificate and its chain (PEM), as GET /v1/hub/certificate does."))
def certificate(
    output: Annotated[str, typer.Option(
        "--output", "-o", help=_("Write the PEM here (- for standard output)."))] = "-",
) -> None:
    from exchange.cli.signing import write_output
    from exchange.documents.signatures import hub_certificate, hub_sealer

    with CommandContext() as ctx, reported():
        pem = hub_certificate(hub_sealer(ctx.settings().hub))
    write_output(output, pem)
    if output != "-":
        echo(t("{path}: the hub's certificate; receivers pin it with "
               "`exchange trust add --hub {path}`", path=output), err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(hub_app, name="hub")
