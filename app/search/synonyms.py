"""Synonyms at query time: the groups officials keep in the back office (SynonymGroup),
looked up for each query word, so an edit applies at the next search without a reindex.
Each process keeps the groups in memory and reloads them when the table changed."""

import threading
import time
from collections.abc import Iterable

from sqlalchemy import func, select

from app.db import db
from app.models.synonyms import SynonymGroup
from app.search.recheck import rechecks
from app.search.words import analyze


class Synonyms:
    """word -> the other words of its groups. A word is found as typed (normalised and
    lower-cased like a query) and, for a one-word term, as the index analyses it (crabs and
    crab both find the group of crab)."""

    def __init__(self, groups: Iterable[list[str]], stamp: tuple = ()) -> None:
        self.stamp = stamp  # what the table looked like when read (see current)
        self._others: dict[str, list[str]] = {}
        for terms in groups:
            for term in terms:
                keys = {term}
                analyzed = analyze(term)  # the index's own analyzer
                if len(analyzed) == 1:
                    keys.add(analyzed[0])
                for key in keys:
                    bucket = self._others.setdefault(key, [])
                    bucket.extend(t for t in terms if t != term and t not in bucket)

    def of(self, word: str) -> tuple[str, ...]:
        return tuple(self._others.get(word, ()))

    def latin_words(self) -> set[str]:
        """The one-word Latin terms (litchi, lichee, crab): English spellings a correction
        may land on, since searching one finds its group."""
        return {w for w in self._others if w.isascii() and w.isalpha()}

    def __bool__(self) -> bool:
        return bool(self._others)


_lock = threading.Lock()
# Built once: read before every search.
_STAMP = select(
    func.count(SynonymGroup.id),
    func.max(SynonymGroup.id),
    func.max(SynonymGroup.updated_at),
    func.sum(SynonymGroup.id),
)
_cached: tuple[str, tuple, Synonyms] | None = None  # (database, stamp, groups)


def current() -> Synonyms:
    """The groups as the database has them now: one small aggregate query tells whether
    this process's copy is still current (any add, edit or delete changes it), asked at
    most every PAGE_CACHE_CHECK_SECONDS and at once after a local commit (recheck)."""
    global _cached
    database = str(db.engine.url)
    cached = _cached
    key = ("synonyms", database)
    if cached is not None and cached[0] == database and not rechecks.due(key):
        return cached[2]
    asked_at = time.monotonic()
    stamp = tuple(db.session.execute(_STAMP).one())
    rechecks.answered(key, asked_at)
    if cached is not None and cached[:2] == (database, stamp):
        return cached[2]
    with _lock:
        rows = db.session.scalars(select(SynonymGroup.terms)).all()
        synonyms = Synonyms(([t for t in row.split(",") if t] for row in rows), stamp)
        _cached = (database, stamp, synonyms)
    return synonyms
