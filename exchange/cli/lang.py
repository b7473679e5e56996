"""The reader's language on the command line: ``--lang``, else the locale (POSIX order:
``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else English."""
from __future__ import annotations

import os

__all__ = ["reader_locale"]


def reader_locale(lang: str | None = None) -> str:
    """``ru``, ``zh_Hans`` or ``en`` for ``--lang`` *lang* or the environment's locale
    (``ru_RU.UTF-8`` -> ``ru``; ``C`` and ``POSIX`` are English)."""
    tag = lang or next((os.environ[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG")
                        if os.environ.get(k)), "")
    tag = tag.split(".")[0].split("@")[0]
    if tag in ("", "C", "POSIX") or tag.lower() == "en" or tag.lower().startswith(("en_", "en-")):
        return "en"  # without loading the catalogues (Babel) for the usual case
    from exchange.i18n import locale_of

    return locale_of(tag)
