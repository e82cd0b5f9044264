"""Keeping the local index true to the database: apply the outbox (one writer per node),
rebuild from scratch into a new directory and swap it in, compare and repair."""

import contextlib
import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, delete, select, tuple_

from app.db import db
from app.search import build, documents, text
from app.search.documents import DocKey
from app.search.outbox import SearchOutbox, SearchPinyin, pinyin_row, upsert_pinyin
from app.search.schema import build_schema
from app.search.store import IndexState, IndexStore, IndexUnavailable, LockBusy, whoosh_call

log = logging.getLogger(__name__)

# A transaction may take an outbox id and commit after a later one has been applied. Rows
# younger than this stay listed in the index state so such late commits are still seen.
LATE_COMMIT_GRACE = timedelta(seconds=60)
WRITER_MEMORY_MB = 128
# A full rebuild sorts all postings in memory rather than in pickled runs on disk (10,000
# documents: ~1.6 million postings, 3 runs at 128 MB; spilling them cost a quarter of the
# rebuild). Larger catalogues still spill, in runs of this size; each of a parallel
# rebuild's workers (app.search.build) has this much.
REBUILD_MEMORY_MB = 512

WHOOSH_INDEX_NAME = "MAIN"  # Whoosh's default; its writer pools postings in MAIN.tmp/
Progress = build.Progress


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    done = set(state.recent) | {row.id for row in applied}
    return IndexState(horizon, sorted(i for i in done if i > horizon), state.built_at)


def document_digest(doc: dict) -> str:
    payload = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(payload.encode(), digest_size=12).hexdigest()


def _indexable(doc: dict) -> dict:
    return doc | {"digest": document_digest(doc)}


def write_documents(writer, store: IndexStore, ix_dir: Path, keys: set[DocKey]) -> int:
    """Re-index these keys from the database: published ones updated, others deleted."""
    written = 0
    for kind, ids in documents.with_dependants(keys).items():
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


# Built once: asked before every search. SQLite binds at most 32,766 parameters (999
# before 3.32); a longer list of applied rows is compared in Python instead.
MAX_APPLIED_PARAMETERS = 900
_FIRST_PENDING = (
    select(SearchOutbox.id)
    .where(
        SearchOutbox.id > bindparam("horizon"),
        SearchOutbox.id.not_in(bindparam("applied", expanding=True)),
    )
    .limit(1)
)


def has_pending(state: IndexState) -> bool:
    """Whether any outbox row is not applied yet, asked before every search: the database
    looks for one (until the next change advances the horizon, every row of a recent seed
    or rebuild is above it; loading them all cost more than the search itself)."""
    if len(state.recent) > MAX_APPLIED_PARAMETERS:  # after a bulk import: too many to bind
        applied = set(state.recent)
        ids = db.session.scalars(select(SearchOutbox.id).where(SearchOutbox.id > state.horizon))
        return any(i not in applied for i in ids)
    params = {"horizon": state.horizon, "applied": state.recent}
    return db.session.execute(_FIRST_PENDING, params).first() is not None


def catch_up(store: IndexStore, timeout: float = 0.0) -> int | None:
    """Apply outbox rows this node has not seen. Returns how many rows were applied, or
    None when another process holds the writer lock (it is applying them)."""
    if not has_pending(store.read_state()):
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
        _write_keys(store, ix_dir, {DocKey(r.kind, r.obj_id) for r in rows})
    store.write_state(advance(state, rows, datetime.now(UTC)), ix_dir)
    return len(rows)


def _write_keys(store: IndexStore, ix_dir: Path, keys: set[DocKey]) -> None:
    """Re-index these keys in the live index (writer lock held). On any failure (a full
    disk...) nothing of the attempt stays: Whoosh's cancel leaves its pool directory."""
    ix = store.open_index(ix_dir)
    writer = None
    try:
        writer = ix.writer(limitmb=WRITER_MEMORY_MB)
        write_documents(writer, store, ix_dir, keys)
        writer.commit()
    except BaseException:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.cancel()
        shutil.rmtree(ix_dir / f"{WHOOSH_INDEX_NAME}.tmp", ignore_errors=True)
        raise
    finally:
        ix.close()


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


def rebuild(
    store: IndexStore, progress: Progress | None = None, lock_timeout: float = 60.0
) -> RebuildSummary:
    """Build a complete index from the database in a new directory, then swap it in under
    the writer lock and apply what changed meanwhile. Readers never see a partial index."""
    started, started_at = time.monotonic(), time.time()
    summary = RebuildSummary()
    with store.rebuild_lock():
        text.jieba_instance(store.jieba_dir)
        store.discard_stale_builds()
        now = datetime.now(UTC)
        state = advance(IndexState(built_at=time.time()), [], now)
        # Rows committed now are reflected in what we read next; list them as applied.
        state.recent = sorted(
            db.session.scalars(select(SearchOutbox.id).where(SearchOutbox.id > state.horizon))
        )
        new_dir = store.new_dir()
        try:
            summary.counts = _build_into(store, new_dir, state, progress)
            with store.writer_lock(lock_timeout):
                store.swap_in(new_dir)
                summary.applied_after = _apply_pending(store)
        except BaseException:
            # A full disk or any other failure: no half-built directory stays behind (the
            # live index, if any, is untouched until the swap).
            if store.current_name() != new_dir.name:
                shutil.rmtree(new_dir, ignore_errors=True)
            raise
        summary.directory = new_dir.name
        store.clear_repair(since=started_at)
        refresh_fallback()
    summary.seconds = time.monotonic() - started
    return summary


