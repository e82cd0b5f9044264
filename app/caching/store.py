"""The per-process store of rendered responses, invalidated on any catalogue change.

Every flush that touches catalogue data bumps one counter row (the catalogue generation) in
the same transaction (app/services/flush.py). Each process re-reads that counter at most
every PAGE_CACHE_CHECK_SECONDS, so on several app servers a publish shows everywhere within
that time, and at once on the server that made it (the store expires after a local
commit). ETag and Last-Modified are computed once per entry, so browsers and proxies
revalidate cheaply."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, TypeVar

from flask import current_app, g, has_request_context
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from werkzeug.http import http_date

from app import metrics
from app.caching.lru import LeastRecentlyUsed
from app.db import db
from app.models.site import CatalogueGeneration
from app.security import CONTENT_SECURITY_POLICY, STATIC_SECURITY_HEADERS

T = TypeVar("T")
Headers = tuple[tuple[str, str], ...]
CacheKey = tuple[str, str, str, int, date]


@dataclass(frozen=True)
class CacheEntry:
    """One rendered answer. `headers` are the route's own (type, Vary, Cache-Control, a
    route's CSP...), without validators or Content-Length; `etag` (unquoted, strong) and
    `last_modified` are None where the route has none (error statuses; JSON has no date).
    `extra` is what the route's hook needs on every answer (the passport: code, expo event)."""

    status: int
    headers: Headers
    body: bytes
    etag: str | None = None
    last_modified: datetime | None = None
    extra: tuple[object, ...] = ()

    @cached_property
    def wsgi_headers(self) -> list[tuple[str, str]]:
        """The headers of a 200 answer sent by the middleware: what Flask sends for this
        entry, after-request hooks included (app/security.py), HSTS aside."""
        headers = list(self.headers)
        if self.etag is not None:
            headers.append(("ETag", f'"{self.etag}"'))
        if self.last_modified is not None:
            headers.append(("Last-Modified", http_date(self.last_modified)))
        if not any(name == "Content-Security-Policy" for name, _value in headers):
            headers.append(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        headers.extend(STATIC_SECURITY_HEADERS)
        return headers

    @cached_property
    def not_modified_headers(self) -> list[tuple[str, str]]:
        """A 304's headers (RFC 9110 §15.4.5): validators and caching, no Content-Type."""
        return [header for header in self.wsgi_headers if header[0] != "Content-Type"]


def cache_key(environ: dict, lang: str, generation: int, today: date) -> CacheKey:
    """The one key of a cached answer, for the views and the middleware alike: the path and
    query as sent, the language ("" for routes that do not depend on it), the catalogue
    generation and the local day ("in season" and expiry dates change at midnight)."""
    return (environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""), lang, generation, today)


class ResponseCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: LeastRecentlyUsed[CacheKey, CacheEntry] = LeastRecentlyUsed()
        self._derived: dict[str, Any] = {}
        self._generation: tuple[int, datetime] | None = None
        self._checked_at = 0.0

    def generation(self) -> tuple[int, datetime]:
        """(generation, when the catalogue last changed), re-read from the database at most
        every PAGE_CACHE_CHECK_SECONDS; a new generation empties the store."""
        interval = current_app.config["PAGE_CACHE_CHECK_SECONDS"]
        now = time.monotonic()
        if has_request_context() and g.get("generation_checked") and self._generation:
            return self._generation  # one look per request, however many parts ask
        if self._generation is None or now - self._checked_at >= interval:
            fresh = read_generation()
            with self._lock:
                if fresh != self._generation:
                    self._entries.clear()
                    self._derived.clear()
                self._generation, self._checked_at = fresh, now
        if has_request_context():
            g.generation_checked = True
        return self._generation

    def get(self, key: CacheKey) -> CacheEntry | None:
        entry = self._entries.get(key)
        metrics.page_cache_lookup(entry is not None)
        return entry

    def put(self, key: CacheKey, entry: CacheEntry) -> None:
        self._entries.put(key, entry, current_app.config["PAGE_CACHE_MAX_ENTRIES"])

    def derived(self, name: str, build: Callable[[], T]) -> T:
        """A value read from the catalogue rather than a response (the names of every
        county...), kept like the cached pages: until the generation changes. `build`
        runs in the caller's app context; its value must not hold ORM objects (they
        belong to one request's session)."""
        generation = self.generation()
        with self._lock:
            if name in self._derived:
                return self._derived[name]
        value = build()
        with self._lock:
            if self._generation == generation:  # not emptied meanwhile
                self._derived[name] = value
        return value

    def recent_generation(self, max_age: float) -> int | None:
        """The generation if it was checked within max_age seconds, else None (the caller
        then goes through Flask, which re-reads it)."""
        if self._generation is None or time.monotonic() - self._checked_at >= max_age:
            return None
        return self._generation[0]

    def expire(self) -> None:
        """Force a re-read of the generation on the next request (after a local commit)."""
        self._checked_at = 0.0
        if has_request_context():
            g.generation_checked = False

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._derived.clear()
            self._generation = None


response_cache = ResponseCache()


def read_generation() -> tuple[int, datetime]:
    row = db.session.execute(
        select(CatalogueGeneration.generation, CatalogueGeneration.changed_at)
    ).first()
    if row is None:
        return 0, datetime(2000, 1, 1, tzinfo=UTC)
    changed_at = row.changed_at
    if changed_at.tzinfo is None:  # SQLite returns naive datetimes
        changed_at = changed_at.replace(tzinfo=UTC)
    return row.generation, changed_at


def bump_generation(connection: Connection) -> None:
    """Count one catalogue change, in the flushing transaction (a rollback undoes it)."""
    now = datetime.now(UTC)
    result = connection.execute(
        update(CatalogueGeneration).values(
            generation=CatalogueGeneration.generation + 1, changed_at=now
        )
    )
    if result.rowcount == 0:
        connection.execute(insert(CatalogueGeneration).values(id=1, generation=1, changed_at=now))
