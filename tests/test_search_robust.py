"""When the index breaks, search must not: every file of the index damaged in every way
(truncated, zero-filled, overwritten with random bytes, deleted) and every write failing
(disk full, I/O error, read-only filesystem) gives answers from the database with a
notice, an error in the log, `search check` reporting the damage, and full-quality search
again after `search check --fix`. Also: the fallback understands pinyin and initials, and
`flask seed` leaves a built index."""

import errno
import logging
import os
import random
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db import db
from app.models import Product
from app.search import SearchFilters, lifecycle, service, sync
from tests.search_helpers import first_keys, serve_indexed


@pytest.fixture
def app(database_factory, tmp_path, media_root):
    yield from serve_indexed(database_factory, tmp_path, media_root)


# --- damage to each file of the index ------------------------------------------------------


def _files(store, kind: str) -> list[Path]:
    ix_dir = store.root / store.current_name()
    found = {
        "segment": sorted(ix_dir.glob("*.seg")),
        "toc": sorted(ix_dir.glob("_*.toc")),
        "state": [ix_dir / "state.json"],
        "current": [store.root / "CURRENT"],
        "words": [ix_dir / "words.txt"],
    }[kind]
    assert found and all(p.exists() for p in found), kind
    return found


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _truncate_to_nothing(path: Path) -> None:
    path.write_bytes(b"")


def _zero_fill(path: Path) -> None:
    path.write_bytes(b"\0" * path.stat().st_size)


def _random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(8).randbytes(max(64, path.stat().st_size)))


