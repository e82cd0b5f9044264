"""Choosing the search engine (SEARCH_BACKEND), compiling a query tree for PostgreSQL, and
the PostgreSQL engine's own promises: documents written in the listing's transaction
(seen by another connection at commit, never after a rollback), drift found and fixed by
`flask search check`, and a missing table answered from the database. The conformance
suite itself (relevance, facets, suggest, did you mean, bad input, drafts) runs against
both engines in tests/test_search*.py."""

import pytest
from sqlalchemy import create_engine, select, text
from whoosh.query import And, NullQuery, Or, Term

from app import create_app
from app.db import db
from app.models import Brand, Product, PublicationStatus
from app.search import SearchFilters, current_engine, service
from app.search.engine import backend_for
from app.search.postgresql import Compiled
from app.search.words import analyze
from tests.conftest import make_config
from tests.search_helpers import first_keys, serve_indexed

PG_URL = "postgresql+psycopg://u@127.0.0.1/db"
SQLITE_URL = "sqlite:///x.sqlite3"


@pytest.mark.parametrize(
    ("setting", "url", "engine"),
    [
        ("auto", PG_URL, "postgresql"),
        ("auto", SQLITE_URL, "whoosh"),
        ("", PG_URL, "postgresql"),
        (" AUTO ", SQLITE_URL, "whoosh"),
        ("whoosh", PG_URL, "whoosh"),
        ("Whoosh", SQLITE_URL, "whoosh"),
        ("postgresql", PG_URL, "postgresql"),
        ("auto", "postgresql://u@h/db", "postgresql"),
    ],
)
def test_search_backend_picks_the_engine(setting, url, engine):
    assert backend_for(setting, url) == engine


@pytest.mark.parametrize(
    ("setting", "url", "reason"),
    [
        ("elasticsearch", PG_URL, "not a search engine"),
        ("postgres", PG_URL, "not a search engine"),
        ("whoosh,postgresql", SQLITE_URL, "not a search engine"),
        ("postgresql", SQLITE_URL, "needs a PostgreSQL DATABASE_URL"),
    ],
)
def test_a_bad_search_backend_stops_the_app_at_start_up(setting, url, reason, tmp_path):
    with pytest.raises(ValueError, match=reason):
        backend_for(setting, url)
    config = make_config(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path, tmp_path)
    config.SEARCH_BACKEND = setting
    if url == SQLITE_URL:
        with pytest.raises(ValueError, match=reason):
            create_app(config)


@pytest.mark.parametrize(
    ("query", "tsquery", "lexemes"),
    [
        (Term("name", "文昌鸡"), "'name:文昌鸡'", ["name:文昌鸡"]),
        # Quotes, backslashes and tsquery operators stay inside one quoted lexeme.
        (Term("body", "it's"), "'body:it''s'", ["body:it's"]),
        (Term("refs", "a\\b|c&!"), "'refs:a\\\\b|c&!'", ["refs:a\\b|c&!"]),
        (Term("name", "x') | ('y"), "'name:x'') | (''y'", ["name:x') | ('y"]),
        (
            Or([Term("name", "a"), And([Term("body", "b"), Term("name", "a")])]),
            "('name:a' | ('body:b' & 'name:a'))",
            ["name:a", "body:b"],
        ),
        # Whoosh's normalize() drops NullQuery; an empty compound matches nothing.
        (Or([NullQuery, Term("pinyin", "wcj")]), "('pinyin:wcj')", ["pinyin:wcj"]),
        (And([Term("name", "a"), Or([])]), None, ["name:a"]),
        (Or([]), None, []),
    ],
)
def test_a_query_tree_compiles_to_a_quoted_tsquery(query, tsquery, lexemes):
    compiled = Compiled(query)
    assert compiled.tsquery == tsquery
    assert compiled.lexemes == lexemes
    assert all(":" not in name for name in compiled.params() if name != "query")


