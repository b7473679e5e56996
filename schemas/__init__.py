"""Data of the project: the catalogs of schema and rule packs, the project's own XSDs and rules.

This package is data plus a tiny locator; the code that reads it lives in ``exchange``.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["packs_dir", "project_schema", "rules_dir"]


def packs_dir() -> Path:
    """Folder of the pack catalog files (``<name>.toml``)."""
    return Path(str(files(__name__).joinpath("packs")))


def project_schema(name: str) -> Path:
    """Path of one of the project's own XSDs (delivery envelope, receipts, ...)."""
    return Path(str(files(__name__).joinpath("xsd", name)))


def rules_dir() -> Path:
    """Folder of the rule-pack catalog (``<name>.toml``) and of the project's own rule packs."""
    return Path(str(files(__name__).joinpath("rules")))
