"""A rebuild by several processes (app.search.build): the same index as one writer makes
(documents, their order, scores, facets), progress reported once per document, and a
worker's failure raised in the parent with nothing of the attempt left behind."""

import errno
import os

import pytest
from whoosh.writing import SegmentWriter

from app.search import SearchFilters, build, documents, lifecycle, service, sync
from tests.search_helpers import serve_indexed

QUERIES = ["文昌鸡", "鸡", "咖啡", "wenchang", "wcj", "coffee", "green tea", "海南 芒果"]


@pytest.fixture
def app(database_factory, tmp_path, media_root):
    yield from serve_indexed(database_factory, tmp_path, media_root)


@pytest.fixture
def parallel(app, monkeypatch):
    """Every catalogue counts as large: the seed's is written by `processes` workers."""
    monkeypatch.setattr(build, "PARALLEL_FROM", 0)

    def use(processes: int) -> None:
        app.config["SEARCH_REBUILD_PROCESSES"] = processes

    return use


def _index_as_searched() -> dict:
    """What searches see: stored keys in document order, and each query's ranked keys,
    scores and facet counts."""
    store = lifecycle.get_store()
    searcher = lifecycle.ready_searcher(store)
    answers = {}
    for query in QUERIES:
        results = service.search(query, SearchFilters(), 1, 24)
        assert results.source == "index"
        built = service.build_query(query, True, searcher.reader())
        scores = [(hit["key"], round(hit.score, 9)) for hit in searcher.search(built, limit=None)]
        answers[query] = (
            [str(hit.key) for hit in results.hits],
            results.total,
            {name: [(f.value, f.count) for f in values] for name, values in results.facets.items()},
            sorted(scores),
        )
    keys = [fields["key"] for fields in searcher.all_stored_fields()]
    return {"keys": keys, "answers": answers, "segments": len(searcher.reader().leaf_readers())}


@pytest.mark.parametrize("processes", [2, 3])
def test_several_processes_build_the_index_one_writer_builds(app, parallel, processes):
    alone = _index_as_searched()
    assert alone["segments"] == 1
    parallel(processes)
    summary = sync.rebuild(lifecycle.get_store())
    together = _index_as_searched()
    assert together["segments"] == processes
    assert together["keys"] == alone["keys"]
    assert together["answers"] == alone["answers"]
    assert summary.counts == documents.count_published()
    assert sync.check(lifecycle.get_store()).ok


@pytest.mark.parametrize("parts", [1, 2, 3, 7])
def test_plan_shares_every_document_once_in_index_order(app, parts):
    shares = build.plan(parts)
    runs = [run for share in shares for run in share]
    counts = documents.count_published()
    assert len(shares) == min(parts, len(shares)) and all(shares)
    for kind in documents.MODELS:
        covered = [run for run in runs if run.kind == kind]
        assert sum(run.count for run in covered) == counts[kind]
        assert all(a.last < b.first for a, b in zip(covered, covered[1:], strict=False))
    assert len([run for run in runs if run.kind == "county"]) == 1  # kept whole
    sizes = [sum(run.count for run in share) for share in shares]
    assert max(sizes) - min(sizes) <= counts["county"] + sum(counts.values()) // parts


def test_progress_counts_every_document_once_per_kind(app, parallel):
    parallel(2)
    seen: dict[str, int] = {}

    def progress(docs, kind, total):
        seen[kind] = total
        for doc in docs:
            seen[kind] -= 1
            yield doc

    summary = sync.rebuild(lifecycle.get_store(), progress=progress)
    assert seen == dict.fromkeys(documents.MODELS, 0)
    assert sum(summary.counts.values()) > 100


class _FullDisk(SegmentWriter):
    def add_document(self, **fields):
        raise OSError(errno.ENOSPC, "No space left on device")


class _Killed(SegmentWriter):
    def add_document(self, **fields):
        os._exit(9)  # as the kernel's out-of-memory killer would end it


@pytest.mark.parametrize(
    ("writer", "raised", "message"),
    [(_FullDisk, OSError, "No space left"), (_Killed, RuntimeError, "exit code 9")],
    ids=["disk full", "worker killed"],
)
def test_a_failing_worker_fails_the_rebuild_and_leaves_the_live_index(
    app, parallel, monkeypatch, writer, raised, message
):
    store = lifecycle.get_store()
    live = store.current_name()
    before = _index_as_searched()
    parallel(2)
    monkeypatch.setattr(build, "SegmentWriter", writer)
    with pytest.raises(raised, match=message) as failure:
        sync.rebuild(store)
    if raised is OSError:
        assert failure.value.errno == errno.ENOSPC  # the CLI's "could not be written"
    assert store.current_name() == live
    assert [p.name for p in store.root.glob("ix-*")] == [live], "no half-built directory"
    assert _index_as_searched() == before
