"""Search pages, suggestions, bad input, the CLI and keeping the engine in step with the
database: against each search engine (the `engine` fixture: Whoosh in the test's instance
folder, and PostgreSQL on the PostgreSQL run); tests of Whoosh's own machinery (its index
files, outbox and state) pin it with `whoosh_only`."""

import json
import re
import shutil

import pytest
from sqlalchemy import select

from app.db import db
from app.models import Brand, Enterprise, GISign, Product, PublicationStatus
from app.search import SearchFilters, current_engine, lifecycle, service, sync
from app.search.outbox import SearchOutbox
from tests.search_helpers import first_keys, serve_indexed

whoosh_only = pytest.mark.parametrize("engine", ["whoosh"])


@pytest.fixture
def app(database_factory, tmp_path, media_root, engine):
    yield from serve_indexed(database_factory, tmp_path, media_root, engine)


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def product(slug: str) -> Product:
    return db.session.scalar(select(Product).where(Product.slug == slug))


# --- pages ------------------------------------------------------------------------------


def test_results_page_shows_ranked_hits_facets_and_snippets(client):
    html = page(client.get("/search?q=文昌鸡"))
    assert html.index("/products/wenchang-chicken") < html.index("/brands/")
    assert "<mark>文昌鸡</mark>" in html
    assert 'href="?q=%E6%96%87%E6%98%8C%E9%B8%A1&amp;kind=brand"' in html  # facet link
    assert "/static/js/search.js" in html


def test_facet_filter_and_counts(client):
    html = page(client.get("/search?q=coffee&kind=product&lang=en"))
    assert "/products/xinglong-coffee" in html and "/brands/" not in html
    assert 'aria-current="true"' in html  # the selected facet can be removed


def facet_counts(query: str, **filters) -> tuple[dict, list]:
    results = service.search(query, SearchFilters(**filters), 1, 500)
    assert results.source == "index" and results.total == len(results.hits)
    return (
        {name: {f.value: f.count for f in values} for name, values in results.facets.items()},
        results.hits,
    )


def test_facet_counts_match_the_hits_and_follow_edits(app):
    from collections import Counter

    for query, filters in (("wenchang", {}), ("coffee", {}), ("文昌", {"kind": "product"})):
        counts, hits = facet_counts(query, **filters)
        assert counts["kind"] == dict(Counter(hit.key.kind for hit in hits)), query
        products = [hit.obj for hit in hits if hit.key.kind == "product"]
        expected = Counter(c.slug for p in products for c in p.counties)
        assert all(counts["county"].get(slug, 0) >= n for slug, n in expected.items()), query
    before, _ = facet_counts("wenchang")
    # An applied edit adds a segment: its facet values are read, the old ones kept.
    crab = product("hele-crab")
    crab.name_en = "Hele crab of Wenchang"
    db.session.commit()
    after, hits = facet_counts("wenchang")
    assert crab.id in {h.key.obj_id for h in hits if h.key.kind == "product"}
    assert after["kind"]["product"] == before["kind"]["product"] + 1
    for county in crab.counties:  # the crab's own county (Qionghai), not Wenchang
        assert after["county"][county.slug] == before["county"].get(county.slug, 0) + 1
    crab.status = PublicationStatus.DRAFT
    db.session.commit()
    assert facet_counts("wenchang")[0]["kind"] == before["kind"]


def test_pagination(client, app):
    app.config["PER_PAGE"] = 2
    first = page(client.get("/search?q=wenchang"))
    second = page(client.get("/search?q=wenchang&page=2"))
    assert 'rel="next"' in first and 'rel="prev"' in second
    links = lambda h: {link for link in h.split('class="result-title" href="')[1:]}  # noqa: E731
    assert links(first).isdisjoint(links(second))


def test_did_you_mean_shows_results_for_the_correction(client):
    html = page(client.get("/search?q=rambutn&lang=en"))
    assert "Showing results for" in html and "rambutan" in html
    assert "/products/baoting-rambutan" in html


def test_zero_results_offer_counties_and_categories(client):
    html = page(client.get("/search?q=zzzqqqxx"))
    assert "/counties/" in html and "/categories/" in html


def test_empty_query_shows_the_browse_page(client):
    response = client.get("/search?q=+++")
    assert response.status_code == 302 and response.location.endswith("/products/")


def test_suggest_returns_names_for_pinyin_and_chinese_prefixes(client):
    for prefix in ("wench", "wcj", "文昌", "Wenchang ch"):
        data = client.get(f"/search/suggest?q={prefix}").get_json()
        urls = [s["url"] for s in data["suggestions"]]
        assert "/products/wenchang-chicken" in urls, (prefix, urls)
    assert client.get("/search/suggest?q=").get_json()["suggestions"] == []


