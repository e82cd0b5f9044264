"""Public pages: content, publication filtering, languages, errors, caching, headers."""

import json
import re

import pytest
from sqlalchemy import select

from app.db import db
from app.models import Brand, County, Enterprise, GISign, Product, PublicationStatus
from app.services import codes


def html(response) -> str:
    return response.get_data(as_text=True)


def product(slug: str) -> Product:
    return db.session.scalar(select(Product).where(Product.slug == slug))


# --- every page type renders --------------------------------------------------------------


def test_home_shows_search_featured_counties_categories_and_season(client):
    page = html(client.get("/?lang=zh"))
    assert 'action="/search"' in page and 'name="q"' in page
    assert "文昌鸡" in page
    assert page.count('href="/counties/') >= 19 * 2  # map links and the accessible list
    assert "<svg" in page and 'href="/counties/wenchang"' in page
    assert 'href="/categories/fruit"' in page
    assert page.count("<h1") == 1


def test_county_page_lists_its_products_signs_brands_and_enterprises(client):
    page = html(client.get("/counties/wenchang?lang=en"))
    assert "<h1>Wenchang" in page
    assert "/products/wenchang-chicken" in page
    assert "/enterprises/" in page


def test_counties_index_lists_all_units(client):
    page = html(client.get("/counties/"))
    for slug in ("haikou", "sansha", "dingan", "qiongzhong"):
        assert f'href="/counties/{slug}"' in page


def test_product_page_has_the_four_sections(client):
    page = html(client.get("/products/sanya-mango?lang=en"))
    for section in ('id="sign"', 'id="product"', 'id="brand"', 'id="industry"'):
        assert section in page
    # 三亚芒果 has three registrations: one per regime.
    assert page.count('class="sign"') == 3
    assert "Protected GI product" in page and "GI trademark" in page
    assert "Agricultural-product GI" in page


def test_product_page_shows_announcement_number_and_season(client):
    page = html(client.get("/products/xinglong-coffee?lang=zh"))
    assert "国家质检总局公告2007年第209号" in page
    assert 'class="season"' in page


def test_unverified_sign_is_marked_being_verified(app_ctx, client):
    sign = db.session.scalars(select(GISign).where(GISign.verified.is_(False))).first()
    page = html(client.get(f"/products/{sign.product.slug}?lang=en"))
    assert "Details being verified" in page


def passport_url() -> str:
    chicken = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    return f"/q/{codes.code_for(chicken)}"


@pytest.mark.parametrize(
    "url, lang, alt",
    [
        ("/products/wenchang-chicken", "zh", "插图：鸡"),
        ("/products/wenchang-chicken", "en", "Illustration: chicken"),
        ("/products/hele-crab", "en", "Illustration: crab"),
        ("/products/dongfang-li-brocade", "zh", "插图：纺织"),
        ("/categories/coffee", "en", "Illustration: coffee beans"),
        ("/counties/wenchang", "en", "Illustration: coconut"),
        ("/products/", "zh", "插图："),
        ("/", "zh", "插图：蟹"),
        ("/categories/poultry", "en", "Illustration: goose"),
        ("passport", "zh", "插图：鸡"),
        ("passport", "en", "Illustration: chicken"),
    ],
)
def test_products_without_photos_show_an_illustration_tile_not_a_placeholder(
    app_ctx, client, url, lang, alt
):
    page = html(client.get((passport_url() if url == "passport" else url) + f"?lang={lang}"))
    tile = re.search(
        rf'<span class="art-tile art-[a-z-]+[^"]*"><img src="([^"]+)"[^>]*alt="{alt}[^"]*"', page
    )
    assert tile, alt
    served = client.get(tile.group(1))
    served.close()
    assert served.status_code == 200 and served.mimetype == "image/svg+xml"
    assert "/media/" not in page  # the abstract generated picture no longer renders


@pytest.mark.parametrize("url", ["/", "/products/wenchang-chicken", "passport"])
@pytest.mark.parametrize("lang, credit", [("zh", "产品照片上传前所用插图"), ("en", "OpenMoji")])
def test_footer_credits_the_illustration_set(app_ctx, client, url, lang, credit):
    page = html(client.get((passport_url() if url == "passport" else url) + f"?lang={lang}"))
    footer = page.split("<footer", 1)[1]
    assert credit in footer and "https://openmoji.org/" in footer and "CC BY-SA 4.0" in footer


def test_product_page_has_jsonld_and_opengraph(client):
    page = html(client.get("/products/wenchang-chicken?lang=en"))
    data = json.loads(
        re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1)
    )
    assert data["@type"] == "Product" and data["name"] == "Wenchang Chicken"
    assert '<meta property="og:title" content="Wenchang Chicken">' in page