def test_the_score_sums_boost_times_idf_of_matched_terms_as_whoosh_does():
    query = Or(
        [Term("name", "a", boost=5.0), And([Term("body", "b"), Term("place", "c", boost=2.0)])]
    )
    compiled = Compiled(query, idf=lambda lexeme: 3.0 if lexeme == "name:a" else 1.0)
    assert "THEN 15.0" in compiled.score  # 5 x idf 3
    assert "(CASE WHEN (t1 AND t2) THEN" in compiled.score  # an And scores only when whole


# --- the PostgreSQL engine ---------------------------------------------------------------

postgresql_only = pytest.mark.parametrize(
    "engine", [pytest.param("postgresql", marks=pytest.mark.postgresql_engine)]
)


@pytest.fixture
def pg_app(database_factory, tmp_path, media_root, engine):
    yield from serve_indexed(database_factory, tmp_path, media_root, engine)


def other_connection_finds(lexeme: str) -> set[str]:
    """Documents having the lexeme, read on a connection of its own (another app server)."""
    other = create_engine(db.engine.url)
    try:
        with other.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT kind || ':' || obj_id FROM search_documents "
                    "WHERE vector @@ CAST(:q AS tsquery)"
                ),
                {"q": f"'{lexeme}'"},
            )
            return set(rows.scalars())
    finally:
        other.dispose()


def _product(slug: str) -> Product:
    return db.session.scalar(select(Product).where(Product.slug == slug))


def _brand(slug: str) -> Brand:
    return db.session.scalar(select(Brand).where(Brand.slug == slug))


def rename_product(new_name: str):
    crab = _product("hele-crab")
    crab.name_en = new_name
    return f"product:{crab.id}", f"name:{analyze(new_name)[-1]}"


def rename_brand(new_name: str):
    brand = _brand("demo-brand-lijinfang")
    brand.name_en = new_name
    return f"brand:{brand.id}", f"name:{analyze(new_name)[-1]}"


def rename_authorization(number: str):
    from app.models import Enterprise

    enterprise = db.session.scalar(
        select(Enterprise).where(Enterprise.slug == "demo-wenchang-yexiang-poultry")
    )
    enterprise.authorizations[0].number = number
    return f"enterprise:{enterprise.id}", f"refs:{number.lower()}"


def rename_product_for_its_brand(new_name: str):
    """A brand's document lists its products' names: it follows the product."""
    brand = _brand("demo-brand-wenchang-chicken")
    brand.products[0].name_en = new_name
    return f"brand:{brand.id}", f"body:{analyze(new_name)[-1]}"


CHANGES = [
    (rename_product, "Hele Zzcrabbe"),
    (rename_brand, "Lijin Zzloom"),
    (rename_authorization, "DEMO-AUTH-2099-1234"),
    (rename_product_for_its_brand, "Hele Zzclaws"),
]


@postgresql_only
@pytest.mark.parametrize(("change", "value"), CHANGES)
def test_a_change_is_searchable_everywhere_at_commit_and_never_after_a_rollback(
    pg_app, change, value
):
    key, lexeme = change(value)
    db.session.flush()  # written at commit, not at flush: another connection sees nothing
    assert key not in other_connection_finds(lexeme)
    db.session.rollback()
    assert key not in other_connection_finds(lexeme)
    key, lexeme = change(value)  # unflushed at commit: the commit's own flush counts too
    db.session.commit()
    assert key in other_connection_finds(lexeme)
    assert current_engine().check().ok


@postgresql_only
@pytest.mark.parametrize(
    "status", [PublicationStatus.DRAFT, PublicationStatus.ARCHIVED, PublicationStatus.SUBMITTED]
)
def test_an_unpublished_listing_leaves_at_commit(pg_app, status):
    crab = _product("hele-crab")
    crab.status = status
    db.session.commit()
    assert f"product:{crab.id}" not in other_connection_finds("name:和乐蟹")
    found = first_keys("和乐蟹", 24)
    assert "product:hele-crab" not in found
    assert not [k for k in found if k.startswith("sign:hele-crab")]  # its signs leave too
    crab.status = PublicationStatus.PUBLISHED
    db.session.commit()
    assert f"product:{crab.id}" in other_connection_finds("name:和乐蟹")


