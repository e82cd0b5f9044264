"""The audit log: append-only and hash-chained. Each entry carries the SHA-256 of the one
before it, so editing or deleting any entry breaks the chain (`flask audit verify`)."""

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Model
from app.models.listing import utcnow

GENESIS_HASH = "0" * 64


class AuditEntry(Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Position in the chain; unique, so two writers can never fork it.
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # The actor's e-mail as it was: the entry must read the same after the account changes.
    actor_email: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(32), index=True)
    object_type: Mapped[str] = mapped_column(String(32), default="", index=True)
    object_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(300), default="")
    # JSON: {"field": [before, after], ...} for changes; free details otherwise.
    details: Mapped[str] = mapped_column(Text, default="{}")
    ip: Mapped[str] = mapped_column(String(64), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def canonical(self) -> bytes:
        # UTC without tzinfo: SQLite hands back naive datetimes, PostgreSQL aware ones.
        at_utc = self.at.astimezone(UTC) if self.at.tzinfo else self.at
        at = at_utc.replace(tzinfo=None).isoformat(timespec="microseconds")
        payload = [
            self.seq,
            at,
            self.actor_id,
            self.actor_email,
            self.action,
            self.object_type,
            self.object_id,
            self.summary,
            self.details,
            self.ip,
            self.prev_hash,
        ]
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    @property
    def changes(self) -> dict:
        return json.loads(self.details or "{}")


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(_mapper, _connection, _target) -> None:
    raise RuntimeError("audit entries are append-only")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(_mapper, _connection, _target) -> None:
    raise RuntimeError("audit entries are append-only")
