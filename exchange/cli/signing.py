"""`exchange sign`, `exchange verify` and `exchange trust list|add`.

``verify --format json`` stays the same in every language (the library's words, its codes);
the text output says each signature's verdict and why a document cannot be parsed in the
reader's language (:mod:`exchange.verdicts`), behind the same stable ``[code]``.
Exit codes: 0 signed / every signature valid and trusted; 1 a document or signature is
invalid (or unsafe to parse); 2 usage, key, trust-list or I/O problem (nothing was signed).
Passphrases come from an environment variable or a file, never from the command line.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, cast

import typer

from exchange.cli.lang import _
from exchange.cli.output import EXIT_INVALID, EXIT_OK, echo, fail, say, warn
from exchange.i18n import Text, gettext, render, t

if TYPE_CHECKING:
    from lxml import etree

    from exchange.validation import ValidationReport, Validator
    from exchange.validation.batch import Input
    from exchange.validation.packs import SchemaStore
    from exchange.validation.rules import RuleSelection
    from signing.report import VerificationReport
    from signing.trust import TrustStore

__all__ = ["ProfileChoice", "default_trust_dir", "register", "verify_for_validate",
           "write_output"]

trust_app = typer.Typer(help=_("Trust lists (CA certificates and CRLs) per member country."),
                        no_args_is_help=True)


class Format(StrEnum):
    text = "text"
    json = "json"


class ProfileChoice(StrEnum):
    """``--profile`` (the values of :class:`signing.policy.Profile`)."""

    xades_bes = "xades-bes"
    xmldsig = "xmldsig"


def default_trust_dir() -> Path:
    from exchange.paths import exchange_home

    return exchange_home() / "trust"


def _read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        fail(t("{path}: cannot be read ({reason})", path=path, reason=exc.strerror))


def _parse(data: bytes, source: str) -> etree._ElementTree:
    from signing.safexml import XmlError, parse_xml

    try:
        return parse_xml(data)
    except XmlError as exc:
        from exchange.verdicts import xml_refusal

        where = f":{exc.line}:{exc.column}" if exc.line else ""
        fail(f"{source}{where}: [{exc.code}] {say(xml_refusal(exc))}", EXIT_INVALID)


def write_output(path: str, data: bytes) -> None:
    if path == "-":
        sys.stdout.buffer.write(data)
        return
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except OSError as exc:
        fail(t("{path}: cannot be written ({reason})", path=path, reason=exc.strerror))


def sign(
    source: Annotated[str, typer.Argument(help=_("XML document to sign, or - for standard input."),
                                          show_default=False)],
    output: Annotated[str, typer.Option("--output", "-o", help=_("Signed document (- for stdout)."),
                                        show_default=False)],
    key: Annotated[Optional[Path], typer.Option("--key", help=_("PEM private key."))] = None,
    cert: Annotated[Optional[Path], typer.Option(
        "--cert", help=_("PEM certificate (intermediates may follow)."))] = None,
    pkcs12: Annotated[Optional[Path], typer.Option(
        "--pkcs12", help=_("PKCS#12 file with key and certificate (instead of --key/--cert)."))
    ] = None,
    passphrase_env: Annotated[Optional[str], typer.Option(
        "--passphrase-env", metavar="VAR", help=_("Environment variable holding the passphrase."))
    ] = None,
    passphrase_file: Annotated[Optional[Path], typer.Option(
        "--passphrase-file", help=_("File whose first line is the passphrase."))] = None,
    digest: Annotated[str, typer.Option(
        "--digest", help=_("sha256, sha384 or sha512."))] = "sha256",
) -> None:
    from lxml import etree

    from signing import Signer, SigningError, load_identity, read_passphrase
    from signing.placement import is_ubl

    if pkcs12 is None and (key is None or cert is None):
        fail(t("give --key and --cert, or --pkcs12"))
    if pkcs12 is not None and (key is not None or cert is not None):
        fail(t("give either --pkcs12 or --key/--cert, not both"))
    try:
        passphrase = read_passphrase(env=passphrase_env, file=passphrase_file)
        identity = load_identity(key, cert, pkcs12_file=pkcs12, passphrase=passphrase)
        signer = Signer(identity, digest=digest)
    except SigningError as exc:
        fail(f"[{exc.code}] {exc.message}")
    data = _read_input(source)
    tree = _parse(data, source)
    validator = schema = None
    if is_ubl(tree.getroot()):
        validator, schema = _schema_for(tree, source)
        # The document as given is checked first: its findings point at its own lines.
        _fail_if_invalid(validator.validate_tree(tree, source, data=data), source,
                         t("{source} is not valid; nothing was signed", source=source))
    try:
        signed = signer.sign(tree, schema=schema)
    except SigningError as exc:
        fail(f"{source}: [{exc.code}] {exc.message}")
    out = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    if validator is not None:  # the signature itself must leave the document valid
        _fail_if_invalid(validator.validate(out, source="<signed document>"), source,
                         t("{source} is valid, but the signed document would not be (a "
                           "fault of the signing step, not of the document); nothing written",
                           source=source))
    write_output(output, out)
    if output != "-":
        echo(t("{path}: signed by {subject}", path=output,
               subject=identity.certificate.subject.rfc4514_string()), err=True)


def _fail_if_invalid(report: ValidationReport, source: str, summary: Text) -> None:
    from exchange.cli.lang import reader_locale
    from exchange.validation.formats import finding_lines

    if report.accepted:
        return
    locale = reader_locale()
    result = report.to_dict(locale)
    for layer in result["layers"]:  # errors only: warnings do not stop the signing
        layer["findings"] = [f for f in layer["findings"] if f["severity"] == "error"]
    for line in finding_lines(result, locale=locale):
        typer.echo(line, err=True)
    fail(summary, EXIT_INVALID)


def _schema_for(tree: etree._ElementTree, source: str) -> tuple[Validator, Path]:
    from lxml import etree

    from exchange.errors import ExchangeError
    from exchange.validation.packs import SchemaStore
    from exchange.validation import Validator

    ns = etree.QName(tree.getroot()).namespace
    if ns is None:  # not for UBL documents (the only ones signed with a schema)
        fail(t("{source}: the document element has no namespace, so no schema pack "
               "defines it", source=source))
    validator = Validator(SchemaStore())
    try:
        return validator, validator.schema_path(ns)
    except KeyError:
        fail(t("{source}: no installed schema pack defines {namespace}; "
               "install it with `exchange schemas install`", source=source, namespace=ns))
    except ExchangeError as exc:
        fail(f"{source}: {say(exc.text or exc.message)}")


def _trust_store(trust: Optional[Path]) -> TrustStore:
    from signing import TrustStore

    root = trust or default_trust_dir()
    if trust is not None and not trust.is_dir():
        fail(t("{path}: trust folder not found", path=trust))
    return TrustStore(root)


def verify_tree(tree: etree._ElementTree, *, trust: TrustStore, country: str | None,
                profile: str = "xades-bes") -> VerificationReport:
    from signing import SigningError, VerificationPolicy, verify_document
    from signing.policy import Profile

    try:
        report = verify_document(tree, trust=trust, country=country,
                                 policy=VerificationPolicy(profile=Profile(profile)))
    except SigningError as exc:
        fail(f"[{exc.code}] {exc.message}")
    _warn_skipped(trust)
    return report


def _day(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d}" if moment else "-"


_warned: set[str] = set()


def _warn_skipped(trust: TrustStore) -> None:
    """Name (once) each trust-folder file that was skipped, on standard error."""
    for warning in trust.warnings():
        if warning not in _warned:
            _warned.add(warning)
            warn(t("trust list: {warning}", warning=warning))


def verify(
    source: Annotated[str, typer.Argument(help=_("Signed XML document, or - for standard input."),
                                          show_default=False)],
    trust: Annotated[Optional[Path], typer.Option(
        "--trust", help=_("Trust folder (default: $EXCHANGE_HOME/trust)."))] = None,
    country: Annotated[Optional[str], typer.Option(
        "--country", help=_("Signers must chain to this member country's trust list."))] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help=_("Output format."))] = Format.text,
    profile: Annotated[ProfileChoice, typer.Option(
        "--profile", help=_("xades-bes: XAdES-BES signed properties required; xmldsig: a plain "
                            "enveloped XML-DSig signature is enough."))] = ProfileChoice.xades_bes,
) -> None:
    from signing import TrustStoreError
    from signing.trust import check_country

    if country:
        try:
            check_country(country)
        except TrustStoreError as exc:
            fail(exc.message)
    store = _trust_store(trust)
    data = _read_input(source)
    from signing.safexml import XmlError, parse_xml

    try:
        tree = parse_xml(data)
    except XmlError as exc:
        if fmt is Format.json:
            typer.echo(json.dumps({"source": source, "all_valid": False, "error": {
                "code": exc.code, "message": exc.message, "line": exc.line,
                "column": exc.column}}))
        else:
            from exchange.verdicts import xml_refusal

            where = f":{exc.line}:{exc.column}" if exc.line else ""
            typer.echo(f"{source}{where}: REFUSED [{exc.code}] {say(xml_refusal(exc))}")
        raise typer.Exit(EXIT_INVALID) from None
    report = verify_tree(tree, trust=store, country=country, profile=profile.value)
    if fmt is Format.json:
        typer.echo(json.dumps({"source": source, **report.to_dict()}, ensure_ascii=False))
    else:
        echo(t("{source}: all signatures valid", source=source) if report.all_valid else
             t("{source}: NOT VALID", source=source))
        from exchange.verdicts import signature_lines

        for line in signature_lines(report.to_dict()):
            echo("  " + say(line))
    raise typer.Exit(EXIT_OK if report.all_valid else EXIT_INVALID)


@trust_app.command("list", help=_(
    "Show each country's trust anchors (subject, expiry, SHA-256) and CRLs, the hub's pinned "
    "certificate, and every file that was skipped (and why)."))
def trust_list(
    trust: Annotated[Optional[Path], typer.Option(
        "--trust", help=_("Trust folder (default: $EXCHANGE_HOME/trust)."))] = None,
) -> None:
    from signing import TrustStoreError
    from signing.trust import fingerprint

    store = _trust_store(trust)
    try:
        countries = store.countries()
        for a in store.hub_certificates():
            echo(t("hub (pinned): {subject}  valid to {date}  sha256 {fingerprint}  ({file})",
                   subject=a.subject, date=a.certificate.not_valid_after_utc.date(),
                   fingerprint=fingerprint(a.certificate), file=a.path.name))
        if not countries:
            echo(t("no trust lists in {path}; add one with "
                   "`exchange trust add --country CC CA.pem`", path=store.root))
            _warn_skipped(store)
            return
        for cc in countries:
            anchors, crls = store.anchors(cc), store.crls(cc)
            echo(t("{country}: {anchors} CA certificate(s), {crls} CRL(s)", country=cc,
                   anchors=len(anchors), crls=len(crls)))
            for a in anchors:
                echo("  " + say(t("{subject}  valid to {date}  sha256 {fingerprint}  ({file})",
                                  subject=a.subject,
                                  date=a.certificate.not_valid_after_utc.date(),
                                  fingerprint=fingerprint(a.certificate), file=a.path.name)))
            for c in crls:
                echo("  " + say(t("CRL {issuer}  next update {date}  {count} revoked",
                                  issuer=c.issuer.rfc4514_string(),
                                  date=_day(c.next_update_utc), count=len(list(c)))))
        _warn_skipped(store)
    except TrustStoreError as exc:
        fail(f"[{exc.code}] {exc.message}")


@trust_app.command("add", help=_(
    "Add a CA certificate (or a CRL) to a member country's trust list, or pin the hub's "
    "certificate (--hub)."))
def trust_add(
    source: Annotated[Path, typer.Argument(help=_("CA certificate or CRL (PEM or DER)."),
                                           show_default=False)],
    country: Annotated[Optional[str], typer.Option(
        "--country", help=_("ISO country code, e.g. KZ."), show_default=False)] = None,
    hub: Annotated[bool, typer.Option(
        "--hub", help=_("Pin the exchange hub's certificate (from `exchange hub certificate` "
                        "or GET /v1/hub/certificate), so its seal verifies."))] = False,
    trust: Annotated[Optional[Path], typer.Option(
        "--trust", help=_("Trust folder (default: $EXCHANGE_HOME/trust)."))] = None,
) -> None:
    from signing import TrustStore, TrustStoreError

    if hub == (country is not None):
        fail(t("give --country CC (a CA certificate or CRL) or --hub (the hub's certificate)"))
    store = TrustStore(trust or default_trust_dir())
    try:
        target = store.add_hub(source) if hub else store.add(cast(str, country), source)
    except TrustStoreError as exc:
        fail(f"[{exc.code}] {exc.message}")
    echo(t("added {source} as the hub's pinned certificate as {target}", source=source,
           target=target) if hub else
         t("added {source} to the {country} trust list as {target}", source=source,
           country=country, target=target))


def verify_for_validate(trust: Optional[str], country: Optional[str], profile: str = "xades-bes",
                        rules: RuleSelection | None = None, lang: str = "en",
                        locale: str | None = None
                        ) -> Callable[[Input, SchemaStore], dict[str, Any]]:
    """For `exchange validate --verify`: a function (input, schema store) -> result dict,
    the validation report's dict (with the rules layer of *rules*, unless None or off) plus
    ``signatures`` (``ok``, ``summary_lines`` and the verification report)."""
    from signing import TrustStoreError
    from signing.trust import check_country

    from exchange.validation import Validator

    if country:
        try:
            check_country(country)
        except TrustStoreError as exc:
            fail(exc.message)
    store = _trust_store(Path(trust) if trust else None)
    validators: dict[int, Validator] = {}  # by id() of the schema store

    def run(item: Input, schema_store: SchemaStore) -> dict[str, Any]:
        validator = validators.get(id(schema_store))
        if validator is None:
            engine = None
            if rules is not None and not rules.off:
                from exchange.validation.rulepacks import RuleStore
                from exchange.validation.rules import RuleEngine

                engine = RuleEngine(RuleStore(), default=rules, lang=lang)
            validator = validators[id(schema_store)] = Validator(schema_store, rules=engine)
        try:
            # an Input holds its bytes or, when it has none, a path
            data = item.data if item.data is not None else cast("Path", item.path).read_bytes()
        except OSError as exc:
            return {"source": item.name, "io_error": f"{item.name}: cannot be read "
                    f"({exc.strerror})"}
        report = validator.validate(data, item.name)
        result = report.to_dict(locale)
        if report.tree is None:
            result["signatures"] = {"ok": False, "all_valid": False, "signatures": [],
                                    "summary_lines": [gettext(
                                        locale or "en", "signatures not checked: the "
                                        "document could not be parsed")]}
            return result
        from exchange.verdicts import signature_lines

        verification = verify_tree(report.tree, trust=store, country=country,
                                   profile=profile).to_dict()
        result["signatures"] = {"ok": verification["all_valid"],
                                "summary_lines": [render(line, locale) for line in
                                                  signature_lines(verification)],
                                **verification}
        return result

    return run


def register(app: typer.Typer) -> None:
    app.command("sign", help=_(
        "Add an enveloped XAdES-BES signature. UBL documents get it in their UBL extension "
        "with a matching cac:Signature, and are validated again after signing."))(sign)
    app.command("verify", help=_(
        "Verify every signature of a document: integrity, algorithms, XAdES properties, chain "
        "to the trust list (or the hub's pinned certificate), validity and revocation. Exit 0 "
        "when all are valid; the report names the profile each signature meets."))(verify)
    app.add_typer(trust_app, name="trust")
