"""The search page on a phone (issue 11) in a real browser at 390x844: what was found comes
first, the filters sit below it, and nothing is wider than the screen."""

import pytest

from app import create_app
from app.search import rebuild_index
from tests.conftest import make_config
from tests.e2e.support import serving
from tests.e2e.test_browse import PHONE, new_page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def search_server(database_factory, media_root, tmp_path_factory):
    """A live server whose search index is built (the shared one answers from the
    database fallback, which has no facets: under test the index is not built on demand)."""
    app = create_app(make_config(database_factory(), tmp_path_factory.mktemp("search"), media_root))
    with app.app_context():
        rebuild_index()
    with serving(app) as base_url:
        yield base_url


@pytest.mark.parametrize(
    "lang, query",
    [("zh", "文昌"), ("en", "wenchang"), ("en", "文昌鸡&kind=sign&county=wenchang")],
)
def test_search_on_a_phone(browser, search_server, artifacts, lang, query):
    page = new_page(browser, PHONE, lang)
    page.goto(f"{search_server}/search?q={query}&lang={lang}")
    assert page.locator(".notice").count() == 0  # the index answered, not the fallback
    results = page.locator("ol.results")
    filters = page.locator("details.search-filters")
    assert results.locator("li.result").count() > 0
    results_top = results.evaluate("e => e.getBoundingClientRect().top")
    filters_top = filters.evaluate("e => e.getBoundingClientRect().top")
    assert results_top < filters_top
    assert results_top < PHONE["height"]  # the first result is on the first screen
    # Every thumbnail loaded (a drawing or photo, not a broken image).
    for img in results.locator(".result-thumb img").all():
        assert img.evaluate("i => i.complete && i.naturalWidth > 0"), img.get_attribute("src")
    # The disclosure opens without JavaScript's help and holds the facet links.
    filters.locator("summary").click()
    assert filters.locator("a.facet").first.is_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.evaluate("() => window.innerWidth"), width
    page.screenshot(path=artifacts / f"search-{lang}-phone-{len(query)}.png", full_page=True)
    assert page.outside_requests == []