def test_brand_page(app_ctx, client):
    brand = db.session.scalars(select(Brand).order_by(Brand.id)).first()
    page = html(client.get(f"/brands/{brand.slug}?lang=zh"))
    assert brand.name_zh in page
    assert '"@type": "Brand"' in page or '"@type":"Brand"' in page


def test_enterprise_page_shows_authorization_status(app_ctx, client):
    enterprise = db.session.scalars(
        select(Enterprise).where(Enterprise.authorizations.any())
    ).first()
    page = html(client.get(f"/enterprises/{enterprise.slug}?lang=en"))
    assert enterprise.credit_code in page
    assert re.search(r'class="status status-(valid|expired|revoked)"', page)
    assert "Demo data" in page


def test_expired_and_revoked_authorizations_are_shown_as_such(app_ctx, client):
    from app.models import Authorization, AuthorizationStatus

    revoked = db.session.scalar(
        select(Authorization).where(Authorization.auth_status == AuthorizationStatus.REVOKED)
    )
    page = html(client.get(f"/enterprises/{revoked.enterprise.slug}?lang=en"))
    assert 'class="status status-revoked"' in page


def test_category_pages(client):
    assert "/products/" in html(client.get("/categories/fruit"))
    assert client.get("/categories/").status_code == 200


# (a filtered list, what it shows, what it leaves out)
FILTERED_LISTS = [
    (
        "/products/?county=wanning&lang=en",
        "/products/xinglong-coffee",
        "/products/wenchang-chicken",
    ),
    ("/products/?category=coffee", "/products/xinglong-coffee", "/products/sanya-mango"),
    ("/products/?regime=cnipa_gi_product&county=sanya", "/products/sanya-mango", None),
    ("/register/?regime=gi_trademark&lang=zh", "东方黎锦", "兴隆咖啡"),
    ("/register/?year=2007", "兴隆咖啡", "东方黎锦"),
]


@pytest.mark.parametrize(("url", "shown", "left_out"), FILTERED_LISTS)
def test_product_list_and_register_filter_by_county_category_regime_and_year(
    client, url, shown, left_out
):
    page = html(client.get(url))
    assert shown in page
    assert left_out is None or left_out not in page


def test_products_list_is_paginated(client, app):
    app.config["PER_PAGE"] = 5
    first = html(client.get("/products/"))
    second = html(client.get("/products/?page=2"))
    assert first.count('class="card"') == 5 and second.count('class="card"') == 5
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_register_sorts(client):
    asc = html(client.get("/register/?sort=name&dir=asc"))
    desc = html(client.get("/register/?sort=name&dir=desc"))
    first_row = lambda p: re.search(r'<th scope="row"><a href="([^"]+)"', p).group(1)  # noqa: E731
    assert first_row(asc) != first_row(desc)
    assert 'aria-sort="ascending"' in asc


# --- publication filtering ----------------------------------------------------------------


@pytest.mark.parametrize(
    "status", [PublicationStatus.DRAFT, PublicationStatus.SUBMITTED, PublicationStatus.ARCHIVED]
)
def test_unpublished_products_are_invisible(app_ctx, client, status):
    chicken = product("wenchang-chicken")
    chicken.status = status
    db.session.commit()
    assert client.get("/products/wenchang-chicken").status_code == 404
    assert "/products/wenchang-chicken" not in html(client.get("/products/?county=wenchang"))
    assert "/products/wenchang-chicken" not in html(client.get("/counties/wenchang"))
    assert "/products/wenchang-chicken" not in html(client.get("/"))
    assert "/products/wenchang-chicken" not in html(client.get("/sitemap.xml"))


def test_draft_sign_is_not_listed(app_ctx, client):
    sign = db.session.scalar(select(GISign).where(GISign.number == "国家质检总局公告2007年第209号"))
    sign.status = PublicationStatus.DRAFT
    db.session.commit()
    assert "国家质检总局公告2007年第209号" not in html(client.get("/products/xinglong-coffee"))
    assert "国家质检总局公告2007年第209号" not in html(client.get("/register/"))


def test_publishing_invalidates_the_page_cache(app_ctx, client):
    first = client.get("/products/wenchang-chicken?lang=zh")
    chicken = product("wenchang-chicken")
    chicken.summary_zh = "缓存失效测试摘要"
    db.session.commit()
    second = client.get("/products/wenchang-chicken?lang=zh")
    assert "缓存失效测试摘要" in html(second)
    assert first.headers["ETag"] != second.headers["ETag"]


# --- languages ------------------------------------------------------------------------


