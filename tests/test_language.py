"""Language negotiation (issue 8, kind 1): real Accept-Language headers, through the real
client, on a page answered by Flask and on cached pages answered by the WSGI fast paths."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from app.db import db
from app.i18n import negotiate_language
from app.models import Product
from app.services import codes

# (header as real browsers send it, the language the visitor should get). Chinese in any
# region or script gets zh; a visitor without Chinese gets en when English is listed;
# a visitor with neither (or a broken header) gets the default, zh.
HEADERS = [
    # the example: Firefox set to Chinese in mainland China
    ("zh-CN,en-US;q=0.7,en;q=0.3", "zh"),
    ("zh-CN,zh;q=0.8,zh-TW;q=0.7,zh-HK;q=0.5,en-US;q=0.3,en;q=0.2", "zh"),  # Firefox zh-CN
    ("zh-CN,zh;q=0.9", "zh"),  # Chrome, mainland
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),  # Chrome, mainland, English added
    ("zh-CN,zh;q=0.9,en;q=0.8,en-GB;q=0.7,en-US;q=0.6", "zh"),  # Edge, mainland
    ("zh-TW,zh;q=0.9,en-US;q=0.8,en;q=0.7", "zh"),  # Chrome, Taiwan
    ("zh-HK,zh;q=0.9,en-US;q=0.8,en;q=0.7", "zh"),  # Chrome, Hong Kong
    ("zh-SG,zh;q=0.9,en-SG;q=0.8,en;q=0.7", "zh"),  # Chrome, Singapore
    ("zh-TW,zh-Hant;q=0.9", "zh"),  # Safari macOS, Taiwan
    ("zh-cn", "zh"),  # older Safari, lower case region
    ("zh-CN,zh-Hans;q=0.9", "zh"),  # Safari iOS / WeChat iOS
    ("zh-Hans-CN,zh-Hans;q=0.9", "zh"),  # iOS in-app webview (Douyin, Alipay iOS)
    ("zh-Hant-TW,zh-Hant;q=0.9,en-US;q=0.8,en;q=0.7", "zh"),  # iOS, Taiwan
    ("zh-Hant-HK,en-HK;q=0.9", "zh"),  # iOS, Hong Kong
    ("zh-CN,zh;q=0.9,en-US;q=0.8,en;q=0.7", "zh"),  # WeChat / Douyin Android (Chromium)
    ("zh_CN", "zh"),  # Alipay / UC Android send an underscore
    ("zh_CN,en_US;q=0.8", "zh"),
    ("ZH-CN,EN;q=0.5", "zh"),  # upper case
    ("en;q=0.5,zh-CN;q=0.9", "zh"),  # q-values, not order, decide
    ("de-DE,de;q=0.9,zh-CN;q=0.8,en;q=0.7", "zh"),  # German first, then Chinese
    ("en-US,en;q=0.9", "en"),  # Chrome, US
    ("en-GB,en;q=0.5", "en"),  # Firefox, UK
    ("en-us", "en"),  # Safari, US
    ("en-AU,en;q=0.9,en-GB;q=0.8,en-US;q=0.7", "en"),  # Edge, Australia
    ("en-IN,en-GB;q=0.9,en-US;q=0.8,en;q=0.7,hi;q=0.6", "en"),  # Chrome, India
    ("en-US,en;q=0.9,zh-CN;q=0.8,zh;q=0.7", "en"),  # English first, Chinese second
    ("en-SG,zh-SG;q=0.9", "en"),  # Singapore, English first
    ("ja,en-US;q=0.9,en;q=0.8", "en"),  # Chrome, Japan
    ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "en"),  # Chrome, Korea
    ("ru-RU,ru;q=0.8,en-US;q=0.5,en;q=0.3", "en"),  # Firefox, Russia
    ("fr-FR,fr;q=0.9", "zh"),  # neither language: the default
    ("ja-jp", "zh"),
    ("*", "zh"),  # anything: the default
    ("fr, *;q=0.3, en;q=0.1", "zh"),  # "*" ranks above en and stands for the default
    ("zh;q=0, *", "en"),  # Chinese refused
    ("zh;q=0", "en"),
    ("en;q=0, fr", "zh"),
    ("zh-CN;q=0.5, en;q=0.5", "zh"),  # a tie keeps the header's order
    ("en;q=0.5, zh-CN;q=0.5", "en"),
    # malformed
    ("", "zh"),
    (None, "zh"),
    ("garbage;;;,,,q=", "zh"),
    ("en-US;q=bad,en;q=0.8", "en"),  # a range with a broken q is dropped, the rest stands
    ("zh-CN;q=2", "zh"),
    ("en;q=-1", "zh"),
    ("ænglish, en", "en"),
    ("x" * 100_000 + ",en", "zh"),  # huge: cut before parsing
    ("en," + "a" * 100_000, "en"),
    (",".join(["fr"] * 5000), "zh"),
]


@pytest.mark.parametrize(("header", "expected"), HEADERS)
def test_negotiate_language(header, expected):
    assert negotiate_language(header, ("zh", "en"), "zh") == expected


RANGE = st.builds(
    "{}{}".format,
    st.sampled_from(
        [
            "zh",
            "ZH",
            "zh-CN",
            "zh_TW",
            "zh-Hant-HK",
            "en",
            "en-GB",
            "fr",
            "*",
            "",
            "q",
            "-",
            ";",
            "中文",
            "\u200b",
        ]
    ),
    st.sampled_from(
        [
            "",
            ";q=0",
            ";q=1",
            ";q=0.5",
            ";q=.5",
            ";q=x",
            ";q=1e400",
            ";q=-1",
            ";",
            ";level=1",
            "=",
            ";q=0.0000001",
        ]
    ),
)


@given(st.one_of(st.text(max_size=200), st.lists(RANGE, max_size=12).map(",".join)))
def test_negotiation_always_answers_a_site_language(header):
    assert negotiate_language(header, ("zh", "en"), "zh") in ("zh", "en")


def page_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True))
    assert match, response.status_code
    return {"zh-Hans": "zh", "en": "en"}[match.group(1)]


def with_header(header: str | None) -> dict:
    return {} if header is None else {"Accept-Language": header}


def fast_paths(app) -> list:
    """The WSGI layers in front of Flask (passport, public pages), outermost first."""
    layers, layer = [], app.wsgi_app
    while True:
        if hasattr(layer, "flask_wsgi"):
            layers.append(layer)
            layer = layer.flask_wsgi
        elif hasattr(layer, "wsgi_app"):  # the request observer, ProxyFix
            layer = layer.wsgi_app
        else:
            return layers


def passport_url() -> str:
    chicken = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    return f"/q/{codes.code_for(chicken)}"


@pytest.mark.parametrize(("header", "expected"), HEADERS)
def test_flask_and_fast_paths_choose_the_same_language(app_ctx, app, header, expected):
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 60  # as in production: trust the recent check
    client = app.test_client(use_cookies=False)
    # /verify is never cached: Flask's select_locale answers.
    assert page_lang(client.get("/verify", headers=with_header(header))) == expected
    for url in ("/products/wenchang-chicken", passport_url()):
        for lang in ("zh", "en"):  # both language versions in the cache
            client.get(url, headers={"Cookie": f"lang={lang}"})
        served = [getattr(layer, "served", 0) for layer in fast_paths(app)]
        response = client.get(url, headers=with_header(header))
        assert response.status_code == 200
        assert page_lang(response) == expected
        if url.startswith("/products/"):  # answered by the fast path, not Flask
            assert [getattr(layer, "served", 0) for layer in fast_paths(app)] != served


# (Accept-Language, cookie, ?lang=, expected): ?lang= beats the cookie beats the header;
# values that are not a site language are ignored.
OVERRIDES = [
    ("zh-CN,zh;q=0.9", "en", None, "en"),
    ("en-US,en;q=0.9", "zh", None, "zh"),
    ("en-US,en;q=0.9", None, "zh", "zh"),
    ("zh-CN,en-US;q=0.7,en;q=0.3", None, "en", "en"),
    ("zh-CN", "zh", "en", "en"),
    ("en-US", "en", "zh", "zh"),
    ("en-US", "fr", None, "en"),  # unknown cookie value: the header decides
    ("zh-CN", "", None, "zh"),
    ("en-US", None, "fr", "en"),  # unknown ?lang=: the header decides
    ("zh-CN", "en", "xx", "en"),  # unknown ?lang=: the cookie decides
    ("garbage;;", "en", None, "en"),
]


@pytest.mark.parametrize(("header", "cookie", "asked", "expected"), OVERRIDES)
@pytest.mark.parametrize("url", ["/verify", "/products/wenchang-chicken", "/counties/wenchang"])
def test_cookie_and_query_override_the_header(app, url, header, cookie, asked, expected):
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 60
    client = app.test_client(use_cookies=False)
    headers = {"Accept-Language": header}
    if cookie is not None:
        headers["Cookie"] = f"lang={cookie}"
    target = url if asked is None else f"{url}?lang={asked}"
    for _ in range(2):  # the second answer may come from the fast path
        assert page_lang(client.get(target, headers=headers)) == expected


@pytest.mark.parametrize(
    "url", ["/", "/products/wenchang-chicken", "/counties/wenchang", "/verify"]
)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_response_that_sets_the_language_cookie_is_private(app, url, lang):
    client = app.test_client(use_cookies=False)
    response = client.get(f"{url}?lang={lang}")
    assert response.status_code == 200
    assert "lang=" in response.headers.get("Set-Cookie", "")
    assert response.cache_control.private and not response.cache_control.public
