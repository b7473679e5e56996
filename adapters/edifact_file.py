"""The ``edifact-file`` adapter (settings declared; rendering lands next)."""
from __future__ import annotations

from typing import ClassVar

from adapters.settings import Setting, SettingType

__all__ = ["EdifactFileAdapter"]


class EdifactFileAdapter:
    kind: ClassVar[str] = "edifact-file"
    description: ClassVar[str] = "UN/EDIFACT CUSDEC files out, CUSRES files in"
    settings_spec: ClassVar[tuple[Setting, ...]] = (
        Setting("outbox_dir", SettingType.PATH, required=True,
                help="folder the CUSDEC interchanges are written to"),
        Setting("inbox_dir", SettingType.PATH, required=True,
                help="folder the national system drops CUSRES responses in"),
        Setting("sender_id", SettingType.STR, default="CARECHUB",
                help="UNB interchange sender identification"),
        Setting("recipient_id", SettingType.STR,
                help="UNB interchange recipient (default: <country>CUSTOMS)"),
    )
