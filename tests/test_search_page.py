"""The search page on a phone (issue 11): results before the filter disclosure, active
filters as chips that each drop one filter, a thumbnail with alt text on every result, kind
and regime labels in both languages, snippets in the page's language. Against each search
engine (the `engine` fixture)."""

import re
from html import unescape
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from app.db import db
from app.labels import label
from app.models import Product, ProductImage
from app.search.views import rendered_searches
from tests.search_helpers import serve_indexed

RESULT = re.compile(r'<li class="result result-(\w+)">(.*?)</li>', re.S)


@pytest.fixture
def app(database_factory, tmp_path, media_root, engine):
    rendered_searches.clear()
    yield from serve_indexed(database_factory, tmp_path, media_root, engine)


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def results(html: str) -> list[tuple[str, str]]:
    """(kind, inner HTML) of each result line, in order."""
    found = RESULT.findall(html)
    assert found, "no result lines"
    return found


def line_linking(html: str, kind: str, href: str) -> str:
    lines = [body for k, body in results(html) if k == kind and f'href="{href}' in body]
    assert lines, (kind, href)
    return lines[0]


def snippet_of(line: str) -> tuple[str | None, str]:
    """(lang attribute or None, text) of a line's snippet."""
    found = re.search(r'<p class="snippet"(?: lang="([^"]+)")?>(.*?)</p>', line, re.S)
    assert found, line
    return found.group(1), unescape(re.sub(r"<[^>]+>", "", found.group(2)))


# --- layout ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang, summary", [("zh", "筛选"), ("en", "Filter")])
def test_results_come_before_the_filter_disclosure(client, lang, summary):
    html = page(client, f"/search?q=wenchang&lang={lang}")
    results_at = html.index('<ol class="results">')
    filters_at = html.index('<details class="search-filters">')
    assert results_at < filters_at
    # A disclosure closed by default, which works without JavaScript, holding the facets.
    assert re.search(rf"<summary>{summary}</summary>", html)
    assert html.index('class="facet"', filters_at) > filters_at


def test_no_filter_disclosure_without_results(client):
    html = page(client, "/search?q=zzzz&lang=en")
    assert '<details class="search-filters">' not in html and "Browse by county" in html


# --- chips ----------------------------------------------------------------------------

CHIP = re.compile(r'<a class="chip" href="\?([^"]*)">')


@pytest.mark.parametrize(
    "filters",
    [
        {"kind": "product"},
        {"county": "wenchang"},
        {"regime": "gi_trademark"},
        {"kind": "product", "county": "wenchang"},
        {"kind": "sign", "regime": "gi_trademark", "county": "wenchang"},
        {"category": "poultry", "page": "1"},
    ],
)
def test_each_chip_removes_exactly_its_filter_and_keeps_the_query(client, filters):
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    html = page(client, f"/search?q=文昌&lang=en&{query}")
    chips = [parse_qs(unescape(href)) for href in CHIP.findall(html)]
    active = {k: [v] for k, v in filters.items() if k != "page"}
    kept = {"q": ["文昌"], "lang": ["en"]}
    removed = []
    for chip in chips:
        assert chip.items() >= kept.items(), chip  # the query and language stay
        dropped = set(active) - set(chip)
        assert len(dropped) == 1, chip  # exactly one filter goes, and the page with it
        assert chip == kept | {k: v for k, v in active.items() if k not in dropped}
        removed += dropped
    assert sorted(removed) == sorted(active)  # one chip per active filter


def test_chips_show_the_filter_names_in_the_page_language(client):
    zh = page(client, "/search?q=文昌&kind=product&county=wenchang")
    en = page(client, "/search?q=文昌&kind=product&county=wenchang&lang=en")
    chip_text = re.compile(r'<a class="chip" href="[^"]*">([^<]+) <span')
    assert chip_text.findall(zh) == ["类型: 产品", "市县: 文昌市"]
    assert chip_text.findall(en) == ["Type: Product", "County: Wenchang"]


def test_no_chips_without_filters(client):
    assert 'class="chip"' not in page(client, "/search?q=文昌")


# --- result lines ---------------------------------------------------------------------