def test_language_follows_accept_language_by_default(client):
    page = html(
        client.get("/products/wenchang-chicken", headers={"Accept-Language": "en-US,en;q=0.9"})
    )
    assert '<html lang="en">' in page
    page = html(
        client.get("/products/wenchang-chicken", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    )
    assert '<html lang="zh-Hans">' in page


def test_lang_parameter_switches_and_is_remembered(client):
    response = client.get("/?lang=en", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in html(response)
    assert "lang=en" in response.headers["Set-Cookie"]
    follow = client.get("/counties/", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in html(follow)


def test_every_page_declares_hreflang_alternates(client):
    page = html(client.get("/products/sanya-mango"))
    assert 'hreflang="zh-Hans"' in page and 'hreflang="en"' in page


def test_english_page_shows_chinese_with_a_note_when_english_is_missing(app_ctx, client):
    missing = db.session.scalars(
        select(Product).where((Product.description_en.is_(None)) | (Product.description_en == ""))
    ).first()
    assert missing is not None, "the seed keeps one product without English text"
    page = html(client.get(f"/products/{missing.slug}?lang=en"))
    assert missing.description_zh[:10] in page
    assert "English text not yet available" in page


def test_ui_strings_are_translated(client):
    zh = html(client.get("/products/sanya-mango?lang=zh"))
    en = html(client.get("/products/sanya-mango?lang=en"))
    assert "Protected GI product" in en and "地理标志保护产品" in zh
    assert "Protected GI product" not in zh


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/products/no-such-thing",
        "/counties/atlantis",
        "/brands/nope",
        "/enterprises/nope",
        "/categories/nope",
        "/no/such/page",
        "/media/../config.py",
        "/media/ab/evil.svg",
    ],
)
def test_unknown_things_are_404_in_the_users_language(client, url):
    response = client.get(url + ("&" if "?" in url else "?") + "lang=en")
    assert response.status_code == 404
    assert "Page not found" in html(response)
    client.delete_cookie("lang")
    zh = client.get(url, headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 404 and "页面不存在" in html(zh)


@pytest.mark.parametrize(
    "url",
    [
        "/products/?page=abc",
        "/products/?page=%C2%B2",
        "/register/?year=%C2%B2%C2%B2%C2%B2%C2%B2",
        "/products/?page=0",
        "/products/?page=-1",
        "/products/?county=atlantis",
        "/products/?regime=bogus",
        "/products/?category=%00",
        "/register/?year=20x7",
        "/register/?sort=drop%20table",
        "/register/?dir=sideways",
        "/register/?status=maybe",
    ],
)
def test_malformed_parameters_are_400_not_500(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert "invalid value" in html(response) or "无效" in html(response)


def test_page_beyond_the_last_is_404(client):
    assert client.get("/products/?page=999").status_code == 404


# --- caching and headers ------------------------------------------------------------------


def test_public_pages_are_cacheable_and_revalidate_with_304(client):
    first = client.get("/products/wenchang-chicken?lang=en")  # sets the language cookie
    assert "private" in first.headers["Cache-Control"]  # a shared cache must not replay it
    response = client.get("/products/wenchang-chicken?lang=en")  # cookie already sent
    assert response.status_code == 200
    assert "public" in response.headers["Cache-Control"]
    assert response.headers["ETag"] and response.headers["Last-Modified"]
    again = client.get(
        "/products/wenchang-chicken?lang=en",
        headers={"If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304 and again.data == b""


def test_etag_differs_per_language(client):
    zh = client.get("/products/wenchang-chicken?lang=zh").headers["ETag"]
    en = client.get("/products/wenchang-chicken?lang=en").headers["ETag"]
    assert zh != en


def test_security_headers_on_every_response(client):
    for url in ("/", "/products/wenchang-chicken", "/no-such-page", "/healthz"):
        headers = client.get(url).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"]


def test_output_is_escaped(app_ctx, client):
    chicken = product("wenchang-chicken")
    chicken.summary_zh = "<script>alert(1)</script>"
    db.session.commit()
    page = html(client.get("/products/wenchang-chicken?lang=zh"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- sitemap, robots, health -----------------------------------------------------------------


def test_sitemap_lists_every_published_page(app_ctx, client):
    xml = html(client.get("/sitemap.xml"))
    published = db.session.scalars(
        select(Product.slug).where(Product.status == PublicationStatus.PUBLISHED)
    ).all()
    for slug in published:
        for lang in ("zh", "en"):
            assert f"<loc>http://127.0.0.1:5000/products/{slug}?lang={lang}<" in xml
    for slug in db.session.scalars(select(County.slug)):
        assert f"/counties/{slug}?lang=zh<" in xml
    assert "/brands/" in xml and "/enterprises/" in xml


def test_robots_points_to_sitemap_and_hides_admin(client):
    body = html(client.get("/robots.txt"))
    assert "Sitemap: http://127.0.0.1:5000/sitemap.xml" in body and "Disallow: /admin/" in body


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok", "database": "ok"}


def test_search_box_finds_by_pinyin_slug_and_chinese(client):
    assert "/products/wenchang-chicken" in html(client.get("/search?q=wenchang"))
    assert "/products/wenchang-chicken" in html(client.get("/search?q=文昌鸡"))
    assert client.get("/search?q=%22title%3A(%20OR%20*").status_code == 200


def test_unexpected_error_is_a_bilingual_500_page(app, client):
    def explode():
        raise RuntimeError("boom")

    app.add_url_rule("/explode", "explode", explode)
    response = client.get("/explode?lang=en")
    assert response.status_code == 500 and "Something went wrong" in html(response)
    client.delete_cookie("lang")
    response = client.get("/explode", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 500 and "出错" in html(response)


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path, media_root):
    from app import create_app
    from tests.conftest import make_config

    broken = create_app(
        make_config(f"sqlite:///{tmp_path}/missing/dir/db.sqlite3", tmp_path, media_root)
    )
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["database"] == "unreachable"


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    response.close()
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"


def public_fast_path(app):
    from app.caching.middleware import CachedResponses

    layer = app.wsgi_app
    while not isinstance(layer, CachedResponses):
        layer = getattr(layer, "flask_wsgi", None) or layer.wsgi_app  # through the observer
    return layer


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/products/wenchang-chicken", {"Accept-Language": "en-US,en;q=0.9"}),
        ("/", {"Accept-Language": "zh-CN"}),
        ("/register/?regime=gi_trademark&sort=name", {}),
        ("/counties/wenchang", {"Cookie": "lang=en"}),
    ],
)
def test_fast_path_sends_what_flask_sends(app, url, headers):
    """The second request is answered by the WSGI fast path from the cache; it must be
    byte-for-byte and header-for-header what Flask sent the first time."""
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 60  # as in production: trust the recent check
    client = app.test_client(use_cookies=False)
    fast_path = public_fast_path(app)
    first = client.get(url, headers=headers)
    served_before = fast_path.served
    second = client.get(url, headers=headers)
    assert fast_path.served == served_before + 1
    assert first.status_code == second.status_code == 200
    assert first.data == second.data
    drop = {"Date", "Set-Cookie", "X-Request-ID"}  # the id is new on every request
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert {(k, v) for k, v in first.headers.items() if k not in drop} == {
        (k, v) for k, v in second.headers.items() if k not in drop
    }
    again = client.get(url, headers={**headers, "If-None-Match": second.headers["ETag"]})
    assert again.status_code == 304 and fast_path.served == served_before + 2


def test_fast_path_leaves_lang_switches_and_signed_in_users_to_flask(app):
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 60  # as in production: trust the recent check
    client = app.test_client(use_cookies=False)
    fast_path = public_fast_path(app)
    client.get("/products/wenchang-chicken?lang=en")
    served = fast_path.served
    response = client.get("/products/wenchang-chicken?lang=en")
    assert "lang=en" in response.headers["Set-Cookie"] and fast_path.served == served
    client.get("/products/wenchang-chicken", headers={"Cookie": "session=abc"})
    client.get("/products/wenchang-chicken", headers={"Cookie": "session=abc"})
    assert fast_path.served == served


def test_fast_path_sees_a_publish_at_once(app_ctx, app):
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 60  # as in production: trust the recent check
    client = app.test_client(use_cookies=False)
    client.get("/products/wenchang-chicken?x=1", headers={"Accept-Language": "zh-CN"})
    chicken = product("wenchang-chicken")
    chicken.summary_zh = "发布后立即可见"
    db.session.commit()
    page = client.get("/products/wenchang-chicken?x=1", headers={"Accept-Language": "zh-CN"})
    assert "发布后立即可见" in html(page)


@pytest.mark.parametrize(
    ("trusted_proxies", "seen"),
    [(1, "203.0.113.9"), (0, "127.0.0.1")],
    ids=["behind a trusted proxy", "no proxy trusted"],
)
def test_trusted_proxy_address_is_the_visitors(
    database_factory, tmp_path, media_root, trusted_proxies, seen
):
    """X-Forwarded-For names the visitor only when a proxy is trusted (TRUSTED_PROXIES > 0)."""
    from flask import request

    from app import create_app
    from tests.conftest import make_config

    config = make_config(database_factory(), tmp_path, media_root)
    if trusted_proxies:
        config.TRUSTED_PROXIES = trusted_proxies
    app = create_app(config)
    app.add_url_rule("/whoami", "whoami", lambda: request.remote_addr)
    response = app.test_client().get(
        "/whoami",
        headers={"X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert response.get_data(as_text=True) == seen