@postgresql_only
@pytest.mark.parametrize(
    ("damage", "reported"),
    [
        ("DELETE FROM search_documents WHERE kind = 'product' AND obj_id = 1", "missing: 1"),
        (
            "INSERT INTO search_documents SELECT kind, 99999, vector, counties, category, "
            "regimes, label, name, body, spell, digest FROM search_documents "
            "WHERE kind = 'product' AND obj_id = 1",
            "extra: 1 (product:99999)",
        ),
        ("UPDATE search_documents SET digest = 'x' WHERE kind = 'county'", "stale: "),
    ],
)
def test_check_reports_the_engine_counts_and_drift_and_fixes_it(pg_app, damage, reported):
    runner = pg_app.test_cli_runner()
    db.session.execute(text(damage))
    db.session.commit()
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1, result.output
    assert "Engine: postgresql" in result.output and "product " in result.output
    assert reported in result.output
    assert runner.invoke(args=["search", "check", "--fix"]).exit_code == 0
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 0 and "agree" in result.output, result.output


@postgresql_only
def test_reindex_fills_the_table_in_one_transaction(pg_app):
    db.session.execute(text("DELETE FROM search_documents"))
    db.session.commit()
    result = pg_app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 149 documents" in result.output and "(postgresql)" in result.output
    assert first_keys("文昌鸡", 1) == ["product:wenchang-chicken"]
    result = pg_app.test_cli_runner().invoke(args=["search", "apply"])
    assert "nothing to apply" in result.output


@postgresql_only
@pytest.mark.parametrize("call", ["search", "suggest"])
def test_a_missing_table_is_answered_from_the_database_and_logged(pg_app, logs, call):
    db.session.execute(text("ALTER TABLE search_documents RENAME TO search_documents_gone"))
    db.session.commit()
    try:
        if call == "search":
            results = service.search("文昌鸡", SearchFilters())
            assert results.source == "database"
            assert "wenchang-chicken" in [getattr(h.obj, "slug", "") for h in results.hits]
        else:
            found = service.suggest("wench")
            assert "wenchang-chicken" in [s.label["slug"] for s in found]
        assert "PostgreSQL " + call + " failed" in logs.text
    finally:
        db.session.rollback()
        db.session.execute(text("ALTER TABLE search_documents_gone RENAME TO search_documents"))
        db.session.commit()


def _jieba_knows(word: str) -> bool:
    from app.search import text as search_text

    return bool(search_text.jieba_instance().FREQ.get(word))


def _forget(words: list[str]) -> None:
    """As if another process had made the edit: this one never learned its words."""
    from app.search import text as search_text

    for word in words:
        search_text.jieba_instance().del_word(word)
        search_text._known_words.discard(word)


def rename_product_zh(slug: str | None = None):
    crab = _product("hele-crab")
    crab.name_zh = "椰乡坡蟹王"
    if slug:
        crab.slug = slug
    return "product:" + (slug or "hele-crab")


def rename_brand_zh():
    _brand("demo-brand-lijinfang").name_zh = "椰乡坡金坊"
    return "brand:demo-brand-lijinfang"


