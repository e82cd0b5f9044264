"""The search page's work per request, on each engine: statements sent to the database
(result rows in one statement per kind, nothing per hit; the PostgreSQL engine's own
statements per kind of search), the freshness questions asked once per interval
(app/search/recheck.py), and the search page cache (app/search/views.py): an answer kept
is the answer rendered, and a change shows at once."""

import re
import shutil
from collections.abc import Callable

import pytest
from sqlalchemy import event, insert, select

from app.db import db
from app.models import Category, County, Product, PublicationStatus, SynonymGroup
from app.search import lifecycle
from app.search.views import rendered_searches
from tests.search_helpers import serve_indexed


@pytest.fixture
def app(database_factory, tmp_path, media_root, engine):
    rendered_searches.clear()
    yield from serve_indexed(database_factory, tmp_path, media_root, engine)


class Statements:
    """SQL statements the app's engine sends while counting."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        event.listen(db.engine, "before_cursor_execute", self._count)

    def _count(self, _conn, _cursor, statement, *_args) -> None:
        self.sent.append(statement)

    def close(self) -> None:
        event.remove(db.engine, "before_cursor_execute", self._count)


@pytest.fixture
def statements(app):
    counter = Statements()
    yield counter
    counter.close()


def kinds_on(html: str) -> set[str]:
    return set(re.findall(r'class="result result-(\w+)"', html))


def get_page(client, url: str, lang: str = "zh-CN") -> str:
    response = client.get(url, headers={"Accept-Language": lang})
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# What a search must ask the database besides the rows: the outbox (anything to apply?),
# the synonym groups' stamp, the catalogue generation (re-read on every request under test),
# and, for a query shaped like a printed short code (chicken: 7 code letters), whether it is
# one (app/services/codes.printed_code).
FIXED_STATEMENTS = 4
# The engine's own statements for a search found at the first try: Whoosh reads its index
# files; PostgreSQL looks the query's lexemes up (one statement), counts the facets with
# the page of hits (one more), and may ask for its product heads, kept per catalogue
# generation (whose re-read under test is one more), and turns the planner's whole-table
# scan off around the ranked statement and back (two, transaction-local: see
# app/search/postgresql.py).
ENGINE_STATEMENTS = {"whoosh": 0, "postgresql": 5}


@pytest.mark.parametrize(
    "url, kinds",
    [
        ("/search?q=文昌", {"product", "sign", "brand", "enterprise", "county"}),
        ("/search?q=wenchang&lang=en", {"product", "sign", "brand", "enterprise", "county"}),
        ("/search?q=咖啡", {"product", "sign", "brand", "enterprise"}),
        ("/search?q=lychee&lang=en", {"product", "sign"}),
        ("/search?q=haikou", {"product", "sign", "county"}),
        ("/search?q=chicken&kind=product", {"product"}),
        ("/search?q=hainan&page=2", None),  # a page of 24 hits: whatever kinds it has
    ],
)
def test_result_rows_take_one_statement_per_kind_on_the_page(
    app, client, statements, engine, url, kinds
):
    app.config["SEARCH_PAGE_CACHE_ENTRIES"] = 0  # every request answered
    get_page(client, url)  # the facet names are read once per catalogue generation
    statements.sent.clear()
    html = get_page(client, url)
    found = kinds_on(html)
    if kinds is not None:
        assert found == kinds
    sent = "\n".join(s[:90].replace("\n", " ") for s in statements.sent)
    bound = len(found) + FIXED_STATEMENTS + ENGINE_STATEMENTS[engine]
    assert found and len(statements.sent) <= bound, sent


def engine_statements(sent: list[str]) -> list[str]:
    """The PostgreSQL engine's statements (on its tables) among those sent."""
    return [s for s in sent if "search_terms" in s or "search_documents" in s]