def test_drafts_never_leak(client):
    crab = product("hele-crab")
    crab.status = PublicationStatus.DRAFT
    db.session.commit()
    assert "/products/hele-crab" not in page(client.get("/search?q=和乐蟹"))
    urls = [s["url"] for s in client.get("/search/suggest?q=hele").get_json()["suggestions"]]
    assert "/products/hele-crab" not in urls


# --- bad input --------------------------------------------------------------------------

BAD_QUERIES = [
    "title:(",
    '"',
    "AND OR",
    "*",
    "a*",
    "~",
    "wenchang~2",
    "name:文昌鸡",
    '"unbalanced',
    "(((",
    "NOT",
    "') OR 1=1 --",
    "%",
    "_",
    "\\",
    "文昌鸡\x00",
    "\x01\x02\x1b[31m",
    "😀🐔",
    "鸡😀",
    "\u202e\u200b",
    "x" * 10_000,
    "文" * 10_000,
    "<script>alert(1)</script>",
]


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_bad_queries_are_plain_text_never_a_500(client, query):
    response = client.get("/search", query_string={"q": query})
    if "\x00" in query:  # NUL is refused for every URL (app/security.py): a clear 400
        assert response.status_code == 400
        return
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        html = response.get_data(as_text=True)
        assert "<script>alert" not in html
    assert client.get("/search/suggest", query_string={"q": query}).status_code == 200


def test_percent_zero_zero_is_a_clear_400_and_operators_are_words(client):
    response = client.get("/search?q=%00&lang=en")
    assert response.status_code == 400 and "<html" in response.get_data(as_text=True)
    # NOT is a plain word, not an operator that would exclude chicken.
    assert first_keys("wenchang NOT chicken", 1) == ["product:wenchang-chicken"]
    assert first_keys("chicken -wenchang", 1) == ["product:wenchang-chicken"]


def test_long_query_is_cut_to_200_characters(client):
    html = page(client.get("/search", query_string={"q": "文昌鸡" + "a" * 500}))
    shown = re.search(r'<input id="q"[^>]*value="([^"]*)"', html).group(1)
    assert shown == "文昌鸡" + "a" * 197


@pytest.mark.parametrize(
    "param", ["kind=bogus", "regime=nope", "county=../etc", "page=0", "page=abc", "category=%00"]
)
def test_bad_filters_are_400(client, param):
    assert client.get(f"/search?q=wenchang&{param}").status_code == 400


def test_whoosh_syntax_finds_nothing_special(app):
    results = service.build_query('title:(文昌鸡 OR "x") *')
    assert "title" not in {t[0] for t in results.iter_all_terms()}


# --- fallback ---------------------------------------------------------------------------


@whoosh_only
def test_missing_index_falls_back_to_the_database(client, app):
    store = lifecycle.get_store()
    store.close()
    shutil.rmtree(store.root)
    html = page(client.get("/search?q=文昌鸡&lang=en"))
    assert "/products/wenchang-chicken" in html and "simpler results" in html
    results = service.search("文昌鸡", SearchFilters())
    assert results.source == "database"
    assert "wenchang-chicken" in [h.obj.slug for h in results.hits if h.key.kind == "product"]


@whoosh_only
def test_corrupt_index_is_detected_and_rebuilt(app):
    store = lifecycle.get_store()
    store.close()
    for path in store.current_dir().glob("*.seg"):
        path.write_bytes(b"garbage")
    for path in store.current_dir().glob("_MAIN_*.toc"):
        path.write_bytes(b"garbage")
    app.config["SEARCH_AUTO_REBUILD"] = True
    lifecycle._rebuild_state.clear()
    results = service.search("文昌鸡", SearchFilters())
    assert results.source == "database"  # answered at once, from the database
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if service.search("文昌鸡", SearchFilters()).source == "index":
            break
        time.sleep(0.2)
    assert first_keys("文昌鸡", 1) == ["product:wenchang-chicken"]


# --- CLI --------------------------------------------------------------------------------


@whoosh_only
def test_reindex_command_swaps_in_a_new_directory(runner):
    before = lifecycle.get_store().current_name()
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 149 documents" in result.output
    after = lifecycle.get_store().current_name()
    assert after != before
    assert first_keys("文昌鸡", 1) == ["product:wenchang-chicken"]


@whoosh_only
def test_check_reports_and_fixes_differences(runner):
    store = lifecycle.get_store()
    ix = store.open_index()
    writer = ix.writer()
    writer.delete_by_term("key", "product:1")
    writer.update_document(key="product:99999", kind="product", obj_id=99999, name="phantom")
    writer.commit()
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1
    assert "missing: 1 (product:1)" in result.output and "extra: 1 (product:99999)" in result.output
    result = runner.invoke(args=["search", "check", "--fix"])
    assert result.exit_code == 0 and "Fixed." in result.output
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 0 and "agree" in result.output


