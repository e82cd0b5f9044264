"""A per-process cache of rendered public pages, invalidated on any catalogue change.

Every flush that touches catalogue data bumps one counter row (the catalogue generation) in
the same transaction. Each process re-reads that counter at most every
PAGE_CACHE_CHECK_SECONDS, so on several app servers a publish shows everywhere within that
time, and at once on the server that made it. ETag and Last-Modified derive from the
generation, so browsers and proxies revalidate cheaply."""
import functools
import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app, make_response, request
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session
from werkzeug.http import http_date

from app.conditional import conditional, precondition_status
from app.db import db
from app.i18n import current_lang
from app.models import Category, County, Product, ProductImage, Province
from app.models.listing import Listing
from app.models.site import CatalogueGeneration
from app.security import STATIC_SECURITY_HEADERS
from app.services.catalogue import local_today

CATALOGUE_TYPES = (Listing, County, Category, ProductImage, Province)


@dataclass(frozen=True)
class RenderedPage:
    body: bytes
    etag: str
    last_modified: datetime


class PageCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: OrderedDict[tuple, RenderedPage] = OrderedDict()
        self._generation: tuple[int, datetime] | None = None
        self._checked_at = 0.0

    def generation(self) -> tuple[int, datetime]:
        interval = current_app.config["PAGE_CACHE_CHECK_SECONDS"]
        now = time.monotonic()
        if self._generation is None or now - self._checked_at >= interval:
            fresh = read_generation()
            with self._lock:
                if fresh != self._generation:
                    self._pages.clear()
                self._generation, self._checked_at = fresh, now
        return self._generation

    def get(self, key: tuple) -> RenderedPage | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: RenderedPage) -> None:
        limit = current_app.config["PAGE_CACHE_MAX_ENTRIES"]
        with self._lock:
            self._pages[key] = page
            while len(self._pages) > limit:
                self._pages.popitem(last=False)

    def recent_generation(self, max_age: float) -> int | None:
        """The generation if it was checked within max_age seconds, else None (the caller
        then goes through Flask, which re-reads it)."""
        if self._generation is None or time.monotonic() - self._checked_at >= max_age:
            return None
        return self._generation[0]

    def expire(self) -> None:
        """Force a re-read of the generation on the next request (after a local commit)."""
        self._checked_at = 0.0

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._generation = None


page_cache = PageCache()


def read_generation() -> tuple[int, datetime]:
    row = db.session.execute(
        select(CatalogueGeneration.generation, CatalogueGeneration.changed_at)
    ).first()
    if row is None:
        return 0, datetime(2000, 1, 1, tzinfo=timezone.utc)
    changed_at = row.changed_at
    if changed_at.tzinfo is None:  # SQLite returns naive datetimes
        changed_at = changed_at.replace(tzinfo=timezone.utc)
    return row.generation, changed_at


def cached_page(view):
    """Serve an anonymous GET page from the cache, answering If-None-Match with 304."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        generation, changed_at = page_cache.generation()
        # The local day is part of the key: "in season" and expiry dates change at midnight.
        today = local_today()
        key = (request.full_path, current_lang(), generation, today)
        page = page_cache.get(key)
        if page is None:
            response = make_response(view(*args, **kwargs))
            if response.status_code != 200:
                return response
            body = response.get_data()
            digest = hashlib.blake2b(body, digest_size=8).hexdigest()
            midnight = datetime(today.year, today.month, today.day, tzinfo=timezone.utc)
            page = RenderedPage(body, f"g{generation}-{digest}", max(changed_at, midnight))
            page_cache.put(key, page)
        return page_response(page)

    return wrapper


def page_response(page: RenderedPage):
    response = current_app.response_class(page.body, mimetype="text/html")
    response.set_etag(page.etag)
    response.last_modified = page.last_modified
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["PUBLIC_MAX_AGE"]
    response.vary.update(("Accept-Language", "Cookie"))
    return conditional(response)


def wsgi_answer(page: RenderedPage, environ, start_response, headers: list[tuple[str, str]]):
    """Answer a cached page at the WSGI level (the fast paths), with the headers Flask's
    path adds to every page: type, validators, security headers; 304 and HEAD handled."""
    etag = f'"{page.etag}"'
    headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("ETag", etag),
        ("Last-Modified", http_date(page.last_modified)),
        *headers,
        *STATIC_SECURITY_HEADERS,
    ]
    if environ.get("wsgi.url_scheme") == "https":
        headers.append(("Strict-Transport-Security", "max-age=31536000"))
    if precondition_status(environ, page.etag, page.last_modified) == 304:
        # RFC 9110 §15.4.5: the validators and caching headers, no representation metadata.
        start_response("304 NOT MODIFIED", headers[1:])
        return [b""]
    headers.append(("Content-Length", str(len(page.body))))
    start_response("200 OK", headers)
    return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [page.body]


def _touches_catalogue(session: Session) -> bool:
    return any(
        isinstance(obj, CATALOGUE_TYPES)
        for obj in (*session.new, *session.dirty, *session.deleted)
    )


@event.listens_for(Session, "before_flush")
def _note_catalogue_change(session: Session, _context, _instances) -> None:
    if _touches_catalogue(session):
        session.info["catalogue_changed"] = True


@event.listens_for(Session, "after_flush")
def _bump_generation(session: Session, _context) -> None:
    if not session.info.pop("catalogue_changed", False):
        return
    connection = session.connection()
    result = connection.execute(
        update(CatalogueGeneration).values(
            generation=CatalogueGeneration.generation + 1,
            changed_at=datetime.now(timezone.utc),
        )
    )
    if result.rowcount == 0:
        connection.execute(
            CatalogueGeneration.__table__.insert().values(
                id=1, generation=1, changed_at=datetime.now(timezone.utc)
            )
        )


@event.listens_for(Session, "after_commit")
def _expire_after_commit(_session: Session) -> None:
    page_cache.expire()
