"""Writing a complete index into a fresh directory, in one process or several.

A large catalogue is split into contiguous runs of documents, one per worker process: each
worker reads its own documents from the database, analyses them and writes one Whoosh
segment; the parent lists the segments in order in the index's table of contents. The
documents keep the numbers a single writer would give them (ties in score are broken by
document number), and a search reads the segments as one index.

Workers are forked: they start with this process's jieba dictionary, the catalogue words it
has learned and the pinyin readings, so they cut text exactly as the parent would (a
spawned worker would start with none of them). They open connections of their own; the
parent's are left alone. A worker's failure (a full disk...) is sent back and raised here
as it was raised there; the caller removes the half-built directory."""

import multiprocessing
import os
import queue as queue_module
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

from app.db import db
from app.search import documents

# (documents, kind, total) -> the same documents, e.g. wrapped in a progress bar
Progress = Callable[[Iterable[Any], str, int], Iterable[Any]]
# Below this many documents one process writes the index: starting workers (a fork, a
# connection each) costs more than it saves, and the result is one segment.
PARALLEL_FROM = 20_000
REPORT_EVERY = 500  # documents between a worker's progress messages
WORKER_POLL_S = 1.0  # how often the parent checks that its workers are alive


@dataclass(frozen=True)
class Run:
    """Documents of one kind with ids from `first` to `last` (inclusive), in id order."""

    kind: str
    first: int
    last: int
    count: int


def processes() -> int:
    """Worker processes for a large rebuild (config SEARCH_REBUILD_PROCESSES; 0 or unset:
    one per CPU, at most 4, as each holds up to REBUILD_MEMORY_MB of postings)."""
    configured = current_app.config.get("SEARCH_REBUILD_PROCESSES")
    return int(configured) if configured else min(4, os.cpu_count() or 1)


