"""Canonical and alternate-language URLs (issue 8, kind 5): every language version of every
public page names itself canonical, every version and the sitemap carry the same hreflang
set plus x-default, and every indexable page has a title and a meta description."""

import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from app.db import db
from app.models import Brand, Enterprise, Product, PublicationStatus
from app.services import catalogue, codes, expos

SITE = "http://127.0.0.1:5000"  # TestingConfig's SITE_BASE_URL
HREFLANG = {"zh": "zh-Hans", "en": "en"}


class Head(HTMLParser):
    """The SEO-relevant parts of a page: canonical, alternates, title, description, og:url,
    JSON-LD."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.canonical: list[str] = []
        self.alternates: list[tuple[str, str]] = []
        self.description: list[str] = []
        self.og_url: list[str] = []
        self.title = ""
        self.html_lang = ""
        self._in_title = False
        self.feed(page)
        self.jsonld = [
            json.loads(unescape(m))
            for m in re.findall(
                r'<script type="application/ld\+json">(.*?)</script>', page, re.DOTALL
            )
        ]

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang", "")
        elif tag == "title":
            self._in_title = True
        elif tag == "link" and a.get("rel") == "canonical":
            self.canonical.append(a["href"])
        elif tag == "link" and a.get("rel") == "alternate" and "hreflang" in a:
            self.alternates.append((a["hreflang"], a["href"]))
        elif tag == "meta" and a.get("name") == "description":
            self.description.append(a.get("content", ""))
        elif tag == "meta" and a.get("property") == "og:url":
            self.og_url.append(a["content"])

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def first_published(model) -> str:
    return db.session.scalar(
        select(model.slug).where(model.status == PublicationStatus.PUBLISHED).order_by(model.slug)
    )


@pytest.fixture
def page_kinds(app) -> dict[str, str]:
    """One URL per public page kind (path, maybe with the page's own query)."""
    today = catalogue.local_today()
    expos.create_event(
        "hainan-expo",
        "海南农博会",
        today - timedelta(days=1),
        today + timedelta(days=2),
        name_en="Hainan Agri Expo",
    )
    db.session.commit()
    chicken = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    return {
        "home": "/",
        "counties": "/counties/",
        "county": "/counties/wenchang",
        "products": "/products/",
        "products page 2": "/products/?page=2",
        "product": "/products/wenchang-chicken",
        "brand": f"/brands/{first_published(Brand)}",
        "enterprise": f"/enterprises/{first_published(Enterprise)}",
        "categories": "/categories/",
        "category": "/categories/fruit",
        "register": "/register/",
        "register filtered": "/register/?regime=gi_trademark&sort=name",
        "passport": f"/q/{codes.code_for(chicken)}",
        "expo": "/expo/hainan-expo",
        "verify": "/verify",
    }


KINDS = [
    "home",
    "counties",
    "county",
    "products",
    "products page 2",
    "product",
    "brand",
    "enterprise",
    "categories",
    "category",
    "register",
    "register filtered",
    "passport",
    "expo",
    "verify",
]


def with_lang(url: str, lang: str | None) -> str:
    if lang is None:
        return url
    return f"{url}{'&' if '?' in url else '?'}lang={lang}"


def expected_alternates(url: str) -> set[tuple[str, str]]:
    return {(HREFLANG[lang], SITE + with_lang(url, lang)) for lang in ("zh", "en")} | {
        ("x-default", SITE + url)
    }


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_language_version_is_self_canonical_with_full_hreflang_set(
    app_ctx, app, page_kinds, kind, lang
):
    url = page_kinds[kind]
    response = app.test_client(use_cookies=False).get(with_lang(url, lang))
    assert response.status_code == 200
    head = Head(response.get_data(as_text=True))
    assert head.html_lang == HREFLANG[lang]
    assert head.canonical == [SITE + with_lang(url, lang)]
    assert len(head.alternates) == 3 and set(head.alternates) == expected_alternates(url)
    assert head.title.split(" · ")[0].strip(), "empty title"
    assert len(head.description) == 1 and head.description[0].strip(), "no meta description"
    assert head.og_url in ([], head.canonical)
    for data in head.jsonld:
        assert data["url"] == head.canonical[0]


@pytest.mark.parametrize(
    ("header", "lang"),
    [("zh-CN,en-US;q=0.7,en;q=0.3", "zh"), ("en-GB,en;q=0.5", "en"), ("fr", "zh"), (None, "zh")],
)
@pytest.mark.parametrize("kind", ["home", "county", "product", "passport", "register filtered"])
def test_the_bare_url_names_the_version_it_shows(app_ctx, app, page_kinds, kind, header, lang):
    """The language-neutral URL is the x-default: it shows the negotiated version and, as
    every member of the hreflang set, names itself canonical."""
    url = page_kinds[kind]
    headers = {} if header is None else {"Accept-Language": header}
    client = app.test_client(use_cookies=False)
    for _ in range(2):  # the second may come from a fast path
        head = Head(client.get(url, headers=headers).get_data(as_text=True))
        assert head.html_lang == HREFLANG[lang]
        assert head.canonical == [SITE + url]
        assert set(head.alternates) == expected_alternates(url)


def test_a_repeated_lang_parameter_gives_one_canonical(app):
    head = Head(app.test_client().get("/products/?lang=en&lang=zh").get_data(as_text=True))
    assert head.canonical == [SITE + "/products/?lang=en"]


def sitemap_entries(client) -> dict[str, set[tuple[str, str]]]:
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    root = ET.fromstring(client.get("/sitemap.xml").data)
    return {
        entry.find("s:loc", ns).text: {
            (link.get("hreflang"), link.get("href")) for link in entry.findall("x:link", ns)
        }
        for entry in root.findall("s:url", ns)
    }


def test_sitemap_lists_each_language_version_with_itself_and_x_default(client):
    entries = sitemap_entries(client)
    for loc, alternates in entries.items():
        assert loc in {href for _, href in alternates}
        path = loc.removeprefix(SITE).rsplit("?lang=", 1)[0]
        assert alternates == expected_alternates(path), loc
        assert loc.startswith(SITE + "/")
    for path in (
        "/",
        "/products/",
        "/counties/",
        "/categories/",
        "/register/",
        "/counties/wenchang",
        "/categories/fruit",
        "/products/wenchang-chicken",
    ):
        for lang in ("zh", "en", None):
            assert SITE + with_lang(path, lang) in entries, path


# The kinds of page the sitemap lists (KINDS also has a second page, a filtered list and pages
# the sitemap does not list).
IN_SITEMAP = [
    kind
    for kind in KINDS
    if kind not in {"products page 2", "register filtered", "passport", "expo", "verify"}
]


@pytest.mark.parametrize("kind", IN_SITEMAP)
def test_sitemap_and_page_carry_the_same_hreflang_set(app_ctx, app, page_kinds, kind):
    client = app.test_client(use_cookies=False)
    entries = sitemap_entries(client)
    url = page_kinds[kind]
    for lang in ("zh", "en", None):
        head = Head(client.get(with_lang(url, lang)).get_data(as_text=True))
        assert entries[head.canonical[0]] == set(head.alternates)


def test_sitemap_leaves_out_unpublished_products(app_ctx, client):
    hidden = db.session.scalars(
        select(Product.slug).where(Product.status != PublicationStatus.PUBLISHED)
    ).all()
    locs = "\n".join(sitemap_entries(client))
    for slug in hidden:
        assert f"/products/{slug}?" not in locs


# Error answers name no canonical and no language versions (they are not pages to index).
ERROR_URLS = [
    "/products/no-such-product",
    "/products/no-such-product?lang=en",
    "/products/?page=999",
    "/products/?page=abc",
    "/counties/atlantis",
    "/q/ZZZZZZZZ",
    "/no/such/path",
]


@pytest.mark.parametrize("url", ERROR_URLS)
def test_error_pages_carry_no_canonical_or_alternates(client, url):
    response = client.get(url)
    assert response.status_code in (400, 404, 410)
    html = response.get_data(as_text=True)
    assert 'rel="canonical"' not in html and 'rel="alternate"' not in html
    assert '<meta name="robots" content="noindex">' in html


# Tracking and unknown parameters never reach canonical or alternate URLs; page=1 is the
# list itself. (query sent, what the canonical's query must be)
CANONICAL_QUERIES = [
    ("/products/wenchang-chicken?lang=en&foo=%3Cx%3E", "lang=en"),
    ("/products/wenchang-chicken?utm_source=wechat&utm_medium=share", ""),
    ("/products/wenchang-chicken?from=singlemessage&isappinstalled=0&lang=zh", "lang=zh"),
    ("/products/?page=1", ""),
    ("/products/?page=2&utm_campaign=x", "page=2"),
    ("/products/?county=wenchang&fbclid=abc", "county=wenchang"),
    ("/register/?regime=agri_gi&gclid=1&lang=en", "regime=agri_gi&lang=en"),
    ("/counties/wenchang?spm=a2c4g&lang=en", "lang=en"),
]


@pytest.mark.parametrize(("url", "query"), CANONICAL_QUERIES)
def test_canonical_keeps_only_content_parameters(client, app, url, query):
    html = client.get(url).get_data(as_text=True)
    base = app.config["SITE_BASE_URL"] + url.split("?")[0]
    expected = base + (f"?{query}" if query else "")
    assert f'<link rel="canonical" href="{expected}">' in html.replace("&amp;", "&")
    for junk in ("foo=", "utm_", "from=", "fbclid", "gclid", "spm="):
        assert junk not in html.split("</head>")[0]