@pytest.mark.parametrize(
    "engine", [pytest.param("postgresql", marks=pytest.mark.postgresql_engine)]
)
@pytest.mark.parametrize(
    "url, bound",
    [
        # Found at once: lexicon, facets with the page.
        ("/search?q=文昌鸡", 2),
        ("/search?q=coffee", 2),
        ("/search?q=wen chang ji", 2),
        ("/search?q=鸡肉", 2),  # catalogue parts: 鸡 as a product head
        ("/search?q=咖啡粉", 2),  # catalogue parts: 咖啡
        ("/search?q=lychee&county=haikou", 2),
        ("/search?q=hainan&page=2", 2),
        ("/search?q=hainan&page=99", 2),  # past the end: the last page, same statement
        ("/search?q=sweet potato", 2),
        # Misspelt: + the nearest words with their pinyin, the correction's lexicon, its run.
        ("/search?q=chiken", 5),
        ("/search?q=wenchnag", 5),
        ("/search?q=bananna", 5),
        # Nothing found, nothing near: + one nearest-words statement per word, and for
        # several words the loose retry.
        ("/search?q=zzzz", 3),
        ("/search?q=xyzzy plugh", 5),
    ],
)
def test_postgresql_engine_statements_per_search(app, client, statements, url, bound):
    app.config["SEARCH_PAGE_CACHE_ENTRIES"] = 0
    get_page(client, url)  # product heads and facet names: once per catalogue generation
    statements.sent.clear()
    get_page(client, url)
    own = engine_statements(statements.sent)
    assert 1 <= len(own) <= bound, "\n".join(s[:90].replace("\n", " ") for s in own)


# Freshness questions a search asks (app/search/recheck.py): the table each reads, and the
# engines that ask it.
FRESHNESS_QUESTIONS = [
    pytest.param("search_outbox", "whoosh", id="outbox-whoosh"),
    pytest.param("synonym_groups", "whoosh", id="synonyms-whoosh"),
    pytest.param(
        "synonym_groups",
        "postgresql",
        id="synonyms-postgresql",
        marks=pytest.mark.postgresql_engine,
    ),
]


@pytest.mark.parametrize("table, engine", FRESHNESS_QUESTIONS)
@pytest.mark.parametrize("cache_entries", [0, 500])
def test_freshness_questions_are_asked_once_per_interval(
    app, client, statements, table, cache_entries
):
    app.config.update(PAGE_CACHE_CHECK_SECONDS=60, SEARCH_PAGE_CACHE_ENTRIES=cache_entries)
    get_page(client, "/search?q=coffee")
    statements.sent.clear()
    for query in ("tea", "文昌鸡", "wenchang chicken", "chiken"):
        get_page(client, f"/search?q={query}")
    assert not [s for s in statements.sent if table in s]
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 0  # the interval passed
    get_page(client, "/search?q=lychee")
    assert [s for s in statements.sent if table in s]


def add_synonyms_elsewhere() -> None:
    """Another process's commit: no session of this one sees it (no commit hook here)."""
    with db.engine.begin() as connection:
        connection.execute(insert(SynonymGroup).values(terms="kopi,coffee", note=""))


def test_another_process_change_shows_once_the_interval_passed(app, client):
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 60
    url = "/search?q=kopi&lang=en"
    before = get_page(client, url)
    add_synonyms_elsewhere()
    assert get_page(client, url) == before  # within the interval: this process's answer
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 0
    after = get_page(client, url)
    assert "/products/xinglong-coffee" not in before and "/products/xinglong-coffee" in after


@pytest.mark.parametrize(
    "url, lang",
    [
        ("/search?q=文昌鸡", "zh-CN"),
        ("/search?q=文昌鸡", "en"),
        ("/search?q=文昌鸡&lang=en", "zh-CN"),
        ("/search?q=coffee&kind=product", "en"),
        ("/search?q=coffee&county=wanning&utm_source=x", "en"),
        ("/search?q=hainan&page=2", "zh-CN"),
        ("/search?q=cofee", "en"),  # did you mean
        ("/search?q=qwertyuiop", "zh-CN"),  # nothing found: related places
    ],
)
def test_a_kept_page_is_the_page_rendered_and_asks_no_more_than_the_state(
    app, client, statements, url, lang
):
    rendered = get_page(client, url, lang)
    statements.sent.clear()
    kept = get_page(client, url, lang)
    assert kept == rendered
    assert len(statements.sent) <= FIXED_STATEMENTS, statements.sent
    app.config["SEARCH_PAGE_CACHE_ENTRIES"] = 0
    assert get_page(client, url, lang) == rendered


