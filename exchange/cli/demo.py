"""`exchange demo`: a whole corridor on this machine, with demo data, until Ctrl-C."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from exchange.cli.lang import _
from exchange.cli.output import echo, fail
from exchange.i18n import t

__all__ = ["register"]


def demo(
    standards: Annotated[Optional[Path], typer.Option(
        help=_("Local copy of the UBL 2.4 package (folder or zip); default: the official "
               "download."))] = None,
    port: Annotated[int, typer.Option(help=_("Port of the exchange (another free port is "
                                             "taken if it is busy)."))] = 8080,
    smoke: Annotated[bool, typer.Option(
        "--smoke", help=_("Exit once the demo shipment's deliveries have settled (for CI)."))
    ] = False,
) -> None:
    import logging
    import shlex
    import signal
    import time

    from exchange.cli.lang import reader_locale
    from exchange.i18n import message_of
    from exchange.showcase import Demo, DemoOptions
    from exchange.errors import ExchangeError
    from exchange.paths import exchange_home

    logging.getLogger("httpx").setLevel(logging.WARNING)
    run = Demo(DemoOptions(home=exchange_home(), standards=standards, port=port,
                           say=echo))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: run._stop.set())
    try:
        run.start()
        body = run.submit_shipment()
        second = run.submit_mismatch()
        typer.echo("")
        echo(t("demo shipment {id} KZ -> UZ -> AF submitted with {documents} signed "
               "documents; its dossier is {status}", id=body["id"],
               documents=len(body.get("documents", [])), status=body["dossier"]["status"]))
        echo(t("second demo shipment {id} KZ -> UZ -> AF: its dossier shows one real "
               "problem:", id=second["id"]))
        for finding in second["dossier"]["findings"]:
            echo(f"  {finding['severity']}: {message_of(finding, reader_locale())}")
        typer.echo("")
        echo(t("To use the exchange command on the demo's data, in another terminal:"))
        for name, value in run.environment().items():
            typer.echo(f"  export {name}={shlex.quote(value)}")
        typer.echo("")
        echo(t("Dashboard:  {url}", url=run.base_url + "/ui/"))
        echo(t("API docs:   {url}", url=run.base_url + "/docs"))
        echo(t("Demo API keys (sign in to the dashboard with one of them):"))
        for kind, country, name, token in run.keys:
            typer.echo(f"  {kind:<17} {country or '--':<3} {name:<46} {token}")
        typer.echo("")
        if smoke:
            deadline = time.monotonic() + 120
            while not run.deliveries_settled():
                if time.monotonic() > deadline:
                    fail(t("the demo shipment's deliveries did not settle within {seconds} s",
                           seconds=120), code=1)
                time.sleep(0.5)
            echo(t("demo deliveries settled; stopping (--smoke)"))
            return
        echo(t("Press Ctrl-C to stop the demo."))
        run.wait()
    except ExchangeError as exc:
        fail(exc)
    except RuntimeError as exc:
        fail(str(exc))
    finally:
        run.stop()
        echo(t("demo stopped"))


def register(app: typer.Typer) -> None:
    app.command("demo", help=_(
        "Start a demo exchange: schema pack, demo CAs, members, parties, the exchange with "
        "its dispatcher and customs simulators, and a demo shipment KZ -> UZ -> AF. Ctrl-C "
        "stops it."))(demo)
