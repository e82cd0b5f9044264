"""Keeping the local index true to the database: apply the outbox (one writer per node),
rebuild from scratch into a new directory and swap it in, compare and repair."""
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from app.db import db
from app.search import documents, text
from app.search.documents import DocKey
from app.search.outbox import SearchOutbox
from app.search.schema import build_schema
from app.search.store import IndexState, IndexStore, LockBusy

log = logging.getLogger(__name__)

# A transaction may take an outbox id and commit after a later one has been applied. Rows
# younger than this stay listed in the index state so such late commits are still seen.
LATE_COMMIT_GRACE = timedelta(seconds=60)
WRITER_MEMORY_MB = 128
# A full rebuild sorts all postings in memory rather than in pickled runs on disk (10,000
# documents: ~1.6 million postings, 3 runs at 128 MB; spilling them cost a quarter of the
# rebuild). Larger catalogues still spill, in runs of this size.
REBUILD_MEMORY_MB = 512

Progress = Callable[[Iterable], Iterable]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def pending_rows(state: IndexState) -> list[SearchOutbox]:
    rows = db.session.scalars(
        select(SearchOutbox).where(SearchOutbox.id > state.horizon).order_by(SearchOutbox.id)
    ).all()
    applied = set(state.recent)
    return [row for row in rows if row.id not in applied]


def advance(state: IndexState, applied: list[SearchOutbox], now: datetime) -> IndexState:
    rows = db.session.execute(
        select(SearchOutbox.id, SearchOutbox.created_at).where(SearchOutbox.id > state.horizon)
    ).all()
    cutoff = now - LATE_COMMIT_GRACE
    old = [row.id for row in rows if _aware(row.created_at) < cutoff]
    horizon = max([state.horizon, *old])
    done = (set(state.recent) | {row.id for row in applied})
    return IndexState(horizon, sorted(i for i in done if i > horizon), state.built_at)


def document_digest(doc: dict) -> str:
    payload = json.dumps(doc, sort_keys=True,
                         ensure_ascii=False, default=str)
    return hashlib.blake2b(payload.encode(), digest_size=12).hexdigest()


def _indexable(doc: dict) -> dict:
    return doc | {"digest": document_digest(doc)}


def write_documents(writer, store: IndexStore, ix_dir: Path, keys: set[DocKey]) -> int:
    """Re-index these keys from the database: published ones updated, others deleted."""
    by_kind: dict[str, set[int]] = {}
    for key in keys:
        by_kind.setdefault(key.kind, set()).add(key.obj_id)
    for kind, ids in list(by_kind.items()):
        for extra in documents.dependent_keys(kind, ids):
            by_kind.setdefault(extra.kind, set()).add(extra.obj_id)
    written = 0
    for kind, ids in by_kind.items():
        docs = dict(documents.iter_documents(kind, ids))
        store.add_words([d["name_chars"] for d in docs.values()], ix_dir)
        for obj_id in ids:
            key = DocKey(kind, obj_id)
            if key in docs:
                writer.update_document(**_indexable(docs[key]))
            else:
                writer.delete_by_term("key", str(key))
            written += 1
    return written


def catch_up(store: IndexStore, timeout: float = 0.0) -> int | None:
    """Apply outbox rows this node has not seen. Returns how many rows were applied, or
    None when another process holds the writer lock (it is applying them)."""
    if not pending_rows(store.read_state()):
        return 0
    try:
        with store.writer_lock(timeout):
            return _apply_pending(store)
    except LockBusy:
        return None


def _apply_pending(store: IndexStore) -> int:
    ix_dir = store.current_dir()
    state = store.read_state(ix_dir)  # re-read: another process may have just applied
    rows = pending_rows(state)
    if rows:
        text.jieba_instance(store.jieba_dir)
        store.load_words(ix_dir)
        learn_readings()
        ix = store.open_index(ix_dir)
        writer = ix.writer(limitmb=WRITER_MEMORY_MB)
        try:
            write_documents(writer, store, ix_dir, {DocKey(r.kind, r.obj_id) for r in rows})
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        ix.close()
    store.write_state(advance(state, rows, datetime.now(timezone.utc)), ix_dir)
    return len(rows)