IMG_ALT = re.compile(r'<img src="([^"]+)" width="72" height="72" alt="([^"]+)"')
TILE_LABEL = re.compile(r'class="result-thumb result-initial" role="img" aria-label="([^"]+)"')


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("query", ["文昌", "coffee", "haikou"])
def test_every_result_has_a_thumbnail_with_alt_text(client, lang, query):
    kinds = set()
    for kind, line in results(page(client, f"/search?q={query}&lang={lang}")):
        kinds.add(kind)
        if kind == "county":  # no product: a tile with the name's first character
            assert TILE_LABEL.search(line), line
            continue
        found = IMG_ALT.search(line)
        assert found, line
        src, alt = found.groups()
        path = src.split("?", 1)[0]  # static URLs carry their content hash (?v=)
        assert path.startswith("/static/vendor/openmoji/") and path.endswith(".svg")
        assert alt.startswith("插图：" if lang == "zh" else "Illustration: ")
    assert len(kinds) > 1


def test_a_product_photo_is_its_results_thumbnail(app, client):
    product = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    db.session.add(
        ProductImage(
            product=product,
            content_hash="ab" + "0" * 62,
            width=1200,
            height=800,
            alt_zh="散养的文昌鸡",
            alt_en="Free-range Wenchang chickens",
            is_cover=True,
        )
    )
    db.session.commit()
    for lang, alt in (("zh", "散养的文昌鸡"), ("en", "Free-range Wenchang chickens")):
        html = page(client, f"/search?q=文昌鸡&lang={lang}")
        for kind, href in (
            ("product", "/products/wenchang-chicken"),
            ("sign", "/products/wenchang-chicken#sign"),
        ):
            src, shown = IMG_ALT.search(line_linking(html, kind, href)).groups()
            assert src == f"/media/ab/ab{'0' * 62}-320.jpg" and shown == alt


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_sign_and_its_product_of_one_name_are_told_apart(app, client, lang):
    """Kind, then for a sign its regime and number: no two lines read alike."""
    product = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    with app.test_request_context(f"/?lang={lang}"):
        expected_signs = {
            f"{label(s.regime)} · {s.number}" if s.number else label(s.regime)
            for s in product.signs
        }
        kinds = (label("product", "SearchKind"), label("sign", "SearchKind"))
    html = page(client, f"/search?q=文昌鸡&lang={lang}")
    product_line = line_linking(html, "product", '/products/wenchang-chicken"')
    assert f'<span class="result-kind">{kinds[0]}</span>' in product_line
    assert 'class="result-meta">' + ("文昌市" if lang == "zh" else "Wenchang") in product_line
    shown = []
    for kind, line in results(html):
        if kind == "sign" and "wenchang-chicken#sign" in line:
            assert f'<span class="result-kind">{kinds[1]}</span>' in line
            shown.append(re.search(r'<span class="result-meta">([^<]+)</span>', line).group(1))
    assert shown and len(set(shown)) == len(shown)
    assert set(shown) <= expected_signs


@pytest.mark.parametrize(
    "lang, regime_value, shown",
    [
        ("zh", "gi_trademark", "地理标志商标"),
        ("en", "gi_trademark", "GI trademark"),
        ("zh", "cnipa_gi_product", "地理标志保护产品"),
        ("en", "cnipa_gi_product", "Protected GI product"),
    ],
)
def test_sign_regime_labels_in_both_languages(client, lang, regime_value, shown):
    html = page(client, f"/search?q=文昌&kind=sign&regime={regime_value}&lang={lang}")
    for kind, line in results(html):
        assert kind == "sign"
        assert f'<span class="result-meta">{shown}' in line


# --- snippets in the page's language --------------------------------------------------


def drop_english(slug: str) -> None:
    product = db.session.scalar(select(Product).where(Product.slug == slug))
    product.summary_en = product.description_en = product.characteristics_en = None
    db.session.commit()


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize(
    "lang, english, expected_lang, chinese_text",
    [
        ("zh", True, None, True),  # the Chinese page: Chinese description
        ("zh", False, None, True),
        ("en", True, None, False),  # the English page: the English description
        ("en", False, "zh-Hans", True),  # none in English: the Chinese one, said so
    ],
)
def test_snippet_language(app, client, lang, english, expected_lang, chinese_text):
    if not english:
        drop_english("xinglong-coffee")
    html = page(client, f"/search?q=兴隆咖啡&lang={lang}")
    snippet_lang, text = snippet_of(line_linking(html, "product", '/products/xinglong-coffee"'))
    assert snippet_lang == expected_lang
    assert has_cjk(text) == chinese_text, text
    if chinese_text:
        assert "<mark>" in line_linking(html, "product", '/products/xinglong-coffee"')