def _build_into(
    store: IndexStore, new_dir: Path, state: IndexState, progress: Progress | None
) -> dict[str, int]:
    learn_readings()
    store.add_words(documents.catalogue_words(), new_dir)
    counts = build.write_index(new_dir, build_schema(), _indexable, REBUILD_MEMORY_MB, progress)
    store.write_state(state, new_dir)
    return counts


def ensure_index(store: IndexStore) -> str:
    """Leave this node with a complete, current index: rebuild when it is missing, damaged
    or marked for repair, else apply the outbox. Returns "rebuilt" or "current". Called at
    the end of `flask seed` (also when it skips) so a site answers at full quality from its
    first search."""
    try:
        if store.repair_requested():
            raise IndexUnavailable("a repair was requested")
        report = check(store)
        if report.ok:
            catch_up(store, timeout=60)
            if not fallback_filled():
                refresh_fallback()
            return "current"
    except Exception as exc:  # noqa: BLE001 - whatever is wrong, a rebuild replaces it
        log.warning("search index needs a rebuild: %r", exc)
        db.session.rollback()
    rebuild(store)
    return "rebuilt"


@dataclass
class CheckReport:
    """What `flask search check` prints, for either engine: the engine, documents per kind,
    and the drift (keys "kind:id") between the engine's documents and the database."""

    engine: str = "whoosh"
    counts: dict[str, int] = field(default_factory=dict)  # indexed documents per kind
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
    """Compare every document in the index with what the database says it should be.
    Raises IndexUnavailable when the index cannot be read at all (missing, or any file
    damaged); `flask search check --fix` then rebuilds it."""
    text.jieba_instance(store.jieba_dir)
    learn_readings()
    report = compare(read_indexed_digests(store), expected_digests())
    if fix and not report.ok:
        keys = {DocKey.parse(k) for k in (*report.missing, *report.extra, *report.stale)}
        with store.writer_lock(60.0):
            _write_keys(store, store.current_dir(), keys)
        report.fixed = True
    return report


def expected_digests() -> dict[str, str]:
    """Key ("kind:id") -> digest of every document the database says should be indexed."""
    return {
        str(key): document_digest(doc)
        for kind in documents.MODELS
        for key, doc in documents.iter_documents(kind)
    }


def compare(
    indexed: dict[str, str | None], expected: dict[str, str], engine: str = "whoosh"
) -> CheckReport:
    """The drift between an engine's documents ("kind:id" -> digest) and the database's."""
    report = CheckReport(engine=engine, indexed=len(indexed), expected=len(expected))
    for key in indexed:
        kind = key.split(":", 1)[0]
        report.counts[kind] = report.counts.get(kind, 0) + 1
    report.missing = sorted(set(expected) - set(indexed))
    report.extra = sorted(set(indexed) - set(expected))
    report.stale = sorted(k for k in set(expected) & set(indexed) if expected[k] != indexed[k])
    return report


def read_indexed_digests(store: IndexStore) -> dict[str, str | None]:
    """Every stored document's key and digest, reading every segment through (a damaged
    file fails here). Any failure becomes IndexUnavailable with the reason."""
    try:
        ix_dir = store.current_dir()
        store.verify_words(ix_dir, store.read_state(ix_dir))
        store.load_words(ix_dir)  # segment exactly as the index was built
        ix = store.open_index(ix_dir)
        try:
            return whoosh_call(f"index {ix_dir.name} damaged", lambda: _read_all(ix))
        finally:
            ix.close()
    except IndexUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - Whoosh raises anything on damaged bytes
        raise IndexUnavailable(f"index damaged: {exc!r}") from exc


def _read_all(ix) -> dict[str, str | None]:
    with ix.searcher() as searcher:
        indexed = {f["key"]: f.get("digest") for f in searcher.all_stored_fields()}
        # Postings live apart from stored fields: walk every term's postings too.
        reader = searcher.reader()
        for fieldname in ("name", "pinyin", "suggest"):
            for term in reader.lexicon(fieldname):
                reader.postings(fieldname, term).all_ids()
    return indexed


def refresh_fallback() -> int:
    """Rewrite search_pinyin for every listing (the flush hook keeps it in step after that;
    this fills it after the migration and repairs it with every rebuild). Commits: it runs
    from commands and the rebuild thread, never inside a request. Returns the row count."""
    learn_readings()
    rows = [
        pinyin_row(kind, obj)
        for kind, model in documents.MODELS.items()
        for obj in db.session.scalars(select(model))
    ]
    keep = {(row["kind"], row["obj_id"]) for row in rows}
    stale = [
        key
        for key in db.session.execute(select(SearchPinyin.kind, SearchPinyin.obj_id))
        if tuple(key) not in keep
    ]
    if stale:
        db.session.execute(
            delete(SearchPinyin).where(
                tuple_(SearchPinyin.kind, SearchPinyin.obj_id).in_([tuple(k) for k in stale])
            )
        )
    upsert_pinyin(db.session.connection(), rows)
    db.session.commit()
    return len(rows)


def fallback_filled() -> bool:
    return db.session.scalar(select(SearchPinyin.obj_id).limit(1)) is not None or not any(
        db.session.scalar(select(model.id).limit(1)) for model in documents.MODELS.values()
    )


def outbox_backlog(store: IndexStore) -> int:
    return len(pending_rows(store.read_state()))
