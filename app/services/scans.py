"""Anonymous scan counting: counters per code, local day, expo event and kind, nothing else.

The landing page is the hottest path of the site, so a scan is an in-memory increment; a
background thread folds the buffer into the database every SCAN_FLUSH_SECONDS with atomic
upserts (INSERT ... ON CONFLICT DO UPDATE SET count = count + n), which concurrent
processes can run at once without losing increments. The buffer is also flushed at
interpreter exit (gunicorn's graceful worker shutdown). SCAN_FLUSH_SECONDS = 0 writes
through on every request instead."""

import atexit
import csv
import io
import logging
import os
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import cast

from flask import Flask
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from app.db import db
from app.models.expos import booth_enterprises, booth_products
from app.models.qr import CodeTarget, ScanCount, ScanKind, ShortCode
from app.services.codes import MODEL_FOR_TARGET, CodedRow
from app.services.listings import KINDS

log = logging.getLogger(__name__)

# Chat apps and social sites fetching a link preview when a URL is pasted.
_PREVIEW = re.compile(
    r"facebookexternalhit|facebot|twitterbot|slackbot|slack-imgproxy|whatsapp|telegrambot|"
    r"discordbot|linkedinbot|skypeuripreview|pinterest|redditbot|embedly|iframely|"
    r"vkshare|quora link preview|bitlybot|applebot|mastodon|outbrain",
    re.IGNORECASE,
)
# Crawlers, monitors and scripts. Real visitors' in-app browsers (WeChat, Alipay) are scans.
_BOT = re.compile(
    r"bot\b|bot/|crawler|spider|crawl|slurp|baiduspider|sogou|bytespider|yisouspider|"
    r"360spider|petalbot|yandex|bingpreview|headless|python-|curl/|wget/|go-http-client|"
    r"java/|okhttp|libwww|httpclient|axios|node-fetch|scrapy|uptime|monitor|lighthouse",
    re.IGNORECASE,
)

Key = tuple[str, date, int, str]


def classify(method: str, user_agent: str | None) -> ScanKind:
    if method == "HEAD":
        return ScanKind.HEAD
    agent = (user_agent or "").strip()
    if not agent:
        return ScanKind.BOT
    if _PREVIEW.search(agent):
        return ScanKind.PREVIEW
    if _BOT.search(agent):
        return ScanKind.BOT
    return ScanKind.SCAN


def add_counts(connection, counts: dict[Key, int]) -> None:
    """Atomically add `counts` to the stored counters (one statement per key)."""
    if not counts:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    table = ScanCount.__table__
    stmt = dialect.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["code", "day", "event_id", "kind"],
        set_={"count": table.c.count + stmt.excluded.count},
    )
    rows = [
        {"code": code, "day": day, "event_id": event_id, "kind": kind, "count": n}
        for (code, day, event_id, kind), n in sorted(counts.items())
    ]
    connection.execute(stmt, rows)


