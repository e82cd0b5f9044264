"""The search outbox: every flush that changes an indexed listing writes (kind, id) rows in
the same transaction, so the index can always catch up from the database alone (see
app.search.sync). Collected in after_flush like the page cache's generation counter; a
rollback takes the rows with it."""
from datetime import datetime, timezone

from sqlalchemy import BigInteger, DateTime, Integer, String, event, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import db
from app.models import Authorization, Brand, County, Enterprise, GISign, Product


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SearchOutbox(db.Model):
    __tablename__ = "search_outbox"

    # BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    obj_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


INDEXED = {Product: "product", Brand: "brand", Enterprise: "enterprise", GISign: "sign",
           County: "county"}


def _changed_keys(session: Session) -> set[tuple[str, int]]:
    keys: set[tuple[str, int]] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        kind = INDEXED.get(type(obj))
        if kind is not None and obj.id is not None:
            keys.add((kind, obj.id))
        elif isinstance(obj, Authorization) and obj.enterprise_id is not None:
            # An enterprise's document lists its authorization numbers.
            keys.add(("enterprise", obj.enterprise_id))
    return keys


@event.listens_for(Session, "after_flush")
def _write_outbox(session: Session, _context) -> None:
    keys = _changed_keys(session)
    if not keys:
        return
    now = utcnow()
    session.connection().execute(
        insert(SearchOutbox),
        [{"kind": kind, "obj_id": obj_id, "created_at": now} for kind, obj_id in sorted(keys)],
    )
