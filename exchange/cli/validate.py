"""`exchange validate PATH...`: validate documents from files, folders and standard input."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from exchange.cli.lang import _
from exchange.cli.output import EXIT_INVALID, EXIT_OK, EXIT_USAGE, error, fail, say
from exchange.cli.signing import ProfileChoice
from exchange.i18n import t

if TYPE_CHECKING:
    from typing import Protocol, TypeVar

    from exchange.validation.batch import Input
    from exchange.validation.packs import SchemaStore
    from exchange.validation.rules import RuleSelection

    _R = TypeVar("_R")
    _R_co = TypeVar("_R_co", covariant=True)

    class _ValidateInputs(Protocol[_R_co]):
        """:func:`~exchange.validation.batch.validate_inputs` or its ``_json`` twin."""

        def __call__(self, inputs: list[Input], *, store: SchemaStore, jobs: int = ...,
                     progress: Callable[[int], None] | None = ...,
                    rules: RuleSelection | None = ..., lang: str = ...,
                    locale: str | None = ...) -> Iterator[_R_co]: ...


__all__ = ["register"]

PROGRESS_THRESHOLD = 20


class Format(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"


def validate(
    paths: Annotated[list[str], typer.Argument(
        help=_("Files, folders (searched recursively for *.xml) or - for standard input."),
        show_default=False)],
    fmt: Annotated[Format, typer.Option("--format", "-f", help=_("Output format."))] = Format.text,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, max=64,
                                      help=_("Validate in N parallel processes."))] = 1,
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", help=_("Write the report to this file instead of standard output."))
    ] = None,
    verify: Annotated[bool, typer.Option(
        "--verify", help=_("Also verify the documents' XML signatures."))] = False,
    trust: Annotated[Optional[str], typer.Option(
        "--trust", help=_("Trust-list folder for --verify (default: the store's)."))] = None,
    country: Annotated[Optional[str], typer.Option(
        "--country", help=_("With --verify: signers must chain to this member country."))] = None,
    profile: Annotated[ProfileChoice, typer.Option(
        "--profile", help=_("With --verify: xades-bes (XAdES-BES required) or xmldsig (plain "
                            "XML-DSig accepted)."))] = ProfileChoice.xades_bes,
    rules: Annotated[Optional[list[str]], typer.Option(
        "--rules", help=_("Business rules: auto (the installed packs that apply to each "
                          "document's type and profile), none, or pack names (repeatable)."))
    ] = None,
    lang: Annotated[Optional[str], typer.Option(
        "--lang", help=_("Language of the findings: en, ru or zh (default: the locale, "
        "LC_ALL / LC_MESSAGES / LANG); rule messages where a rule has it."))] = None,
) -> None:
    from exchange.cli.lang import choose, reader_locale
    from exchange.validation.batch import collect_inputs, validate_inputs, validate_inputs_json
    from exchange.validation.formats import (
        render_json,
        render_json_texts,
        render_junit,
        render_text,
    )
    from exchange.validation.packs import SchemaStore

    if lang:
        choose(lang)  # the findings and every other line
    locale = reader_locale()
    inputs, problems = collect_inputs(paths, stdin=lambda: sys.stdin.buffer.read())
    for problem in problems:
        error(problem)
    if not inputs:
        raise typer.Exit(EXIT_USAGE)
    store = SchemaStore()
    selection = _rule_selection(rules or ["auto"])
    rule_lang = "ru" if locale == "ru" else "en"  # the languages rule packs carry
    verifier = _verifier(trust, country, profile.value, selection, rule_lang, locale) \
        if verify else None
    if verifier is not None and jobs > 1:
        jobs = 1  # signature checks need the trees; keep them in one process

    if verifier is not None:
        results = [verifier(item, store) for item in inputs]
        text = render_text(results, locale) if fmt is Format.text else \
            (render_json if fmt is Format.json else render_junit)(results)
    elif fmt is Format.json:
        # Each document's JSON is made where it was validated (in the worker with
        # --jobs); what the summary and the exit code need comes along as a brief.
        pairs = _run(inputs, store, jobs, validate_inputs_json, selection, rule_lang, locale)
        results = [brief for brief, _ in pairs]
        text = render_json_texts(results, [json_text for _, json_text in pairs])
    else:
        results = _run(inputs, store, jobs, validate_inputs, selection, rule_lang, locale)
        text = render_text(results, locale) if fmt is Format.text else render_junit(results)
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            fail(t("cannot write the report to {path}: {reason}", path=output,
                   reason=exc.strerror))
    else:
        sys.stdout.write(text)
    not_checked = [r for r in results if "decision" not in r]
    for r in not_checked:
        error(str(r.get("io_error") or r.get("setup_error")))
    if problems or not_checked:
        raise typer.Exit(EXIT_USAGE)
    invalid = any(r["decision"] != "accept" or not r.get("signatures", {}).get("ok", True)
                  for r in results)
    raise typer.Exit(EXIT_INVALID if invalid else EXIT_OK)


def _rule_selection(values: list[str]) -> RuleSelection:
    """The --rules values as a selection; unknown or missing packs fail before any work."""
    from exchange.errors import ExchangeError
    from exchange.validation.rulepacks import RuleStore
    from exchange.validation.rules import RuleSelection

    try:
        selection = RuleSelection.parse(values)
    except ValueError as exc:
        fail(str(exc))
    store = RuleStore()
    try:
        for name in selection.packs:
            store.require(name)
    except ExchangeError as exc:
        fail(exc)
    return selection


def _run(inputs: list[Input], store: SchemaStore, jobs: int,
         validate_inputs: _ValidateInputs[_R], rules: RuleSelection, lang: str,
         locale: str) -> list[_R]:
    if sys.stderr.isatty() and len(inputs) >= PROGRESS_THRESHOLD:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task(say(t("validating")), total=len(inputs))
            return list(validate_inputs(inputs, store=store, jobs=jobs, rules=rules, lang=lang,
                                        locale=locale,
                                        progress=lambda n: bar.advance(task, n)))
    return list(validate_inputs(inputs, store=store, jobs=jobs, rules=rules, lang=lang,
                                locale=locale))


def _verifier(trust: str | None, country: str | None, profile: str, rules: RuleSelection,
              lang: str, locale: str
              ) -> Callable[[Input, SchemaStore], dict[str, Any]]:
    """Return a function validating one input and verifying its signatures, or fail."""
    try:
        from exchange.cli.signing import verify_for_validate
    except ImportError:
        fail(t("--verify needs the signing package, which is not available"))
    return verify_for_validate(trust, country, profile, rules, lang, locale)


def register(app: typer.Typer) -> None:
    app.command("validate", help=_(
        "Validate trade documents against their standard's schema, code lists and business "
        "rules (the rule packs that apply; see `exchange rules list`).\n\nExit code 0 when "
        "every document is valid, 1 when any is invalid, 2 for usage or I/O errors (nothing "
        "missing is silently skipped)."))(validate)
