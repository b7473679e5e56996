"""The ``edifact-file`` adapter: CUSDEC files out, CUSRES files in.

* ``deliver`` renders a UBL customs declaration as a CUSDEC interchange and writes it
  atomically (temporary file, fsync, rename) as ``<outbox_dir>/<delivery id>.edi``. Other
  documents (waybill, invoice, ...) travel as the sealed XML, ``<delivery id>.xml``, next to
  it. The file name and the UNB control reference derive from the delivery id, so a retry
  rewrites the same interchange and the receiver can drop it; a file still waiting in the
  outbox is not written twice (``duplicate=True``). A folder that cannot be written is a
  RetryableDeliveryError ``adapter.delivery.io`` (a share not mounted yet).
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
from adapters.errors import MalformedCusresError, ResponseError, RetryableDeliveryError
from adapters.settings import Setting, SettingType, SettingValue, path_setting, text_setting
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
    )

    def __init__(self, country: str, settings: Mapping[str, SettingValue],
                 context: AdapterContext):
        self.country = country
        self.context = context
        self.outbox = path_setting(settings, "outbox_dir", required=True)
        self.inbox = path_setting(settings, "inbox_dir", required=True)
        self.profile = CusdecProfile(text_setting(settings, "sender_id", required=True),
                                     text_setting(settings, "recipient_id")
                                     or f"{country}CUSTOMS")

    @classmethod
    def create(cls, *, country: str, settings: Mapping[str, SettingValue],
               context: AdapterContext) -> EdifactFileAdapter:
        return cls(country, settings, context)

    def render(self, envelope: DeliveryEnvelope) -> RenderedPayload:
        if envelope.document_type in DECLARATION_CODES:
            text = render_cusdec(envelope, self.profile)
            return RenderedPayload(media_type="application/EDIFACT",
                                   body=text.encode("utf-8"),
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
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedCusresError(f"not UTF-8 (byte {exc.start})", source=source) from exc
        return read_cusres(text, country=self.country, source=source,
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
