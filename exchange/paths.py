"""Where the exchange keeps its data: ``EXCHANGE_HOME`` or a per-user data directory."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["exchange_home", "schema_store_dir"]


def exchange_home() -> Path:
    home = os.environ.get("EXCHANGE_HOME")
    if home:
        return Path(home).expanduser()
    return Path(platformdirs.user_data_dir("carec-exchange", appauthor=False))


def schema_store_dir(home: Path | None = None) -> Path:
    return (home or exchange_home()) / "schemas"