@pytest.mark.parametrize(
    "url_a, lang_a, url_b, lang_b",
    [
        ("/search?q=文昌鸡", "zh-CN", "/search?q=文昌鸡", "en"),
        ("/search?q=coffee", "en", "/search?q=coffee&kind=product", "en"),
        ("/search?q=hainan", "en", "/search?q=hainan&page=2", "en"),
        ("/search?q=tea&lang=zh", "en", "/search?q=tea&lang=en", "en"),
    ],
)
def test_pages_that_differ_are_kept_apart(client, url_a, lang_a, url_b, lang_b):
    first = get_page(client, url_a, lang_a)
    assert get_page(client, url_b, lang_b) != first
    assert get_page(client, url_a, lang_a) == first


def product(slug: str) -> Product:
    return db.session.scalar(select(Product).where(Product.slug == slug))


def rename_product() -> None:
    product("xinglong-coffee").name_en = "Xinglong Roast Coffee"


def archive_product() -> None:
    product("xinglong-coffee").status = PublicationStatus.ARCHIVED


def rename_county() -> None:  # shown under each product hit
    county = db.session.scalar(select(County).where(County.slug == "wanning"))
    county.name_en = "Wanning City"


def rename_category() -> None:  # a facet's label only: no document changes
    category = db.session.scalar(select(Category).where(Category.slug == "coffee"))
    category.name_en = "Coffee Beans"


def add_synonyms() -> None:
    db.session.add(SynonymGroup(terms="kopi,coffee"))


@pytest.mark.parametrize("interval", [0, 60])  # PAGE_CACHE_CHECK_SECONDS: a local commit shows
@pytest.mark.parametrize(
    "query, change, shown",
    [
        ("coffee", rename_product, "Xinglong Roast Coffee"),
        ("coffee", archive_product, None),
        ("coffee", rename_county, "Wanning City"),
        ("coffee", rename_category, "Coffee Beans"),
        ("kopi", add_synonyms, "/products/xinglong-coffee"),
    ],
)
def test_a_change_shows_at_once_on_a_kept_page(
    app, client, interval: float, query: str, change: Callable[[], None], shown: str | None
):
    app.config["PAGE_CACHE_CHECK_SECONDS"] = interval
    url = f"/search?q={query}&lang=en"
    before = get_page(client, url)
    assert get_page(client, url) == before  # kept
    change()
    db.session.commit()
    after = get_page(client, url)
    assert after != before
    if shown is None:
        assert "/products/xinglong-coffee" in before and "/products/xinglong-coffee" not in after
    else:
        assert shown not in before and shown in after


@pytest.mark.parametrize("engine", ["whoosh"])  # a node's index gone
def test_answers_of_the_database_fallback_are_not_kept(client):
    store = lifecycle.get_store()
    store.close()
    shutil.rmtree(store.root)
    for _ in range(2):
        html = get_page(client, "/search?q=文昌鸡&lang=en")
        assert "simpler results" in html
    assert len(rendered_searches) == 0


@pytest.mark.parametrize(
    "url", ["/search?q=coffee", "/search?q=zzzz", "/search?q=chiken", "/?lang=en&n=1", "/products/"]
)
def test_public_pages_never_look_the_visitor_up(app, client, monkeypatch, url):
    looked_up = []
    monkeypatch.setattr(app.login_manager, "_load_user", lambda: looked_up.append(url))
    app.config["SEARCH_PAGE_CACHE_ENTRIES"] = 0
    assert client.get(url).status_code == 200
    assert looked_up == []
