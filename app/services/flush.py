"""The one flush hook: what a flush touched is read once, and fed, in the same transaction,
to everything that follows a change of data:

- the catalogue generation (app/caching/store.py), when a catalogue row or an expo changed:
  cached pages, passports, API answers and downloads are rendered again;
- short codes for new coded listings (app/services/codes.py);
- the search engine (app/search/engine.py): Whoosh's outbox rows, or the PostgreSQL
  engine's documents, noted here and written before the commit (committing), and the
  pinyin rows of the database fallback.

A rollback takes all of it back. After a commit the local response cache re-reads the
generation, and search its outbox and synonyms (app/search/recheck.py), at once (other
processes within PAGE_CACHE_CHECK_SECONDS)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from app.caching.store import bump_generation, response_cache
from app.models import Booth, Category, County, ExpoEvent, ProductImage, Province
from app.models.listing import Listing
from app.search import engine as search_engine
from app.search import recheck
from app.services import codes

# Rows shown on cached answers. Expo events and booths appear on passports and expo pages.
CATALOGUE_TYPES = (Listing, County, Category, ProductImage, Province, ExpoEvent, Booth)


@dataclass(frozen=True)
class Touched:
    """The objects one flush wrote: new, changed and deleted."""

    new: tuple[Any, ...]
    changed: tuple[Any, ...]
    deleted: tuple[Any, ...]

    @property
    def all(self) -> tuple[Any, ...]:
        return (*self.new, *self.changed, *self.deleted)


def touched_by(session: Session) -> Touched:
    """After a flush, the session still lists what it wrote (SQLAlchemy's after_flush)."""
    return Touched(tuple(session.new), tuple(session.dirty), tuple(session.deleted))


def after_flush(session: Session, _context: UOWTransaction) -> None:
    touched = touched_by(session)
    if not touched.all:
        return
    connection = session.connection()
    if any(isinstance(obj, CATALOGUE_TYPES) for obj in touched.all):
        bump_generation(connection)
    codes.assign_codes(connection, touched.new)
    search_engine.flushed(session, touched.all, set(touched.deleted))


def before_commit(session: Session) -> None:
    search_engine.committing(session)


def after_rollback(session: Session) -> None:
    search_engine.rolled_back(session)


def after_commit(_session: Session) -> None:
    response_cache.expire()
    recheck.committed()


def install() -> None:
    """Listen on every Session, once per process (create_app may run several times)."""
    for name, listener in (
        ("after_flush", after_flush),
        ("before_commit", before_commit),
        ("after_rollback", after_rollback),
        ("after_commit", after_commit),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
