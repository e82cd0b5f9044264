"""The search page's work per request: statements sent to the database (result rows in one
statement per kind, nothing per hit), and the search page cache (app/search/views.py):
an answer kept is the answer rendered, and a change shows at once."""

import re
import shutil
from collections.abc import Callable

import pytest
from sqlalchemy import event, select

from app.db import db
from app.models import Category, County, Product, PublicationStatus, SynonymGroup
from app.search import lifecycle
from app.search.views import rendered_searches
from tests.search_helpers import serve_indexed


@pytest.fixture
def app(database_factory, tmp_path, media_root):
    rendered_searches.clear()
    yield from serve_indexed(database_factory, tmp_path, media_root)


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
def test_result_rows_take_one_statement_per_kind_on_the_page(app, client, statements, url, kinds):
    app.config["SEARCH_PAGE_CACHE_ENTRIES"] = 0  # every request answered
    get_page(client, url)  # the facet names are read once per catalogue generation
    statements.sent.clear()
    html = get_page(client, url)
    found = kinds_on(html)
    if kinds is not None:
        assert found == kinds
    sent = "\n".join(s[:90].replace("\n", " ") for s in statements.sent)
    assert found and len(statements.sent) <= len(found) + FIXED_STATEMENTS, sent


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
    client, query: str, change: Callable[[], None], shown: str | None
):
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


def test_answers_of_the_database_fallback_are_not_kept(client):
    store = lifecycle.get_store()
    store.close()
    shutil.rmtree(store.root)
    for _ in range(2):
        html = get_page(client, "/search?q=文昌鸡&lang=en")
        assert "simpler results" in html
    assert len(rendered_searches) == 0
