"""The app confirms the language nginx keys a stored page under (app/edge.py): whatever
nginx's regular expressions make of Accept-Language and the cookie, a page is storable
(X-Accel-Expires "@<second>") only under the language it is written in; otherwise, or when
a cache fill names no key, X-Accel-Expires is 0 and browsers' Cache-Control is unchanged."""

import itertools
import re

import pytest

from app.edge import AlignedProxyExpiry

URL = "/counties/"

# Accept-Language as sent -> the language werkzeug + Babel choose (the tester's variants:
# nginx's map read several of them the other way).
HEADERS = {
    "zh-TW, zh;q=-0": "en",  # q=-0 refuses zh
    "en, zh;Q=0": "en",
    "zh;q=00": "en",  # q=00 is zero: zh refused
    "en;q=1.": "zh",  # not a q-value werkzeug accepts: the default
    "zh-CN": "zh",
    "en-US": "en",
}
# Cookie header -> the language it chooses (None: Accept-Language decides).
COOKIES = {
    None: None,
    'lang="en"': "en",  # quoted value, unquoted by werkzeug
    "LANG=en": None,  # cookie names are case-sensitive
    "lang=zh, lang=en": None,  # two Cookie headers joined by the server: not a language
}
KEYS = ("zh", "en", None)  # X-Cache-Language from nginx; None: absent


@pytest.fixture
def edge_app(app):
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 600.0  # repeats answered by the fast path too
    app.wsgi_app = AlignedProxyExpiry(app.wsgi_app)  # as edge.install does behind the stack
    return app


@pytest.mark.parametrize(("accept", "cookie"), list(itertools.product(HEADERS, COOKIES)))
def test_a_page_is_storable_only_under_the_language_it_is_written_in(edge_app, accept, cookie):
    written = COOKIES[cookie] or HEADERS[accept]
    client = edge_app.test_client(use_cookies=False)  # the raw Cookie header, as sent
    for key, _repeat in itertools.product(KEYS, range(2)):  # the second from the fast path
        headers = {"Accept-Language": accept, "X-Cache-Fill": "1"}
        if cookie:
            headers["Cookie"] = cookie
        if key:
            headers["X-Cache-Language"] = key
        response = client.get(URL, headers=headers)
        html_lang = re.search(r'<html lang="([a-zA-Z-]+)"', response.get_data(as_text=True))
        assert html_lang and html_lang[1].split("-")[0] == written
        expiry = response.headers["X-Accel-Expires"]
        assert (expiry != "0") == (key == written), (key, expiry)
        assert "public" in response.headers["Cache-Control"]  # browsers' caching unchanged


@pytest.mark.parametrize(
    ("headers", "stored"),
    [
        ({}, True),  # not a cache fill (no nginx cache in front): expiry as before
        ({"X-Cache-Fill": "1"}, False),  # a fill naming no key
        ({"X-Cache-Fill": "1", "X-Cache-Language": "zh"}, True),
    ],
)
def test_answers_that_do_not_depend_on_the_language_need_only_a_key(edge_app, headers, stored):
    response = edge_app.test_client().get("/api/v1/counties", headers=headers)
    assert response.status_code == 200
    assert (response.headers["X-Accel-Expires"] != "0") == stored
