"""Appending to the hash-chained audit log, verifying it, and reading it back."""

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select, text

from app.db import db
from app.models.audit import GENESIS_HASH, AuditEntry
from app.models.listing import utcnow
from app.models.users import User
from app.services.catalogue import Page, paginate

if TYPE_CHECKING:  # listings records through this module: import it for the types only
    from app.services.listings import ListingKind

# Any constant: PostgreSQL serialises appenders on it until their transaction ends.
_CHAIN_LOCK_KEY = 4_724_001


def _lock_chain() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})


def record(
    action: str,
    actor: User | None = None,
    *,
    object_type: str = "",
    object_id: int | None = None,
    summary: str = "",
    details: dict | None = None,
    ip: str = "",
    actor_email: str | None = None,
) -> AuditEntry:
    """Append one entry, chained to the last; flushed with the caller's transaction."""
    _lock_chain()
    last = db.session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    entry = AuditEntry(
        seq=(last.seq + 1) if last else 1,
        at=utcnow(),
        actor_id=actor.id if actor else None,
        actor_email=actor_email if actor_email is not None else (actor.email if actor else ""),
        action=action,
        object_type=object_type,
        object_id=object_id,
        summary=summary[:300],
        details=json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str),
        ip=(ip or "")[:64],
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    entry.hash = entry.compute_hash()
    db.session.add(entry)
    db.session.flush()
    return entry


def record_listing(
    action: str, actor: User, kind: "ListingKind", obj: Any, details: dict | None = None
) -> AuditEntry:
    """Append the entry for a change to listing `obj` of `kind` (object type, id and title
    taken from the listing), `details` being e.g. {field: [before, after]}."""
    return record(
        action,
        actor,
        object_type=kind.key,
        object_id=obj.id,
        summary=kind.title(obj),
        details=details,
    )


@dataclass
class ChainReport:
    count: int = 0
    head: str = GENESIS_HASH
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(expected_head: str | None = None, batch: int = 1000) -> ChainReport:
    """Walk the chain in order: every entry must hash to its stored hash, link to the one
    before it and follow it without a gap; an edited or deleted entry shows as a break.
    `expected_head` (a head noted earlier, e.g. off-site) must still be in the chain, which
    also catches entries cut from the end."""
    report = ChainReport()
    previous_hash, previous_seq, head_seen = GENESIS_HASH, 0, expected_head is None
    last_seq = 0
    while True:
        # Plain rows made into transient entries: the session's identity map stays empty.
        table = AuditEntry.__table__
        rows = db.session.execute(
            select(table).where(table.c.seq > last_seq).order_by(table.c.seq).limit(batch)
        ).all()
        entries = [AuditEntry(**row._mapping) for row in rows]
        if not entries:
            break
        for entry in entries:
            report.count += 1
            if entry.seq != previous_seq + 1:
                report.problems.append(f"entries {previous_seq + 1}..{entry.seq - 1} are missing")
            if entry.prev_hash != previous_hash:
                report.problems.append(f"entry {entry.seq} does not link to the entry before it")
            if entry.compute_hash() != entry.hash:
                report.problems.append(f"entry {entry.seq} was changed after it was written")
            if entry.hash == expected_head:
                head_seen = True
            previous_hash, previous_seq = entry.hash, entry.seq
        last_seq = entries[-1].seq
    report.head = previous_hash
    if not head_seen:
        report.problems.append("the expected head entry is no longer in the chain")
    return report


ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "create",
    "update",
    "revise",
    "submit",
    "publish",
    "return",
    "archive",
    "restore",
    "password",
    "user_create",
    "user_update",
    "user_disable",
    "report_status",
    "expo_create",
    "expo_update",
    "expo_delete",
    "booth_create",
    "booth_update",
    "booth_delete",
    "photo_add",
    "photo_alt",
    "photo_order",
    "photo_cover",
    "photo_remove",
    "import",
    "synonym_create",
    "synonym_update",
    "synonym_delete",
)


@dataclass
class AuditFilter:
    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: int | None = None
    since: date | None = None
    until: date | None = None


def audit_query(filters: AuditFilter) -> Select:
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if filters.actor:
        stmt = stmt.where(func.lower(AuditEntry.actor_email).contains(filters.actor.lower()))
    if filters.action:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.object_type:
        stmt = stmt.where(AuditEntry.object_type == filters.object_type)
    if filters.object_id is not None:
        stmt = stmt.where(AuditEntry.object_id == filters.object_id)
    if filters.since:
        stmt = stmt.where(AuditEntry.at >= datetime.combine(filters.since, time(), UTC))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time(), UTC)
        stmt = stmt.where(AuditEntry.at < end)
    return stmt


def audit_page(filters: AuditFilter, page: int, per_page: int = 50) -> Page:
    return paginate(audit_query(filters), page, per_page)
