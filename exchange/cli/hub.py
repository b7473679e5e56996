"""`exchange hub certificate`: the hub's own certificate, for the receivers of its seal.
`exchange hub new-identity`: move the database to another hub identity, on purpose.

The same PEM as ``GET /v1/hub/certificate``: the certificate whose key seals every accepted
document, then the chain the seals embed. A customs authority pins it with
``exchange trust add --hub hub.pem``.

The database records which hub identity seals it (the SHA-256 of the hub certificate); the
exchange refuses to start with the key files missing or of another identity
(:func:`exchange.documents.signatures.hub_sealer`). ``new-identity`` records the identity of
the configured files instead (made first, self-signed, when the default files are both
missing), after which the receivers must pin the new certificate.
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
        pem = hub_certificate(hub_sealer(ctx.settings().hub, store=ctx.store()))
    write_output(output, pem)
    if output != "-":
        echo(t("{path}: the hub's certificate; receivers pin it with "
               "`exchange trust add --hub {path}`", path=output), err=True)


@hub_app.command("new-identity", help=_(
    "Make the key and certificate of EXCHANGE_HUB_KEY_FILE / EXCHANGE_HUB_CERT_FILE the hub's "
    "identity for this database, on purpose (with the default files both missing, a new "
    "self-signed identity is made there first). Every receiver must then pin the new "
    "certificate."))
def new_identity() -> None:
    from exchange.documents.signatures import new_hub_identity

    with CommandContext() as ctx, reported():
        done = new_hub_identity(ctx.settings().hub, store=ctx.store())
    if done.made:
        echo(t("made a new self-signed hub key and certificate: {key}, {cert} (keep them with "
               "the database's backups)", key=str(done.key_file), cert=str(done.cert_file)))
    echo(t("the hub identity of this database is now the certificate with SHA-256 "
           "{fingerprint} ({subject})", fingerprint=done.fingerprint, subject=done.subject))
    if done.previous is not None:
        echo(t("it replaces the certificate with SHA-256 {previous}: documents sealed before "
               "keep the old seal", previous=done.previous))
    echo(t("give every receiver the new certificate: `exchange hub certificate -o hub.pem`, "
           "then `exchange trust add --hub hub.pem` on their side"))


def register(app: typer.Typer) -> None:
    app.add_typer(hub_app, name="hub")
