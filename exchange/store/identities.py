"""Which hub identity seals this database's contents: the SHA-256 fingerprint of the hub's
certificate, recorded when an identity is first used with the database (and again when an
operator deliberately moves to a new one, ``exchange hub new-identity``). The last row is
the identity in force; the earlier ones are kept, as the history of the hub's seal.

A database restored without the hub's key and certificate, or started with another
identity's files, is refused at start rather than sealed under a new identity that the
receivers who pinned the old certificate would reject
(:func:`exchange.documents.signatures.hub_sealer`).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, exists, select, text
from sqlalchemy.orm import Mapped, mapped_column

from exchange.store.models import TS, Base, DocumentRow
from exchange.store.repositories import _Repo

__all__ = ["HOW", "HubIdentityRepository", "HubIdentityRow"]

HOW = ("created", "found", "new-identity")
"""How an identity came to be recorded: made by the exchange at its first start
(``created``), found in the configured files at the first start with this database, or in
an older database that had no record yet (``found``), or recorded on purpose by
``exchange hub new-identity``."""


class HubIdentityRow(Base):
    __tablename__ = "hub_identities"

    id: Mapped[int] = mapped_column(Integer().with_variant(BigInteger, "postgresql"),
                                    primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the hub certificate (DER), lowercase hex: as ``exchange trust list`` shows."""
    subject: Mapped[str] = mapped_column(String(500))
    how: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(TS)


class HubIdentityRepository(_Repo):
    """The only SQL of ``hub_identities``."""

    def lock(self) -> None:
        """Hold the table until the transaction ends (PostgreSQL), so that processes
        starting at once on a new database record one identity, not one each; SQLite's
        writers already queue (:class:`exchange.store.uow.WriterLock`)."""
        if self._postgres:
            self.session.execute(text("LOCK TABLE hub_identities IN SHARE ROW EXCLUSIVE MODE"))

    def current(self) -> HubIdentityRow | None:
        """The identity in force (the last recorded), or None: none recorded yet."""
        return self.session.scalars(
            select(HubIdentityRow).order_by(HubIdentityRow.id.desc()).limit(1)).first()

    def history(self) -> Sequence[HubIdentityRow]:
        return self.session.scalars(select(HubIdentityRow).order_by(HubIdentityRow.id)).all()

    def record(self, fingerprint: str, subject: str, *, how: str, now: datetime
               ) -> HubIdentityRow:
        if how not in HOW:
            raise ValueError(f"how must be one of {HOW}")
        row = HubIdentityRow(fingerprint=fingerprint, subject=subject[:500], how=how,
                             recorded_at=now)
        self.session.add(row)
        self.session.flush()
        return row

    def holds_sealed_documents(self) -> bool:
        """Whether any stored document carries the hub's seal (a database from before the
        identity was recorded still tells that it was sealed by one)."""
        return bool(self.session.scalar(select(exists().where(
            DocumentRow.sealed_sha256.is_not(None)))))
