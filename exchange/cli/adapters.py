"""`exchange adapters list|check|members` and `exchange simulate-customs`.

Heavy imports (httpx, fastapi, uvicorn, pydifact) stay inside the commands. The tab-separated
lines of ``adapters list`` and ``adapters members``, the ``PASS``/``FAIL``/``SKIP`` lines of
``adapters check`` and its ``--json`` report stay the same in every language.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from exchange.cli.lang import _
from exchange.cli.output import EXIT_INVALID, echo, fail, warn
from exchange.i18n import t

if TYPE_CHECKING:
    from adapters.testing.simulator import SimulatorConfig

__all__ = ["register"]

adapters_app = typer.Typer(help=_("Customs adapters: kinds, conformance checks, members file."),
                           no_args_is_help=True)


def _settings(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(t("--setting {pair}: expected KEY=VALUE", pair=repr(pair)))
        out[key.strip()] = value
    return out


@adapters_app.command("list", help=_(
    "Installed adapter kinds (entry-point group exchange.adapters) and their settings."))
def list_kinds() -> None:
    from adapters.errors import AdapterError
    from adapters.registry import default_registry

    registry = default_registry()
    for kind in registry.kinds:
        try:
            factory = registry.factory(kind)
        except AdapterError as exc:
            typer.echo(f"{kind}\tBROKEN: {exc}")
            continue
        typer.echo(f"{kind}\t{getattr(factory, 'description', '')}")
        for s in factory.settings_spec:
            need = "required" if s.required else f"default {s.default!r}"
            typer.echo(f"    {s.name} ({s.type}, {need}){': ' + s.help if s.help else ''}")


@adapters_app.command("check", help=_(
    "Run the conformance scenarios against an adapter kind (exit 1 if one fails)."))
def check(
    kind: Annotated[str, typer.Argument(help=_("Adapter kind, e.g. https-push."))],
    setting: Annotated[Optional[list[str]], typer.Option(
        "--setting", help=_("KEY=VALUE adapter setting (repeatable); overrides the kit's."))
    ] = None,
    country: Annotated[str, typer.Option(help=_("Receiving member country."))] = "UZ",
    as_json: Annotated[bool, typer.Option("--json", help=_("Print the report as JSON."))] = False,
) -> None:
    from adapters.testing.conformance import Outcome, check_adapter
    from adapters.errors import AdapterConfigError

    try:
        report = check_adapter(kind, country=country.upper(), settings=_settings(setting or []))
    except AdapterConfigError as exc:
        fail(f"{exc.code}: {exc}")
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        marks = {Outcome.PASSED: "PASS", Outcome.FAILED: "FAIL", Outcome.SKIPPED: "SKIP"}
        for r in report.results:
            typer.echo(f"{marks[r.outcome]}  {r.name:<24} {r.detail}")
        echo(t("{kind} ({country}) conforms", kind=kind, country=report.country)
             if report.passed else
             t("{kind} ({country}) does NOT conform", kind=kind, country=report.country))
    if not report.passed:
        raise typer.Exit(EXIT_INVALID)


@adapters_app.command("members", help=_(
    "Check a members file and list its members (exit 2 naming the line if it is bad)."))
def members(
    file: Annotated[Optional[Path], typer.Option(
        "--file", help=_("Members file (default: the shipped adapters/members.toml)."))] = None,
) -> None:
    from adapters.errors import MembersFileError
    from adapters.members import load_members

    try:
        loaded = load_members(file)
    except MembersFileError as exc:
        fail(str(exc))
    for m in loaded:
        signed = "signature required" if m.require_signature else "signature optional"
        typer.echo(f"{m.code}\t{m.name}\t{m.currency}\t{m.adapter}\t{signed}\t{m.trust_dir}")


def simulate_customs(
    country: Annotated[str, typer.Option(help=_("Member country the simulator stands in for."))],
    port: Annotated[int, typer.Option(help=_("TCP port to listen on."))] = 8701,
    host: Annotated[str, typer.Option(help=_("Address to listen on (loopback by default)."))
                    ] = "127.0.0.1",
    follow_up: Annotated[str, typer.Option(
        "--follow-up", help=_("Decisions after the acknowledgement, comma-separated: "
        "assessment, query, rejection, acceptance, release (or 'none')."))] = "assessment",
    delay: Annotated[float, typer.Option(help=_("Seconds before follow-up decisions."))] = 0.0,
    push_answer: Annotated[str, typer.Option(
        "--push-answer", help=_("acknowledge | reject (422 at push time)."))] = "acknowledge",
    misbehave: Annotated[str, typer.Option(
        help=_("none | timeout | 500 | drop-connection | slow | answer-twice."))] = "none",
    misbehave_times: Annotated[int, typer.Option(
        "--misbehave-times", help=_("Misbehave for the first N pushes only (0: always)."))] = 0,
    slow_seconds: Annotated[float, typer.Option(
        "--slow-seconds", help=_("How late 'slow' answers."))] = 1.0,
    hang_seconds: Annotated[float, typer.Option(
        "--hang-seconds", help=_("How long 'timeout' holds the request before answering."))
    ] = 30.0,
    callback_url: Annotated[Optional[str], typer.Option(
        "--callback-url", help=_("Also POST decisions (CustomsDecisions XML) to this URL."))
    ] = None,
    currency: Annotated[Optional[str], typer.Option(
        help=_("Currency of assessments (default: the member's, from the members file)."))
    ] = None,
    trust_dir: Annotated[Optional[Path], typer.Option(
        "--trust-dir", help=_("Trust folder (<CC>/*.pem) the hub's envelope signatures must "
        "chain to; without it signatures are not checked."))] = None,
    require_signature: Annotated[bool, typer.Option(
        "--require-signature", help=_("Refuse unsigned envelopes (needs --trust-dir)."))
    ] = False,
    tls_cert: Annotated[Optional[Path], typer.Option(
        "--tls-cert", help=_("Serve HTTPS with this certificate (PEM)."))] = None,
    tls_key: Annotated[Optional[Path], typer.Option("--tls-key", help=_("Its key (PEM)."))
                       ] = None,
    client_ca: Annotated[Optional[Path], typer.Option(
        "--client-ca", help=_("Require client certificates issued by this CA (mutual TLS)."))
    ] = None,
    sign_key: Annotated[Optional[Path], typer.Option(
        "--sign-key", help=_("Sign follow-up decisions with this customs key (PEM)."))] = None,
    sign_cert: Annotated[Optional[Path], typer.Option(
        "--sign-cert", help=_("Certificate of --sign-key (PEM)."))] = None,
    edifact_outbox: Annotated[Optional[Path], typer.Option(
        "--edifact-outbox", help=_("File channel instead of HTTP: the folder the hub writes "
        "CUSDEC to (the edifact-file adapter's outbox_dir)."))] = None,
    edifact_inbox: Annotated[Optional[Path], typer.Option(
        "--edifact-inbox", help=_("The folder CUSRES answers are written to (the adapter's "
        "inbox_dir)."))] = None,
) -> None:
    from adapters.members import CAREC_MEMBERS, load_members
    from adapters.testing.simulator import (
        FollowUp,
        Misbehaviour,
        SimulatorConfig,
        TlsFiles,
        serve,
    )

    code = country.upper()
    if code not in CAREC_MEMBERS:
        fail(t("--country {country} is not a CAREC member ({members})",
               country=repr(country), members=", ".join(CAREC_MEMBERS)))
    if host not in ("127.0.0.1", "localhost", "::1"):
        warn(t("listening on {host}, not only on loopback", host=host))
    try:
        config = SimulatorConfig(
            country=code, currency=currency or load_members()[code].currency,
            push_answer=push_answer, misbehaviour=Misbehaviour(misbehave),
            follow_up=tuple(FollowUp(f) for f in follow_up.split(",") if f and f != "none"),
            decision_delay_seconds=delay,
            misbehave_times=misbehave_times, slow_seconds=slow_seconds,
            hang_seconds=hang_seconds,
            callback_url=callback_url)
    except ValueError as exc:
        fail(str(exc))
    if edifact_outbox or edifact_inbox:
        _serve_files(config, edifact_outbox, edifact_inbox)
        return
    verifier = None
    if require_signature and trust_dir is None:
        fail(t("--require-signature needs --trust-dir"))
    if trust_dir is not None:
        if not trust_dir.is_dir():
            fail(t("--trust-dir {path}: not a folder", path=trust_dir))
        from adapters.envelope_signing import EnvelopeSignatureCheck

        verifier = EnvelopeSignatureCheck(trust_dir, required=require_signature)
    tls = None
    if tls_cert or tls_key or client_ca:
        if not (tls_cert and tls_key):
            fail(t("{option} and {other} go together", option="--tls-cert",
                   other="--tls-key"))
        for option, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key),
                             ("--client-ca", client_ca)):
            if path is not None and not path.is_file():
                fail(t("{option} {path}: no such file", option=option, path=path))
        tls = TlsFiles(tls_cert, tls_key, client_ca)
    decision_signer = None
    if sign_key or sign_cert:
        if not (sign_key and sign_cert):
            fail(t("{option} and {other} go together", option="--sign-key",
                   other="--sign-cert"))
        from adapters.envelope_signing import HubEnvelopeSigner
        from signing import SigningError

        try:
            decision_signer = HubEnvelopeSigner.from_files(sign_key, sign_cert)
        except SigningError as exc:
            fail(f"{exc.code}: {exc.message}")
    scheme = "https" if tls else "http"
    url = f"{scheme}://{host}:{port}/v1/deliveries"
    echo(t("customs simulator for {country} on {url}", country=code, url=url), err=True)
    serve(config, host=host, port=port, verifier=verifier, tls=tls,
          decision_signer=decision_signer)


def _serve_files(config: SimulatorConfig, outbox: Path | None, inbox: Path | None) -> None:
    import signal
    import threading

    from adapters.testing.edifact_simulator import EdifactCustomsSimulator

    if outbox is None or inbox is None:
        fail(t("{option} and {other} go together", option="--edifact-outbox",
               other="--edifact-inbox"))
    sim = EdifactCustomsSimulator(outbox, inbox, country=config.country,
                                  currency=config.currency,
                                  follow_up=[str(f) for f in config.follow_up])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    echo(t("customs simulator for {country}: CUSDEC from {outbox}, CUSRES to {inbox}",
           country=config.country, outbox=outbox, inbox=inbox), err=True)
    try:
        sim.serve(stop, poll_seconds=0.5)
    except KeyboardInterrupt:
        pass
    echo(t("answered {answered}, duplicates {duplicates}, failed {failed}",
           answered=sim.answered, duplicates=sim.duplicates, failed=sim.failed), err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(adapters_app, name="adapters")
    app.command("simulate-customs", help=_(
        "Run a national customs simulator over HTTP (POST /v1/deliveries, GET /v1/decisions), "
        "or on the EDIFACT file channel with --edifact-outbox/--edifact-inbox."))(simulate_customs)
