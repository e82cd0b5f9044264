"""The search outbox: every flush that changes an indexed listing writes (kind, id) rows in
the same transaction, so the index can always catch up from the database alone (see
app.search.sync). Written by the one flush hook (app/services/flush.py) with the catalogue
generation and the short codes; a rollback takes the rows with it.

The same flush keeps search_pinyin in step: the pinyin forms of each listing's Chinese
name, computed by the code that feeds Whoosh (text.pinyin_forms), so the database
fallback finds `wenchangji` and `wcj` when the index cannot answer."""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, delete, insert, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Model
from app.models import Authorization, Brand, County, Enterprise, GISign, Product


def utcnow() -> datetime:
    return datetime.now(UTC)


class SearchOutbox(Model):
    __tablename__ = "search_outbox"

    # BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    obj_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SearchPinyin(Model):
    """One row per indexed listing: `forms` is " wenchangji wcj wen chang ji wenchang "
    (space-delimited, with a space at each end, so LIKE '% wcj%' matches a form's start)."""

    __tablename__ = "search_pinyin"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    obj_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    forms: Mapped[str] = mapped_column(String(2000))


def chinese_name(obj) -> str:
    return (obj.official_name_zh if isinstance(obj, GISign) else obj.name_zh) or ""


def upsert_pinyin(connection, rows: list[dict]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE (PostgreSQL and SQLite alike): an edit flushed
    while a rebuild rewrites the table waits for it and then updates, never fails on the
    primary key."""
    if not rows:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(SearchPinyin)
    connection.execute(
        stmt.on_conflict_do_update(
            index_elements=[SearchPinyin.kind, SearchPinyin.obj_id],
            set_={"forms": stmt.excluded.forms},
        ),
        rows,
    )


def pinyin_row(kind: str, obj) -> dict:
    """The search_pinyin row of one listing (forms capped to the column's length)."""
    from app.search import text

    forms = " ".join(text.pinyin_forms(chinese_name(obj)))[:1990]
    return {"kind": kind, "obj_id": obj.id, "forms": f" {forms} "}


INDEXED = {
    Product: "product",
    Brand: "brand",
    Enterprise: "enterprise",
    GISign: "sign",
    County: "county",
}


def changed_keys(touched: Iterable[Any]) -> set[tuple[str, int]]:
    keys: set[tuple[str, int]] = set()
    for obj in touched:
        kind = INDEXED.get(type(obj))
        if kind is not None and obj.id is not None:
            keys.add((kind, obj.id))
        elif isinstance(obj, Authorization) and obj.enterprise_id is not None:
            # An enterprise's document lists its authorization numbers.
            keys.add(("enterprise", obj.enterprise_id))
    return keys


def _pinyin_changes(
    touched: Iterable[Any], deleted: set[Any]
) -> tuple[list[tuple[str, int]], list[dict]]:
    """(keys whose row goes, rows to write) for the listings this flush touched."""
    gone: list[tuple[str, int]] = []
    rows: dict[tuple[str, int], dict] = {}
    for obj in touched:
        kind = INDEXED.get(type(obj))
        if kind is None or obj.id is None:
            continue
        if obj in deleted:
            gone.append((kind, obj.id))
        else:
            rows[(kind, obj.id)] = pinyin_row(kind, obj)
    return gone, list(rows.values())


def write_outbox(connection: Connection, touched: Iterable[Any], deleted: set[Any]) -> None:
    """The outbox rows and pinyin rows for what a flush touched (called by the flush hook,
    app/services/flush.py; `deleted` is the part of `touched` that the flush deleted)."""
    keys = changed_keys(touched)
    if not keys:
        return
    now = utcnow()
    connection.execute(
        insert(SearchOutbox),
        [{"kind": kind, "obj_id": obj_id, "created_at": now} for kind, obj_id in sorted(keys)],
    )
    write_pinyin(connection, touched, deleted)


def write_pinyin(connection: Connection, touched: Iterable[Any], deleted: set[Any]) -> None:
    """The search_pinyin rows of the listings a flush touched (the database fallback's,
    whichever engine answers)."""
    gone, rows = _pinyin_changes(touched, deleted)
    if gone:
        connection.execute(
            delete(SearchPinyin).where(
                tuple_(SearchPinyin.kind, SearchPinyin.obj_id).in_(sorted(set(gone)))
            )
        )
    upsert_pinyin(connection, rows)