def optimize(store: IndexStore, timeout: float = 0.0) -> bool:
    """Merge segments into one (7 segments answer 3x slower than 1). Writer lock held."""
    try:
        with store.writer_lock(timeout):
            ix = store.open_index()
            if len(ix._segments()) > 1:
                ix.optimize()
                ix.close()
                return True
            ix.close()
    except LockBusy:
        pass
    return False


def learn_readings() -> None:
    text.learn_place_readings(documents.place_names())


@dataclass
class RebuildSummary:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    applied_after: int = 0
    directory: str = ""


def rebuild(store: IndexStore, progress: Progress | None = None,
            lock_timeout: float = 60.0) -> RebuildSummary:
    """Build a complete index from the database in a new directory, then swap it in under
    the writer lock and apply what changed meanwhile. Readers never see a partial index."""
    started = time.monotonic()
    summary = RebuildSummary()
    with store.rebuild_lock():
        text.jieba_instance(store.jieba_dir)
        store.discard_stale_builds()
        now = datetime.now(timezone.utc)
        state = advance(IndexState(built_at=time.time()), [], now)
        # Rows committed now are reflected in what we read next; list them as applied.
        state.recent = sorted(db.session.scalars(
            select(SearchOutbox.id).where(SearchOutbox.id > state.horizon)))
        new_dir = store.new_dir()
        from whoosh import index as whoosh_index

        learn_readings()
        store.add_words(documents.catalogue_words(), new_dir)
        ix = whoosh_index.create_in(str(new_dir), build_schema())
        writer = ix.writer(limitmb=REBUILD_MEMORY_MB)
        try:
            for kind in documents.MODELS:
                summary.counts[kind] = 0
                docs = documents.iter_documents(kind)
                total = documents.count_published()[kind] if progress else 0
                for _key, doc in (progress(docs, kind, total) if progress else docs):
                    writer.add_document(**_indexable(doc))
                    summary.counts[kind] += 1
        except BaseException:
            writer.cancel()
            raise
        writer.commit(optimize=True)
        ix.close()
        store.write_state(state, new_dir)
        with store.writer_lock(lock_timeout):
            store.swap_in(new_dir)
            summary.applied_after = _apply_pending(store)
        summary.directory = new_dir.name
    summary.seconds = time.monotonic() - started
    return summary


@dataclass
class CheckReport:
    missing: list[str] = field(default_factory=list)  # published, not in the index
    extra: list[str] = field(default_factory=list)  # in the index, not published
    stale: list[str] = field(default_factory=list)  # indexed text differs from the database
    indexed: int = 0
    expected: int = 0
    fixed: bool = False

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.stale)


def check(store: IndexStore, fix: bool = False) -> CheckReport:
    """Compare every document in the index with what the database says it should be."""
    text.jieba_instance(store.jieba_dir)
    learn_readings()
    report = CheckReport()
    store.load_words(store.current_dir())  # segment exactly as the index was built
    ix = store.open_index()
    with ix.searcher() as searcher:
        indexed = {f["key"]: f.get("digest") for f in searcher.all_stored_fields()}
    ix.close()
    expected: dict[str, str] = {}
    for kind in documents.MODELS:
        for key, doc in documents.iter_documents(kind):
            expected[str(key)] = document_digest(doc)
    report.indexed, report.expected = len(indexed), len(expected)
    report.missing = sorted(set(expected) - set(indexed))
    report.extra = sorted(set(indexed) - set(expected))
    report.stale = sorted(k for k in set(expected) & set(indexed) if expected[k] != indexed[k])
    if fix and not report.ok:
        keys = {DocKey.parse(k) for k in (*report.missing, *report.extra, *report.stale)}
        with store.writer_lock(60.0):
            ix_dir = store.current_dir()
            ix = store.open_index(ix_dir)
            writer = ix.writer(limitmb=WRITER_MEMORY_MB)
            write_documents(writer, store, ix_dir, keys)
            writer.commit()
            ix.close()
        report.fixed = True
    return report


def outbox_backlog(store: IndexStore) -> int:
    return len(pending_rows(store.read_state()))
