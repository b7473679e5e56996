"""The ``edifact-file`` adapter: CUSDEC files out, CUSRES files in.

* ``deliver`` renders a UBL customs declaration as a CUSDEC interchange and writes it
  atomically (temporary file, fsync, rename) as ``<outbox_dir>/<delivery id>.edi``. Other
  documents (waybill, invoice, ...) travel as the sealed XML, ``<delivery id>.xml``, next to
  it. The file name and the UNB control reference derive from the delivery id, so a retry
  rewrites the same interchange and the receiver can drop it; a file still waiting in the
  outbox is not written twice (``duplicate=True``). A folder that cannot be written is a
  RetryableDeliveryError ``adapter.delivery.io`` (a share not mounted yet).
* The CUSDEC is written in the member's character set and syntax version (settings
  ``syntax``, default UNOW, and ``syntax_version``, default 4); a declaration holding a
  character the set cannot (Kazakh ``Қ`` in UNOE) is refused, naming it and the segment.
  CUSRES files are decoded by the syntax identifier in their own UNB.
* ``collect_decisions`` reads every ``*.edi`` file in ``inbox_dir`` (CUSRES); nothing is
  moved until ``confirm_collected``, which moves read files to ``inbox_dir/processed/`` and
  malformed ones to ``inbox_dir/failed/``. Malformed files are reported in
  ``DecisionBatch.errors`` as MalformedCusresError, one per file.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from adapters.contract import (
    AdapterContext, CustomsDecision, DecisionBatch, DeliveryEnvelope, DeliveryResult,
    DeliveryStatus, RenderedPayload,
)
from adapters.edifact import DECLARATION_CODES, CusdecProfile, read_cusres, render_cusdec
from adapters.edifact_charset import CHARACTER_SETS
from adapters.edifact_syntax import character_set
from adapters.errors import (
    MalformedCusresError, ResponseError, RetryableDeliveryError, SettingError,
)
from adapters.settings import (
    Setting, SettingType, SettingValue, number_setting, path_setting, text_setting,
)
from signing.files import private_dir

__all__ = ["EdifactFileAdapter", "write_atomically"]

MAX_CUSRES_BYTES = 5 * 1024 * 1024


def write_atomically(folder: Path, name: str, data: bytes) -> Path:
    """Write *data* as folder/name so that readers see all of it or nothing (mode 0600,
    from :func:`tempfile.mkstemp`)."""
    private_dir(folder)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        target = folder / name
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return target


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
        Setting("syntax", SettingType.STR, default="UNOW", choices=tuple(CHARACTER_SETS),
                help="UNB syntax identifier (character set) of the CUSDEC written: UNOA, "
                     "UNOB, UNOC (ISO 8859-1), UNOE (ISO 8859-5), UNOW (UTF-8), ..."),
        Setting("syntax_version", SettingType.INT, default=4, choices=(3, 4),
                help="UNB syntax version: 3 (dates YYMMDD) or 4 (CCYYMMDD)"),
    )

    def __init__(self, country: str, settings: Mapping[str, SettingValue],
                 context: AdapterContext):
        self.country = country
        self.context = context
        self.outbox = path_setting(settings, "outbox_dir", required=True)
        self.inbox = path_setting(settings, "inbox_dir", required=True)
        syntax = text_setting(settings, "syntax", required=True)
        version = int(number_setting(settings, "syntax_version"))
        try:
            character_set(syntax, version)
        except ValueError as exc:
            raise SettingError(f"setting 'syntax': {exc}", setting="syntax") from exc
        self.profile = CusdecProfile(text_setting(settings, "sender_id", required=True),
                                     text_setting(settings, "recipient_id")
                                     or f"{country}CUSTOMS", syntax, version)

    @classmethod
    def create(cls, *, country: str, settings: Mapping[str, SettingValue],
               context: AdapterContext) -> EdifactFileAdapter:
        return cls(country, settings, context)

    def render(self, envelope: DeliveryEnvelope) -> RenderedPayload:
        if envelope.document_type in DECLARATION_CODES:
            return RenderedPayload(media_type="application/EDIFACT",
                                   body=render_cusdec(envelope, self.profile),
                                   filename=f"{envelope.delivery_id}.edi")
        return RenderedPayload(media_type="application/xml", body=envelope.document,
                               filename=f"{envelope.delivery_id}.xml")

    def deliver(self, envelope: DeliveryEnvelope) -> DeliveryResult:
        payload = self.render(envelope)
        assert payload.filename is not None
        if (self.outbox / payload.filename).exists():
            return DeliveryResult(DeliveryStatus.DELIVERED, envelope.delivery_id,
                                  receipt_reference=payload.filename, duplicate=True)
        try:
            write_atomically(self.outbox, payload.filename, payload.body)
        except OSError as exc:
            raise RetryableDeliveryError(f"cannot write to {self.outbox}: {exc.strerror or exc}",
                                         code="adapter.delivery.io") from exc
        return DeliveryResult(DeliveryStatus.DELIVERED, envelope.delivery_id,
                              receipt_reference=payload.filename)

    def parse_response(self, data: bytes, *, source: str = "CUSRES") -> tuple[
            CustomsDecision, ...]:
        if len(data) > MAX_CUSRES_BYTES:
            raise MalformedCusresError(f"larger than {MAX_CUSRES_BYTES} bytes", source=source)
        return read_cusres(data, country=self.country, source=source,
                           expected_sender=self.profile.recipient_id,
                           expected_recipient=self.profile.sender_id)

    def collect_decisions(self) -> DecisionBatch:
        if not self.inbox.is_dir():
            return DecisionBatch()
        decisions: list[CustomsDecision] = []
        errors: list[ResponseError] = []
        tokens: list[str] = []
        for path in sorted(self.inbox.glob("*.edi")):
            try:
                decisions.extend(self.parse_response(path.read_bytes(), source=path.name))
                tokens.append(f"processed/{path.name}")
            except ResponseError as exc:
                errors.append(exc)
                tokens.append(f"failed/{path.name}")
            except OSError:
                continue  # being written or gone: next poll
        return DecisionBatch(decisions=tuple(decisions), errors=tuple(errors),
                             tokens=tuple(tokens))

    def confirm_collected(self, batch: DecisionBatch) -> None:
        for token in batch.tokens:
            folder, _, name = token.partition("/")
            source = self.inbox / name
            if folder not in ("processed", "failed") or "/" in name or not source.exists():
                continue
            private_dir(self.inbox / folder)
            os.replace(source, self.inbox / folder / name)

    def close(self) -> None:
        return None
