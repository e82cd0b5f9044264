"""The node's index over its life in this process: the store kept on the app, the searcher
made ready (caught up with the outbox) for each search, and what happens when the index
fails: a repair note for the node's writer and a background rebuild, retried with a
growing delay, while searches are answered from the database."""

import logging
import threading
import time

from flask import Flask, current_app
from whoosh.searching import Searcher

from app.db import db
from app.search import sync
from app.search.recheck import rechecks
from app.search.store import IndexStore, LockBusy, RepairPending

log = logging.getLogger(__name__)

_rebuild_lock = threading.Lock()
# Per index root: (next attempt allowed at [monotonic s], failures in a row, running).
_rebuild_state: dict[str, tuple[float, int, bool]] = {}
# A failed repair is retried after 5 s, 10 s, 20 s... at most 5 minutes apart (a full disk
# may take a while to clear); a successful one resets this, so new damage is repaired at once.
REBUILD_RETRY_FIRST = 5.0
REBUILD_RETRY_MAX = 300.0


def get_store() -> IndexStore:
    """The node's index store of this app (one per app, made at first use)."""
    store = current_app.extensions.get("search_store")
    if store is None:
        store = current_app.extensions.setdefault(
            "search_store", IndexStore(current_app.config["INSTANCE_DIR"] / "search")
        )
    return store


def auto_rebuild_enabled() -> bool:
    """Whether a failed index is rebuilt in the background (off under test unless asked)."""
    return current_app.config.get("SEARCH_AUTO_REBUILD", not current_app.testing)


def index_failed(store: IndexStore, error: BaseException) -> None:
    """Any failure of the index (open, read, catch-up, write): log it with its traceback,
    drop this thread's searcher, leave a repair note for the node's writer and schedule a
    repair here. The caller answers from the database."""
    if isinstance(error, RepairPending):  # found and logged already: keep the log short
        log.info("search index repair pending; answering from the database")
    else:
        detail = getattr(error, "detail", "")
        log.error(
            "search index failed (%s); answering from the database%s",
            error,
            f"\nCaused by:\n{detail}" if detail else "",
            exc_info=(type(error), error, error.__traceback__),
        )
    try:
        store.close()
    except Exception:  # noqa: BLE001 - a damaged searcher may fail to close: drop it
        store._local.searcher = None
    store.request_repair(repr(error))
    schedule_rebuild(store, repr(error))


def schedule_rebuild(store: IndexStore, reason: str) -> threading.Thread | None:
    """Rebuild a missing or damaged index in a background thread of this process while its
    searches are answered from the database. One at a time per index; a failed attempt is
    retried with a doubling delay (REBUILD_RETRY_FIRST..MAX). Returns the thread started."""
    if not auto_rebuild_enabled():
        return None
    root = str(store.root)
    with _rebuild_lock:
        next_try, failures, running = _rebuild_state.get(root, (0.0, 0, False))
        if running or time.monotonic() < next_try:
            return None
        _rebuild_state[root] = (next_try, failures, True)
    log.warning("search index unavailable (%s): rebuilding in the background", reason)
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # a proxy

    def run() -> None:
        ok = False
        with app.app_context():
            try:
                summary = sync.rebuild(store)
                ok = True
                log.warning("search index rebuilt: %s", summary)
            except LockBusy:  # another process of this node is rebuilding it
                log.info("search index rebuild already running in another process")
            except Exception:  # noqa: BLE001 - logged; searches keep using the database
                log.exception("search index rebuild failed")
            finally:
                db.session.remove()
        with _rebuild_lock:
            count = 0 if ok else failures + 1
            delay = 0.0 if ok else min(REBUILD_RETRY_MAX, REBUILD_RETRY_FIRST * 2 ** (count - 1))
            _rebuild_state[root] = (time.monotonic() + delay, count, False)

    thread = threading.Thread(target=run, name="search-rebuild", daemon=True)
    thread.start()
    return thread


def ready_searcher(store: IndexStore) -> Searcher:
    """The searcher for this thread, after applying any outbox rows this node has not
    seen (try-lock: if another process is applying them, search what is there). Any
    exception means the index cannot answer (see index_failed)."""
    if store.repair_requested():
        raise RepairPending("a repair of this index is pending")
    catch_up(store)
    return store.searcher()


def catch_up(store: IndexStore) -> None:
    """Apply the outbox rows this node has not seen (try-lock: if another process is
    applying them, search what is there), asking the database when it is due (recheck)."""
    key = ("outbox", str(store.root))
    if not rechecks.due(key):
        return
    asked_at = time.monotonic()
    if sync.catch_up(store, timeout=0) is not None:
        rechecks.answered(key, asked_at)
