"""Questions a search asks the database to learn whether what this process holds is still
current (the Whoosh outbox: anything not applied yet? the synonym groups: changed?),
asked at most once every PAGE_CACHE_CHECK_SECONDS per process, and at once after a commit
of this process.

That is the rule every cached page already follows (app/caching/store.py): the process that
made a change shows it at its next request; other processes and app servers within
PAGE_CACHE_CHECK_SECONDS. Asking on every search cost one statement each (the outbox one
twice on a page-cache miss: once for the cache key, once before searching)."""

import threading
import time
from collections.abc import Hashable

from flask import current_app


class Recheck:
    """When each question (any hashable key: what is asked, of which database or index)
    was last answered, in time.monotonic() seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answered: dict[Hashable, float] = {}
        self._expired_at = float("-inf")  # the last local commit

    def due(self, key: Hashable) -> bool:
        """Whether `key` must be asked now: never answered, answered before the last local
        commit, or longer ago than PAGE_CACHE_CHECK_SECONDS."""
        interval = current_app.config["PAGE_CACHE_CHECK_SECONDS"]
        with self._lock:
            answered, expired_at = self._answered.get(key), self._expired_at
        if answered is None or answered <= expired_at:
            return True
        return time.monotonic() - answered >= interval

    def answered(self, key: Hashable, at: float) -> None:
        """Record an answer read at `at` (time.monotonic() taken before asking, so a commit
        made while asking is not taken as seen)."""
        with self._lock:
            self._answered[key] = at

    def expire(self) -> None:
        """Every answer read before now is stale (an answer being read meanwhile too)."""
        with self._lock:
            self._expired_at = time.monotonic()


rechecks = Recheck()


def committed() -> None:
    """After a commit of this process: ask every question again at the next search."""
    rechecks.expire()