@postgresql_only
@pytest.mark.parametrize(
    ("change", "words"),
    [
        (rename_product_zh, ["椰乡坡蟹王"]),
        (lambda: rename_product_zh("yexiangpo-crab"), ["椰乡坡蟹王", "椰乡坡"]),  # its place
        (rename_brand_zh, ["椰乡坡金坊"]),
    ],
)
def test_an_edits_new_words_are_learned_without_reading_the_whole_catalogue(
    pg_app, monkeypatch, change, words
):
    from app.search import postgresql

    full_reads: list[int] = []
    read_all = postgresql.learn_all_catalogue_words
    monkeypatch.setattr(
        postgresql, "learn_all_catalogue_words", lambda: full_reads.append(1) or read_all()
    )
    _forget(words)  # an earlier test's
    first_keys("文昌鸡")  # this process has learned the catalogue already
    before_the_edit = dict(postgresql._learned)
    assert not any(_jieba_knows(w) for w in words)
    key = change()
    db.session.commit()
    assert all(_jieba_knows(w) for w in words)  # the writer, before analysing them
    _forget(words)  # another process: it learned the catalogue before the edit
    postgresql._learned.update(before_the_edit)
    assert first_keys(words[0], 1) == [key]  # another process: from the rows written since
    assert all(_jieba_knows(w) for w in words)
    assert full_reads == []
    postgresql._learned.clear()  # a process starting: the whole catalogue, once
    first_keys(words[0], 1)
    first_keys(words[0], 1)
    assert full_reads == [1]


def _documents_and_terms() -> tuple[list, list]:
    documents = db.session.execute(
        text(
            "SELECT kind, obj_id, vector::text, scoring::text, length, counties, category, "
            "regimes, label, name, body, spell, digest, words FROM search_documents "
            "ORDER BY kind, obj_id"
        )
    ).all()
    terms = db.session.execute(text("SELECT * FROM search_terms ORDER BY lexeme")).all()
    return documents, terms


@postgresql_only
@pytest.mark.parametrize(
    ("parallel_from", "workers", "chunk"),
    [
        (10**9, 1, 1_000),  # one process
        (10, 2, 7),  # a pool of two over chunks of seven ids, from ten documents of a kind
    ],
)
def test_a_rebuild_writes_the_same_rows_alone_or_with_a_pool(
    pg_app, monkeypatch, parallel_from, workers, chunk
):
    from app.search import pg_rebuild

    written = _documents_and_terms()  # by the fixture's rebuild, in one process
    assert len(written[0]) == 149 and any(t.lexeme.startswith("head:") for t in written[1])
    monkeypatch.setattr(pg_rebuild, "PARALLEL_FROM", parallel_from)
    monkeypatch.setattr(pg_rebuild, "WORKERS", workers)
    monkeypatch.setattr(pg_rebuild, "CHUNK", chunk)
    pools: list[int] = []
    start_pool = pg_rebuild._start_pool
    monkeypatch.setattr(pg_rebuild, "_start_pool", lambda: pools.append(1) or start_pool())
    db.session.execute(text("UPDATE search_documents SET digest = 'x', words = '{}'"))
    db.session.commit()
    result = pg_app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert _documents_and_terms() == written
    assert pools == ([1] if workers > 1 else [])
    assert not db.session.scalar(
        text("SELECT count(*) FROM search_documents WHERE written_by <> 0")
    )
    assert current_engine().check().ok


@postgresql_only
def test_after_a_rebuild_an_edit_reads_only_the_words_written_since(pg_app, monkeypatch):
    """A rebuild's rows are the catalogue every process learned at start-up: after it, a
    process learning an edit reads the rows edits wrote since, not the whole table."""
    from app.search import postgresql

    assert pg_app.test_cli_runner().invoke(args=["search", "reindex"]).exit_code == 0
    rows_read: list[int] = []
    read_since = postgresql.learn_words_written_since

    def counting(horizon: int) -> None:
        since = text("SELECT count(*) FROM search_documents WHERE written_by >= :horizon")
        rows_read.append(db.session.scalar(since, {"horizon": horizon}))
        read_since(horizon)

    monkeypatch.setattr(postgresql, "learn_words_written_since", counting)
    rename_product_zh()
    db.session.commit()
    assert first_keys("椰乡坡蟹王", 1) == ["product:hele-crab"]
    assert rows_read and max(rows_read) <= 3  # not the 149 documents of the rebuild