def _overwrite_tail(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2 :] = random.Random(9).randbytes(len(data) - len(data) // 2)
    path.write_bytes(bytes(data))


def _delete(path: Path) -> None:
    path.unlink()


DAMAGE = {
    "truncated": _truncate,
    "emptied": _truncate_to_nothing,
    "zero-filled": _zero_fill,
    "random": _random_bytes,
    "tail-overwritten": _overwrite_tail,
    "deleted": _delete,
}
FILES = ("segment", "toc", "state", "current", "words")
CASES = [(f, d) for f in FILES for d in DAMAGE]


def _assert_fallback_answers(client, logs) -> None:
    html = client.get("/search?q=文昌鸡&lang=en")
    assert html.status_code == 200
    body = html.get_data(as_text=True)
    assert "/products/wenchang-chicken" in body
    assert "simpler results" in body  # the visible notice
    for query in ("文昌", "wench", "wcj"):
        suggest = client.get(f"/search/suggest?q={query}")
        assert suggest.status_code == 200, query
        urls = [s["url"] for s in suggest.get_json()["suggestions"]]
        assert "/products/wenchang-chicken" in urls, (query, urls)
    pinyin = client.get("/search?q=wenchangji&lang=en").get_data(as_text=True)
    assert "/products/wenchang-chicken" in pinyin and "simpler results" in pinyin
    errors = [
        r for r in logs.records if r.levelno >= logging.ERROR and r.name == "app.search.lifecycle"
    ]
    assert errors and errors[0].exc_info, "the failure is logged with its traceback"


def _assert_repaired(runner) -> None:
    fixed = runner.invoke(args=["search", "check", "--fix"])
    assert fixed.exit_code == 0, fixed.output
    assert fixed.exception is None
    again = runner.invoke(args=["search", "check"])
    assert again.exit_code == 0 and "agree" in again.output, again.output
    assert first_keys("文昌鸡", 1) == ["product:wenchang-chicken"]
    assert first_keys("wenchangji", 1) == ["product:wenchang-chicken"]
    assert first_keys("wcj", 1) == ["product:wenchang-chicken"]


@pytest.mark.parametrize(("file_kind", "damage"), CASES, ids=[f"{f}-{d}" for f, d in CASES])
def test_damaged_index_file_degrades_reports_and_repairs(
    app, client, runner, logs, file_kind, damage
):
    store = lifecycle.get_store()
    assert first_keys("文昌鸡", 1) == ["product:wenchang-chicken"]  # a searcher is open
    store.close()
    for path in _files(store, file_kind):
        DAMAGE[damage](path)
    _assert_fallback_answers(client, logs)

    report = runner.invoke(args=["search", "check"])
    assert report.exit_code == 1, report.output
    assert isinstance(report.exception, SystemExit)  # a message, not a traceback
    assert "Traceback" not in report.output
    _assert_repaired(runner)


# Debris a repair finds next to the live index: builds of other processes that vanish while
# it looks (a dangling link behaves the same: its target is gone), files named like an index,
# empty or half-built directories. None may stop the repair.
def _dangling_link(root: Path) -> None:
    (root / "ix-gone-link").symlink_to(root / "ix-no-such-target")


def _vanished_build(root: Path) -> None:
    (root / "ix-vanished").mkdir()
    (root / "ix-vanished-link").symlink_to(root / "ix-vanished")
    shutil.rmtree(root / "ix-vanished")


def _file_named_like_an_index(root: Path) -> None:
    (root / "ix-20200101T000000-1-1").write_text("not an index")


def _old_half_built(root: Path) -> None:
    old = root / "ix-20200101T000000-2-2"
    old.mkdir()
    (old / "MAIN_WRITELOCK").write_bytes(b"")
    os.utime(old, (0, 0))


def _link_loop(root: Path) -> None:
    (root / "ix-loop").symlink_to(root / "ix-loop")


DEBRIS = {
    "dangling link": _dangling_link,
    "build vanished": _vanished_build,
    "file named like an index": _file_named_like_an_index,
    "old half-built directory": _old_half_built,
    "symlink loop": _link_loop,
}


@pytest.mark.parametrize("debris", list(DEBRIS))
def test_debris_in_the_index_directory_never_stops_a_repair(app, client, runner, debris):
    store = lifecycle.get_store()
    store.close()
    DEBRIS[debris](store.root)
    for path in _files(store, "toc"):
        _random_bytes(path)
    _assert_repaired(runner)


def test_damage_under_an_open_searcher_is_caught_at_read_time(app, client, logs):
    """The searcher was opened before the damage: reading fails mid-search, not at open."""
    store = lifecycle.get_store()
    assert first_keys("文昌鸡", 1) == ["product:wenchang-chicken"]
    for path in _files(store, "segment"):
        _zero_fill(path)
    for query in ("文昌鸡", "coffee", "wenchangji", "wcj", "兴隆咖啡"):
        assert client.get(f"/search?q={query}").status_code == 200
        assert client.get(f"/search/suggest?q={query}").status_code == 200


# --- the index cannot be written -------------------------------------------------------------


def _failing(error_number: int, where: str):
    """Make Whoosh's file writes (its storage opens files with the builtin open) or our
    os-level writes fail inside the index directory, as a full or read-only disk would."""
    import builtins

    real_open, real_write, real_replace = builtins.open, os.write, os.replace

    def inside_index(path) -> bool:
        return "/search/" in str(path)

    def fake_open(file, mode="r", *args, **kwargs):
        if where == "open" and inside_index(file) and any(c in mode for c in "wax+"):
            raise OSError(error_number, os.strerror(error_number), str(file))
        return real_open(file, mode, *args, **kwargs)

    def fake_write(fd, data):
        if where == "write" and inside_index(os.readlink(f"/proc/self/fd/{fd}")):
            raise OSError(error_number, os.strerror(error_number))
        return real_write(fd, data)

    def fake_replace(src, dst, *args, **kwargs):
        if where == "rename" and inside_index(dst):
            raise OSError(error_number, os.strerror(error_number), str(dst))
        return real_replace(src, dst, *args, **kwargs)

    return fake_open, fake_write, fake_replace


WRITE_FAILURES = [
    (e, w) for e in (errno.ENOSPC, errno.EIO, errno.EROFS) for w in ("open", "write", "rename")
]


@pytest.mark.parametrize(
    ("error_number", "where"),
    WRITE_FAILURES,
    ids=[f"{errno.errorcode[e]}-{w}" for e, w in WRITE_FAILURES],
)
def test_index_that_cannot_be_written_degrades_then_catches_up(
    app, client, runner, logs, monkeypatch, error_number, where
):
    import builtins

    store = lifecycle.get_store()
    chicken = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    chicken.name_en = "Wenchang Free-range Chicken"  # an outbox row the index must apply
    db.session.commit()
    fake_open, fake_write, fake_replace = _failing(error_number, where)
    with monkeypatch.context() as patch:
        patch.setattr(builtins, "open", fake_open)
        patch.setattr(os, "write", fake_write)
        patch.setattr(os, "replace", fake_replace)
        response = client.get("/search?q=free-range&lang=en")
        suggest = client.get("/search/suggest?q=wenchang")
        failed_rebuild = runner.invoke(args=["search", "reindex"])
    assert response.status_code == 200 and suggest.status_code == 200
    body = response.get_data(as_text=True)
    assert "/products/wenchang-chicken" in body and "simpler results" in body
    assert any(r.levelno >= logging.ERROR and r.exc_info for r in logs.records)
    assert failed_rebuild.exit_code != 0  # the disk is still full: a rebuild cannot help
    assert isinstance(failed_rebuild.exception, SystemExit), "a message, not a traceback"
    assert "could not be written" in failed_rebuild.output
    assert not list(store.root.rglob("*.tmp")), "no temporary file left"
    assert [p.name for p in store.root.glob("ix-*")] == [store.current_name()]
    # Space is back: the repair runs and the edit is found by the index.
    applied = runner.invoke(args=["search", "apply"])
    assert applied.exit_code == 0, applied.output
    assert first_keys("free-range", 1) == ["product:wenchang-chicken"]


def test_repair_after_a_failed_one_is_retried_soon(app, monkeypatch):
    """A failed background repair is retried after seconds, not after five minutes, and a
    successful one lets new damage be repaired at once."""
    store = lifecycle.get_store()
    app.config["SEARCH_AUTO_REBUILD"] = True
    lifecycle._rebuild_state.clear()
    monkeypatch.setattr(lifecycle, "REBUILD_RETRY_FIRST", 0.0)
    real_rebuild = sync.rebuild
    calls = []

    def flaky(store_, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_rebuild(store_, *args, **kwargs)

    monkeypatch.setattr(sync, "rebuild", flaky)
    first = lifecycle.schedule_rebuild(store, "test")
    first.join(30)
    second = lifecycle.schedule_rebuild(store, "test")
    assert second is not None, "retried without waiting five minutes"
    second.join(30)
    third = lifecycle.schedule_rebuild(store, "new damage")
    assert third is not None
    third.join(30)
    assert len(calls) == 3


# --- the database fallback understands pinyin ---------------------------------------------

FALLBACK_QUERIES = [
    ("文昌鸡", "product", "wenchang-chicken"),
    ("wenchangji", "product", "wenchang-chicken"),
    ("WenChangJi", "product", "wenchang-chicken"),
    ("wen chang ji", "product", "wenchang-chicken"),
    ("wcj", "product", "wenchang-chicken"),
    ("WCJ", "product", "wenchang-chicken"),
    ("wenchang", "product", "wenchang-chicken"),
    ("Wenchang Chicken", "product", "wenchang-chicken"),
    ("wenchang-chicken", "product", "wenchang-chicken"),
    ("xinglongkafei", "product", "xinglong-coffee"),
    ("xlkf", "product", "xinglong-coffee"),
    ("兴隆咖啡", "product", "xinglong-coffee"),
    ("Xinglong Coffee", "product", "xinglong-coffee"),
    ("kafei", "product", "xinglong-coffee"),
    ("helexie", "product", "hele-crab"),
    ("hlx", "product", "hele-crab"),
    ("和乐蟹", "product", "hele-crab"),
    ("dongshan", "product", "wanning-dongshan-goat"),
    ("wndsy", "product", "wanning-dongshan-goat"),
    ("东山羊", "product", "wanning-dongshan-goat"),
    ("tunchangheizhu", "product", "tunchang-black-pig"),
    ("tchz", "product", "tunchang-black-pig"),
    ("black pig", "product", "tunchang-black-pig"),
    ("sanmenpolizhi", "product", "sanmenpo-lychee"),
    ("smplz", "product", "sanmenpo-lychee"),
    ("wenchangshi", "county", "wenchang"),
    ("文昌", "county", "wenchang"),
]


@pytest.mark.parametrize(
    ("query", "kind", "slug"), FALLBACK_QUERIES, ids=[q for q, _, _ in FALLBACK_QUERIES]
)
def test_fallback_finds_pinyin_initials_chinese_and_english(app, query, kind, slug):
    store = lifecycle.get_store()
    store.close()
    shutil.rmtree(store.root)  # force the fallback
    results = service.search(query, SearchFilters())
    assert results.source == "database"
    found = {(h.key.kind, h.obj.slug) for h in results.hits if h.key.kind != "sign"}
    assert (kind, slug) in found, (query, found)


def test_fallback_pinyin_follows_a_rename_in_the_same_flush(app):
    store = lifecycle.get_store()
    store.close()
    shutil.rmtree(store.root)
    chicken = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    chicken.name_zh = "文昌阉鸡"
    db.session.flush()
    slugs = {h.obj.slug for h in service.search("wcyj", SearchFilters()).hits}
    assert "wenchang-chicken" in slugs
    assert "wenchang-chicken" not in {
        h.obj.slug
        for h in service.search("wenchangji", SearchFilters()).hits
        if h.key.kind == "product"
    }
    db.session.rollback()


# --- a fresh site has a built index ---------------------------------------------------------


@pytest.mark.parametrize("before", ["missing", "damaged", "current", "behind", "repair-note"])
def test_seed_if_empty_leaves_a_built_current_index(app, runner, before):
    store = lifecycle.get_store()
    store.close()
    if before == "missing":
        shutil.rmtree(store.root)
    elif before == "damaged":
        for path in _files(store, "segment"):
            _zero_fill(path)
    elif before == "behind":
        chicken = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
        chicken.name_en = "Wenchang Free-range Chicken"
        db.session.commit()
    elif before == "repair-note":
        store.request_repair("test")
    result = runner.invoke(args=["seed", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "Search index" in result.output
    assert not store.repair_requested()
    assert first_keys("wenchangji", 1) == ["product:wenchang-chicken"]
    assert first_keys("wcj", 1) == ["product:wenchang-chicken"]
    if before == "behind":
        assert first_keys("free-range", 1) == ["product:wenchang-chicken"]