class ScanBuffer:
    """Per-process counters waiting to be written. Increments are under a lock; a flush
    swaps the counter out, so nothing counted during a flush is lost."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: Counter = Counter()
        self._engine: Engine | None = None
        self._interval = 1.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._pid_started: int | None = None

    def configure(self, engine: Engine, interval: float) -> None:
        self._engine, self._interval = engine, interval

    def add(self, key: Key) -> None:
        with self._lock:
            self._pending[key] += 1
        self._ensure_flusher()

    def pending(self) -> int:
        with self._lock:
            return sum(self._pending.values())

    def flush(self) -> int:
        with self._lock:
            batch, self._pending = self._pending, Counter()
        if not batch or self._engine is None:
            return 0
        try:
            with self._engine.begin() as connection:
                add_counts(connection, dict(batch))
        except Exception:
            with self._lock:  # keep the counts for the next attempt
                self._pending.update(batch)
            raise
        return sum(batch.values())

    def _ensure_flusher(self) -> None:
        # Started lazily in each worker process (gunicorn forks after the app is built).
        if self._thread is not None and self._pid_started == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._pid_started == os.getpid():
                return
            self._pid_started = os.getpid()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="scan-flush", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # the database is briefly away: counts stay buffered
                log.warning(
                    "scan counts not written, %d kept for the next attempt",
                    self.pending(),
                    exc_info=True,
                )

    def stop(self) -> None:
        self._stop.set()
        self.flush()


scan_buffer = ScanBuffer()


@atexit.register
def _flush_at_exit() -> None:
    try:
        scan_buffer.flush()
    except Exception:  # the process is ending: nothing to retry with, so say what is lost
        log.exception("scan counts lost at exit: %d not written", scan_buffer.pending())


def init_app(app: Flask) -> None:
    if app.config.get("SCAN_FLUSH_SECONDS", 1.0) > 0:
        with app.app_context():
            scan_buffer.configure(db.engine, app.config["SCAN_FLUSH_SECONDS"])


def record_scan(app: Flask, code: str, day: date, event_id: int, kind: ScanKind) -> None:
    key = (code, day, event_id, kind.value)
    if app.config.get("SCAN_FLUSH_SECONDS", 1.0) > 0:
        scan_buffer.add(key)
    else:
        with db.engine.begin() as connection:
            add_counts(connection, {key: 1})


# --- reading, for the back-office dashboard ------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    day: date
    event_id: int
    scans: int
    other: int  # HEAD, previews and bots together


def codes_in_counties(county_ids: set[int]) -> Select:
    """The short codes an editor of these counties may see counted: their products,
    brands, enterprises and authorizations (scoped as the back office scopes them) and the
    booths showing any of those products or enterprises."""

    def ids(key: str) -> Select:
        kind = KINDS[key]
        return select(kind.model.id).where(kind.scope_clause(county_ids))

    conditions = [
        and_(ShortCode.target_type == target, ShortCode.target_id.in_(ids(key)))
        for target, key in (
            (CodeTarget.PRODUCT, "products"),
            (CodeTarget.BRAND, "brands"),
            (CodeTarget.ENTERPRISE, "enterprises"),
            (CodeTarget.AUTHORIZATION, "authorizations"),
        )
    ]
    booths = (
        select(booth_products.c.booth_id)
        .where(booth_products.c.product_id.in_(ids("products")))
        .union(
            select(booth_enterprises.c.booth_id).where(
                booth_enterprises.c.enterprise_id.in_(ids("enterprises"))
            )
        )
    )
    conditions.append(
        and_(ShortCode.target_type == CodeTarget.BOOTH, ShortCode.target_id.in_(booths))
    )
    return select(ShortCode.code).where(or_(*conditions))


def _window(
    stmt, start: date | None, end: date | None, event_id: int | None, codes: Select | None = None
):
    if codes is not None:
        stmt = stmt.where(ScanCount.code.in_(codes))
    if start is not None:
        stmt = stmt.where(ScanCount.day >= start)
    if end is not None:
        stmt = stmt.where(ScanCount.day <= end)
    if event_id is not None:
        stmt = stmt.where(ScanCount.event_id == event_id)
    return stmt


def scans_per_day(
    start: date | None = None,
    end: date | None = None,
    event_id: int | None = None,
    codes: Select | None = None,
) -> list[DayCount]:
    """Scans (people) and other requests per day and event, oldest first."""
    stmt = (
        select(
            ScanCount.day,
            ScanCount.event_id,
            func.coalesce(func.sum(ScanCount.count).filter(ScanCount.kind == ScanKind.SCAN), 0),
            func.coalesce(func.sum(ScanCount.count).filter(ScanCount.kind != ScanKind.SCAN), 0),
        )
        .group_by(ScanCount.day, ScanCount.event_id)
        .order_by(ScanCount.day, ScanCount.event_id)
    )
    rows = db.session.execute(_window(stmt, start, end, event_id, codes))
    return [DayCount(*row) for row in rows]


@dataclass(frozen=True)
class CodeCount:
    code: str
    target_type: str
    target_id: int | None
    scans: int


def top_codes(
    limit: int = 20,
    start: date | None = None,
    end: date | None = None,
    event_id: int | None = None,
    codes: Select | None = None,
) -> list[CodeCount]:
    total = func.sum(ScanCount.count).label("scans")
    stmt = (
        select(ScanCount.code, ShortCode.target_type, ShortCode.target_id, total)
        .outerjoin(ShortCode, ShortCode.code == ScanCount.code)
        .where(ScanCount.kind == ScanKind.SCAN)
        .group_by(ScanCount.code, ShortCode.target_type, ShortCode.target_id)
        .order_by(total.desc(), ScanCount.code)
        .limit(limit)
    )
    rows = db.session.execute(_window(stmt, start, end, event_id, codes))
    return [CodeCount(code, str(kind), target_id, n) for code, kind, target_id, n in rows]


CSV_COLUMNS = ("day", "event_id", "code", "kind", "count")


def scans_csv(
    start: date | None = None,
    end: date | None = None,
    event_id: int | None = None,
    codes: Select | None = None,
) -> str:
    """Every stored counter in the window as CSV (for the dashboard's export button)."""
    stmt = select(
        ScanCount.day, ScanCount.event_id, ScanCount.code, ScanCount.kind, ScanCount.count
    ).order_by(ScanCount.day, ScanCount.event_id, ScanCount.code, ScanCount.kind)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for day, event, code, kind, n in db.session.execute(_window(stmt, start, end, event_id, codes)):
        writer.writerow((day.isoformat(), event, code, kind.value, n))
    return out.getvalue()


TARGET_VALUES = frozenset(t.value for t in CodeTarget)


def code_targets(counts: list[CodeCount]) -> dict[str, object]:
    """The listing or booth behind each counted code (one query per kind), for labelling
    the dashboard; codes whose target was deleted are left out."""
    by_type: dict[CodeTarget, dict[int, str]] = {}
    for count in counts:
        if count.target_id is not None and count.target_type in TARGET_VALUES:
            by_type.setdefault(CodeTarget(count.target_type), {})[count.target_id] = count.code
    found: dict[str, object] = {}
    for target, ids in by_type.items():
        model = MODEL_FOR_TARGET[target]
        # select() of a union of models is typed as the base class: name the union again.
        rows = cast(Iterable[CodedRow], db.session.scalars(select(model).where(model.id.in_(ids))))
        for obj in rows:
            found[ids[obj.id]] = obj
    return found
