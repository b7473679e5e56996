"""`exchange rules list|install|check`: business-rule packs, their store, and a pack's
findings on documents (for rule authors and rule-set test suites)."""
from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated, Any, Optional

import typer

from exchange.cli.lang import _
from exchange.cli.output import EXIT_INVALID, EXIT_OK, EXIT_USAGE, echo, fail, say
from exchange.i18n import t

__all__ = ["register"]

rules_app = typer.Typer(help=_("List, install and run business-rule packs."), no_args_is_help=True)


class Format(StrEnum):
    text = "text"
    json = "json"


@rules_app.command("list", help=_(
    "Show the rule packs of the catalog: version, state, what each applies to."))
def list_packs() -> None:
    from rich.console import Console
    from rich.table import Table

    from exchange.validation.rulepacks import RuleStore

    store = RuleStore()
    table = Table(title=say(t("Rule packs (store: {root})", root=store.root)))
    for col in (t("pack"), t("version"), t("state"), t("rule sets: document types (profiles)"),
                t("title")):
        table.add_column(say(col))
    any_profile = say(t("any profile"))
    for spec, installed in store.packs():
        state = (t("built in") if spec.builtin else t("installed") if installed
                 else t("not installed"))
        sets = "; ".join(
            f"{r.name}: {', '.join(root for _, root in r.document_types)}"
            f" ({', '.join(r.profiles) or any_profile})" for r in spec.rule_sets)
        table.add_row(spec.name, spec.version, say(state), sets, spec.title)
    Console(width=None if sys.stdout.isatty() else 200).print(table)


@rules_app.command("install", help=_(
    "Install a rule pack into the rule store, checking every file's pinned SHA-256."))
def install(
    name: Annotated[str, typer.Argument(help=_("Pack name, e.g. en16931."))],
    source: Annotated[Optional[str], typer.Option(
        "--from", help=_("Folder, .zip file or http(s) URL; default: the official download."))
    ] = None,
) -> None:
    from exchange.errors import ExchangeError
    from exchange.validation.rulepacks import RuleStore

    try:
        result = RuleStore().install(name, source)
    except ExchangeError as exc:
        fail(exc)
    echo(t("installed {pack} {version} ({title}): {files} files checked, in {path}",
           pack=result.pack.name, version=result.pack.version, title=result.pack.title,
           files=result.files, path=result.path))


@rules_app.command("check", help=_(
    "Run rule packs on documents whether or not they are schema-valid.\n\nExit code 0 when no "
    "error fired, 1 when one did (or a rule processor failed), 2 for usage or I/O errors and "
    "documents no pack covers."))
def check(
    files: Annotated[list[str], typer.Argument(help=_("XML documents (or fragments), or - for "
                                                      "standard input."), show_default=False)],
    packs: Annotated[Optional[list[str]], typer.Option(
        "--pack", "-p", help=_("Run this pack (repeatable); default: every installed pack "
                               "with rules for the document's type."))] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help=_("Output format."))] = Format.text,
    lang: Annotated[Optional[str], typer.Option(
        "--lang", help=_("Language of the messages where a rule has several (en, ru; default: "
                         "the locale, LC_ALL / LC_MESSAGES / LANG)."))] = None,
) -> None:
    from exchange.cli.lang import choose, reader_locale
    from exchange.errors import ExchangeError
    from exchange.validation.rulecheck import check_rules, render_check_text
    from exchange.validation.rulepacks import RuleStore
    from exchange.validation.rules import RuleEngine

    if lang:
        choose(lang)
    engine = RuleEngine(RuleStore(), lang="ru" if reader_locale() == "ru" else "en")
    results: list[dict[str, Any]] = []
    for name in files:
        try:
            data = sys.stdin.buffer.read() if name == "-" else open(name, "rb").read()
        except OSError as exc:
            fail(t("{path}: cannot be read ({reason})", path=name, reason=exc.strerror))
        try:
            results.append(check_rules(data, engine=engine, packs=packs or (), source=name))
        except ExchangeError as exc:
            fail(exc)
    if fmt is Format.json:
        sys.stdout.write(json.dumps({"tool": "exchange rules check", "documents": results},
                                    ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_check_text(results, reader_locale()))
    if any(r["decision"] == "not-checked" for r in results):
        raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(EXIT_INVALID if any(r["decision"] == "reject" for r in results)
                     else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
