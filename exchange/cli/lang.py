"""The reader's language on the command line: ``exchange --lang``, else the locale (POSIX
order: ``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else English.

Help texts are made while the commands register, before Typer parses the command line:
:func:`exchange.cli.main` chooses the language of :func:`lang_in` the arguments first, and the
command modules mark their help texts with :func:`_` (a message id of the ``clihelp``
catalogue)."""
from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = ["_", "choose", "lang_in", "reader_locale"]

_chosen: str | None = None


def choose(lang: str | None) -> None:
    """Remember the global ``--lang`` (None: the environment's) for every line of the command."""
    global _chosen
    _chosen = lang


def lang_in(args: Sequence[str]) -> str | None:
    """The value of a ``--lang`` among the command-line *args* (the global option's or a
    command's), read before Typer parses them so that ``--help`` is in that language too."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg.startswith("--lang="):
            return arg.removeprefix("--lang=")
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
    return None


def reader_locale(lang: str | None = None) -> str:
    """``ru``, ``zh_Hans`` or ``en`` for *lang*, else the chosen ``--lang``, else the
    environment's locale (``ru_RU.UTF-8`` -> ``ru``; ``C`` and ``POSIX`` are English)."""
    tag = lang or _chosen or next((os.environ[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG")
                                   if os.environ.get(k)), "")
    tag = tag.split(".")[0].split("@")[0]
    if tag in ("", "C", "POSIX") or tag.lower() == "en" or tag.lower().startswith(("en_", "en-")):
        return "en"  # without loading the catalogues (Babel) for the usual case
    from exchange.i18n import locale_of

    return locale_of(tag)


def _(msgid: str) -> str:
    """A help text (the app's, a command's, an option's) in the reader's language, now."""
    locale = reader_locale()
    if locale == "en":
        return msgid
    from exchange.i18n import gettext

    return gettext(locale, msgid)
