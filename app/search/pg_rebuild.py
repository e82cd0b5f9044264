"""Rebuilding the PostgreSQL engine's documents (app/search/postgresql.py) at catalogue scale:
100,000 documents in under a minute (issue 10).

Most of a rebuild is analysis in Python (jieba, pinyin, stems: postgresql.document_row).
From PARALLEL_FROM documents of a kind on, a pool of processes analyses chunks of ids,
each worker reading its listings on a connection of its own (forked after jieba has
learned the catalogue, so every worker segments alike); the rebuilding process copies
their rows in (COPY, one statement per batch) inside its one transaction, so readers
keep the old documents until it commits."""

import multiprocessing
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from flask import current_app
from psycopg.types.json import Jsonb
from sqlalchemy import select
from sqlalchemy.engine import Connection

from app.db import db
from app.search import documents, sync
from app.search.postgresql import count_terms, document_row

PARALLEL_FROM = 5_000  # documents of one kind: below, this process alone (a pool costs more)
CHUNK = 1_000  # ids a worker analyses per task
WORKERS = max(1, min(4, os.cpu_count() or 1))
COPY_BATCH = 2_000  # rows per COPY statement

# A rebuild's rows carry no writer (written_by 0): their words are the catalogue's, which
# every process reads whole at start-up (postgresql.learn_all_catalogue_words), and edits
# write theirs with their own transaction's id. With the rebuild's id, every process would
# read the words of every document again after its next catalogue change.
REBUILT = 0

# search_documents' columns in COPY order.
COLUMNS = (
    "kind",
    "obj_id",
    "vector",
    "scoring",
    "length",
    "counties",
    "category",
    "regimes",
    "label",
    "name",
    "body",
    "spell",
    "digest",
    "words",
    "written_by",
)


def rebuild(connection: Connection, progress: sync.Progress | None) -> dict[str, int]:
    """Write every published document into the (emptied, locked) search_documents and
    count search_terms, on the rebuild's connection. Returns documents written per kind."""
    counts: dict[str, int] = {}
    terms: Counter = Counter()
    pool = None
    try:
        for kind in documents.MODELS:
            ids = published_ids(kind)
            if len(ids) >= PARALLEL_FROM and WORKERS > 1 and pool is None:
                pool = _start_pool()
            rows: Iterable[dict] = _analysed(kind, ids, pool)
            if progress:
                rows = progress(rows, kind, len(ids))
            counts[kind] = 0
            for batch in _batches(rows, COPY_BATCH):
                for row in batch:
                    terms.update(row.pop("terms"))
                copy_rows(connection, batch, REBUILT)
                counts[kind] += len(batch)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    count_terms(connection, terms)
    return counts


def published_ids(kind: str) -> list[int]:
    """The ids of one kind's published rows, in order (documents.published_query)."""
    found = documents.published_query(kind).subquery()
    return list(db.session.scalars(select(found.c.id).order_by(found.c.id)))


def _analysed(kind: str, ids: list[int], pool) -> Iterator[dict]:
    chunks = [(kind, ids[start : start + CHUNK]) for start in range(0, len(ids), CHUNK)]
    if pool is None or len(ids) < PARALLEL_FROM:
        for chunk in chunks:
            yield from analyse_chunk(chunk)
        return
    for rows in pool.imap(analyse_chunk, chunks):
        yield from rows


def analyse_chunk(chunk: tuple[str, list[int]]) -> list[dict]:
    """The rows of these documents (in a worker, or in the rebuilding process)."""
    kind, ids = chunk
    return [document_row(doc) for _key, doc in documents.iter_documents(kind, ids)]


def _start_pool():
    """Forked workers: they inherit jieba's learned words and this app; each opens its
    own connections (the rebuild's connection stays this process's alone)."""
    return multiprocessing.get_context("fork").Pool(
        WORKERS,
        initializer=_start_worker,
        initargs=(current_app._get_current_object(),),  # type: ignore[attr-defined]
    )


def _start_worker(app) -> None:
    # The inherited pool's connections belong to the parent: forget them unclosed
    # (psycopg does not close a connection in a process other than its own).
    with app.app_context():
        db.engine.dispose(close=False)
    app.app_context().push()  # a context, and so a session, of the worker's own


def copy_rows(connection: Connection, rows: Iterable[dict], written_by: int) -> None:
    """COPY rows (document_row's, "terms" removed) into search_documents."""
    raw: Any = connection.connection.driver_connection
    statement = f"COPY search_documents ({', '.join(COLUMNS)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            values = row | {"label": Jsonb(row["label"]), "written_by": written_by}
            copy.write_row([values[column] for column in COLUMNS])


def _batches(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
