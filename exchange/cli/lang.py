"""The reader's language on the command line: ``exchange --lang``, else the locale (POSIX
order: ``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else English."""
from __future__ import annotations

import os

__all__ = ["choose", "reader_locale"]

_chosen: str | None = None


def choose(lang: str | None) -> None:
    """Remember the global ``--lang`` (None: the environment's) for every line of the command."""
    global _chosen
    _chosen = lang


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