def plan(parts: int) -> list[list[Run]]:
    """The published documents in index order, cut into `parts` contiguous shares of
    about equal size (fewer when there are fewer kinds' worth of documents)."""
    ids = {}
    for kind in documents.MODELS:
        rows = documents.published_query(kind).order_by(None).options().subquery()
        ids[kind] = list(db.session.scalars(select(rows.c.id)))
    total = sum(len(v) for v in ids.values())
    share = -(-total // parts)  # ceiling
    shares: list[list[Run]] = [[]]
    room = share
    for kind, kind_ids in ids.items():
        kind_ids.sort()
        # A kind whose order is not its ids' (counties: their sort order) stays whole.
        whole = kind in documents.ORDERED_OTHERWISE
        start = 0
        while start < len(kind_ids):
            if room == 0:
                shares.append([])
                room = share
            end = len(kind_ids) if whole else min(len(kind_ids), start + room)
            chunk = kind_ids[start:end]
            shares[-1].append(Run(kind, chunk[0], chunk[-1], len(chunk)))
            room = max(0, room - len(chunk))
            start = end
    return [s for s in shares if s]


def write_index(
    new_dir: Path,
    schema,
    indexable: Callable[[dict], dict],
    memory_mb: int,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Create an index in new_dir holding every published document (`indexable` turns a
    document into the writer's fields). Returns documents written per kind."""
    ix = whoosh_index.create_in(str(new_dir), schema)
    try:
        workers = processes()
        counts = documents.count_published()
        if workers < 2 or sum(counts.values()) < PARALLEL_FROM:
            return _write_alone(ix, indexable, memory_mb, progress)
        return _write_in_parallel(ix, plan(workers), indexable, memory_mb, counts, progress)
    finally:
        ix.close()


def _write_alone(ix, indexable, memory_mb: int, progress: Progress | None) -> dict[str, int]:
    counts: dict[str, int] = {}
    writer = ix.writer(limitmb=memory_mb)
    try:
        for kind in documents.MODELS:
            counts[kind] = 0
            docs = documents.iter_documents(kind)
            total = documents.count_published()[kind] if progress else 0
            for _key, doc in progress(docs, kind, total) if progress else docs:
                writer.add_document(**indexable(doc))
                counts[kind] += 1
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    return counts


def _write_in_parallel(
    ix,
    shares: list[list[Run]],
    indexable,
    memory_mb: int,
    counts: dict[str, int],
    progress: Progress | None,
) -> dict[str, int]:
    context = multiprocessing.get_context("fork")
    messages = context.Queue()
    workers = [
        context.Process(
            target=_worker,
            args=(number, ix, runs, indexable, memory_mb, messages),
            name=f"search-rebuild-{number}",
            daemon=True,
        )
        for number, runs in enumerate(shares)
    ]
    for worker in workers:
        worker.start()
    try:
        inbox = _Inbox(messages, workers)
        if progress:
            for kind in documents.MODELS:
                for _ in progress(inbox.documents_of(kind, counts[kind]), kind, counts[kind]):
                    pass
        segments = inbox.segments()
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
    # The parent's writer only records the workers' segments (its own stays empty).
    writer = ix.writer()
    try:
        writer._close_segment()
        writer._commit_toc(segments)
    finally:
        writer._finish()
    written = inbox.written
    return {kind: written.get(kind, 0) for kind in documents.MODELS}


class _Inbox:
    """The workers' messages: ("docs", number, kind, n) now and then, then ("segment",
    number, segment) or ("error", number, exception)."""

    def __init__(self, messages, workers) -> None:
        self.messages = messages
        self.workers = workers
        self.written: Counter = Counter()
        self.reported: Counter = Counter()  # not yet handed to the progress bar
        self.finished: dict[int, Any] = {}

    def _next(self) -> None:
        while True:
            try:
                message = self.messages.get(timeout=WORKER_POLL_S)
                break
            except queue_module.Empty:
                for number, worker in enumerate(self.workers):
                    if number not in self.finished and worker.exitcode not in (None, 0):
                        raise RuntimeError(
                            f"search rebuild worker {number} died (exit code {worker.exitcode})"
                        ) from None
        tag, number, *rest = message
        if tag == "error":
            raise rest[0]
        if tag == "docs":
            kind, n = rest
            self.written[kind] += n
            self.reported[kind] += n
        else:
            self.finished[number] = rest[0]

    def documents_of(self, kind: str, total: int) -> Iterator[None]:
        """One item per document of this kind written, as the workers report them."""
        handed = 0
        while True:
            if self.reported[kind]:
                n = self.reported.pop(kind)
                handed += n
                yield from repeat(None, n)
            elif handed >= total or len(self.finished) == len(self.workers):
                return
            else:
                self._next()

    def segments(self) -> list:
        while len(self.finished) < len(self.workers):
            self._next()
        return [self.finished[number] for number in range(len(self.workers))]


def _worker(number: int, ix, runs: list[Run], indexable, memory_mb: int, messages) -> None:
    """In a forked process: write these runs' documents as one segment and send it."""
    try:
        _fresh_connections()
        writer = SegmentWriter(ix, _lk=False, limitmb=memory_mb)
        for run in runs:
            done = 0
            for _key, doc in documents.iter_documents(run.kind, id_range=(run.first, run.last)):
                writer.add_document(**indexable(doc))
                done += 1
                if done % REPORT_EVERY == 0:
                    messages.put(("docs", number, run.kind, REPORT_EVERY))
            messages.put(("docs", number, run.kind, done % REPORT_EVERY))
        messages.put(("segment", number, writer._finalize_segment()))
    except BaseException as exc:  # noqa: BLE001 - sent to the parent, which raises it
        messages.put(("error", number, _sendable(exc)))
    finally:
        messages.close()
        messages.join_thread()


def _fresh_connections() -> None:
    """Connections of this worker's own: the inherited ones belong to the parent (used
    from two processes, a connection's state would be shared by both). The inherited
    session is kept referenced so it is never closed or rolled back from here."""
    global _inherited_session
    _inherited_session = db.session.registry()
    db.engine.dispose(close=False)
    db.session.registry.clear()


_inherited_session: Any = None


def _sendable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling (OSError with its errno: the caller
    tells a full disk from a bug), else a RuntimeError with its text."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - anything unpicklable is described instead
        return RuntimeError(f"search rebuild worker failed: {exc!r}")