# --- keeping the index true -------------------------------------------------------------


@whoosh_only
def test_every_change_writes_an_outbox_row_in_the_same_transaction(app):
    before = db.session.scalar(select(SearchOutbox.id).order_by(SearchOutbox.id.desc()).limit(1))
    product("hele-crab").name_en = "Hele Mud Crab"
    db.session.rollback()
    after = db.session.scalar(select(SearchOutbox.id).order_by(SearchOutbox.id.desc()).limit(1))
    assert after == before  # rolled back with the change
    product("hele-crab").name_en = "Hele Mud Crab"
    db.session.commit()
    rows = db.session.scalars(select(SearchOutbox).where(SearchOutbox.id > (before or 0))).all()
    assert [(r.kind, r.obj_id) for r in rows] == [("product", product("hele-crab").id)]


def test_publish_edit_unpublish_delete_are_reflected(app):
    crab = product("hele-crab")
    crab.status = PublicationStatus.DRAFT
    db.session.commit()
    assert "product:hele-crab" not in first_keys("和乐蟹", 5)
    crab.status = PublicationStatus.PUBLISHED
    db.session.commit()
    assert first_keys("和乐蟹", 1) == ["product:hele-crab"]
    crab.name_en = "Hele Roe Crab"
    db.session.commit()
    assert first_keys("roe crab", 1) == ["product:hele-crab"]
    crab.status = PublicationStatus.ARCHIVED
    db.session.commit()
    assert not [k for k in first_keys("和乐蟹", 24) if k.startswith("product:")]
    # The product's signs follow it out of the index.
    assert not [k for k in first_keys("和乐蟹", 24) if k.startswith("sign:hele-crab")]
    brand = db.session.scalar(select(Brand).where(Brand.slug == "demo-brand-lijinfang"))
    assert first_keys("黎锦坊", 1) == ["brand:demo-brand-lijinfang"]
    db.session.delete(brand)
    db.session.commit()
    assert "brand:demo-brand-lijinfang" not in first_keys("黎锦坊", 24)
    assert current_engine().check().ok


def test_a_new_name_is_taught_to_jieba_and_searchable_at_once(app):
    tea = product("baisha-green-tea")
    tea.name_zh, tea.name_en = "白沙云雾绿茶", "Baisha Cloud Mist Green Tea"
    db.session.commit()
    assert first_keys("白沙云雾绿茶", 1) == ["product:baisha-green-tea"]
    assert first_keys("cloud mist", 1) == ["product:baisha-green-tea"]


@whoosh_only
def test_index_state_records_the_outbox_progress(app):
    store = lifecycle.get_store()
    product("hele-crab").name_en = "Hele Crab!"
    db.session.commit()
    service.search("crab", SearchFilters())
    state = json.loads((store.current_dir() / "state.json").read_text())
    newest = db.session.scalar(select(SearchOutbox.id).order_by(SearchOutbox.id.desc()).limit(1))
    assert newest <= state["horizon"] or newest in state["recent"]
    assert sync.outbox_backlog(store) == 0


def test_enterprise_document_follows_its_authorizations(app):
    enterprise = db.session.scalar(
        select(Enterprise).where(Enterprise.slug == "demo-wenchang-yexiang-poultry")
    )
    auth = enterprise.authorizations[0]
    auth.number = "DEMO-AUTH-2099-777"
    db.session.commit()
    assert first_keys("DEMO-AUTH-2099-777", 1) == ["enterprise:demo-wenchang-yexiang-poultry"]


def test_signs_are_indexed_with_their_numbers(app):
    sign = db.session.scalar(select(GISign).where(GISign.number == "31363028"))
    assert sign is not None
    assert first_keys("31363028", 1) == ["sign:dongfang-li-brocade/gi_trademark"]


def test_cached_segmentation_gives_jiebas_own_tokens():
    import jieba

    from app.search import text

    samples = [
        "文昌鸡 Wenchang chicken，产于文昌市。",
        "Hainan's coffee: 兴隆咖啡（示例）!! 3.5kg\tx",
        "國家質檢總局公告2007年第209號",
        "abc123文昌鸡def C++ & 100% a-b_c.d",
        "",
        "  ",
    ]
    for _round in range(2):  # the second round answers from the cache
        for sample in samples:
            assert list(text.segment(sample)) == list(
                text.jieba_instance().tokenize(sample, mode="search")
            ), sample
    text.add_words(["瓜片朝阳鸡"])  # a new word empties the cache: blocks re-segment
    assert ("瓜片朝阳鸡", 0, 5) in list(text.segment("瓜片朝阳鸡，好"))
    assert jieba.dt is text.jieba_instance()
