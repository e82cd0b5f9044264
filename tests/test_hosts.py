"""Host header poisoning (issue 8, kind 4): unknown hosts get the site's 400 page (from
Flask and from the fast paths), and no URL, link or cache entry is built from Host or
X-Forwarded-* headers: absolute URLs come from SITE_BASE_URL only."""

import re

import pytest
from sqlalchemy import select

from app import trust_reverse_proxies
from app.db import db
from app.models import Product
from app.services import codes
from config import trusted_hosts

SITE = "http://127.0.0.1:5000"  # TestingConfig's SITE_BASE_URL
# Hosts other than ours that pages may name (licence, schema.org vocabulary, XML names).
FOREIGN_OK = {
    "schema.org",
    "www.w3.org",
    "www.sitemaps.org",
    "creativecommons.org",
    "openmoji.org",  # the illustration set's credit in the footer
    "www.cnipa.gov.cn",
    "example.com",
    "www.example.com",
}

FORGED_HOSTS = [
    "evil.example",  # the example
    "evil.example:5000",
    "EVIL.EXAMPLE",
    "evil.example.",  # trailing dot
    "evil.example..",
    "localhost..",  # two trailing dots: no host name
    ".localhost",
    "[::2]",  # another IPv6 address
    "[::1]evil",
    "[::1]:99999",  # port out of range
    "localhost:0",
    "LOCALHOST.EVIL.EXAMPLE.",
    "::1",  # IPv6 without brackets is no Host value
    "127.0.0.1.evil.example",
    "localhost.evil.example",
    "evil-localhost",
    "xn--bcher-kva.example",  # IDN, punycode
    "bücher.example",  # IDN, as Unicode
    "127.0.0.1@evil.example",
    "localhost:5000@evil.example",
    "127.0.0.1:evil",
    "evil.example/127.0.0.1",
    "127.0.0.2",
    "0.0.0.0",
    "",  # empty Host
]


def html(response) -> str:
    return response.get_data(as_text=True)


def passport_code() -> str:
    chicken = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    return codes.code_for(chicken)


def site_urls(code: str) -> list[str]:
    """Pages and files that carry absolute URLs, cached and uncached."""
    return [
        "/",
        "/products/wenchang-chicken",
        "/counties/wenchang",
        "/categories/",
        "/sitemap.xml",
        "/robots.txt",
        "/verify",
        f"/q/{code}",
        f"/q/{code}.svg",
        "/products/wenchang-chicken?lang=en",
    ]


def foreign_urls(body: str) -> set[str]:
    """Absolute URLs in a body that point anywhere but SITE_BASE_URL or a known outside site."""
    found = set()
    for url in re.findall(r"https?://[^\s\"'<>)]+", body):
        host = re.match(r"https?://([^/?#]*)", url).group(1)
        if not url.startswith(SITE + "/") and url != SITE and host not in FOREIGN_OK:
            found.add(url)
    return found


@pytest.mark.parametrize("host", FORGED_HOSTS)
def test_forged_host_is_refused_and_poisons_nothing(app_ctx, app, host):
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 60  # as in production: the fast paths answer
    client = app.test_client(use_cookies=False)
    code = passport_code()
    urls = site_urls(code)
    for url in urls:  # warm the cache first: the fast paths must refuse too
        client.get(url)
    for url in urls:
        for lang in ("zh-CN", "en-US"):
            refused = client.get(url, headers={"Host": host, "Accept-Language": lang})
            assert refused.status_code == 400, (url, host)
            body = html(refused)
            assert "<html lang=" in body and "400" in body  # the site's own error page
            english = lang == "en-US" or "lang=en" in url
            assert ("Bad request" if english else "请求有误") in body
            assert not foreign_urls(body)
    for url in urls:  # ordinary visitors afterwards
        response = client.get(url)
        assert response.status_code == 200, url
        assert not foreign_urls(html(response)), url


@pytest.mark.parametrize("host", FORGED_HOSTS[:6])
def test_forged_host_first_then_ordinary_visitor_on_a_cold_cache(app_ctx, app, host):
    """The issue's order: the forged request comes first, on a page nobody has cached."""
    client = app.test_client(use_cookies=False)
    for url in site_urls(passport_code()):
        assert client.get(url, headers={"Host": host}).status_code == 400
        assert not foreign_urls(html(client.get(url)))


FORWARDED = [
    {"X-Forwarded-Host": "evil.example"},
    {"X-Forwarded-Host": "evil.example:8443", "X-Forwarded-Port": "8443"},
    {"X-Forwarded-Proto": "https"},
    {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"},
    {"X-Forwarded-Prefix": "/evil"},
    {"X-Forwarded-Server": "evil.example"},
    {"X-Original-Host": "evil.example"},
    {"X-Host": "evil.example"},
    {"Forwarded": "host=evil.example;proto=https"},
    {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "evil.example, 127.0.0.1"},
]


@pytest.mark.parametrize("proxies", [0, 1, 2])
@pytest.mark.parametrize("headers", FORWARDED)
def test_forwarded_headers_never_reach_a_url(app_ctx, app, headers, proxies):
    """With or without TRUSTED_PROXIES, X-Forwarded-* may change what Flask thinks the
    scheme or address is, but never a URL on a page (ProxyFix is told x_host=0)."""
    if proxies:
        app.config["TRUSTED_PROXIES"] = proxies
        trust_reverse_proxies(app)
    client = app.test_client(use_cookies=False)
    urls = site_urls(passport_code())
    for url in urls:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        body = html(response)
        assert not foreign_urls(body), url
        assert "https://127.0.0.1" not in body and "/evil" not in body
        assert "evil" not in response.headers.get("Location", "")
    for url in urls:  # and nothing was cached from them
        assert not foreign_urls(html(client.get(url)))


@pytest.mark.parametrize("proxies", [0, 1])
@pytest.mark.parametrize(
    "path", ["/counties", "/products", "/categories", "/register", "/counties?lang=en", "/q"]
)
def test_routing_redirects_go_to_the_site_base_url(app, path, proxies):
    """Werkzeug's slash redirects are sent relative: no host, forged or not."""
    if proxies:
        app.config["TRUSTED_PROXIES"] = proxies
        trust_reverse_proxies(app)
    client = app.test_client(use_cookies=False)
    headers = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    response = client.get(path, headers=headers)
    assert response.status_code in (301, 308)
    assert response.headers["Location"].startswith(path.split("?")[0] + "/")
    assert ("?lang=en" in response.headers["Location"]) == ("lang=en" in path)
    assert client.get(path, headers={"Host": "evil.example"}).status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/no-such-page",
        "/products/no-such-product",
        "/counties",
        "/admin/",
        "/api/v1/products",
        "/static/css/site.css",
    ],
)
def test_untrusted_host_is_400_whatever_the_path(app, path):
    response = app.test_client().get(path, headers={"Host": "evil.example"})
    assert response.status_code == 400 and not foreign_urls(html(response))


# (TRUSTED_HOSTS as set in the environment, SITE_BASE_URL, the list Flask is given)
CONFIGURED = [
    (None, "http://127.0.0.1:5000", ["127.0.0.1", "localhost", "::1"]),
    (
        None,
        "https://catalogue.example.cn",
        ["catalogue.example.cn", "localhost", "127.0.0.1", "::1"],
    ),
    (
        None,
        "https://catalogue.example.cn:8443/",
        ["catalogue.example.cn", "localhost", "127.0.0.1", "::1"],
    ),
    ("catalogue.example.cn,127.0.0.1", "https://x.cn", ["catalogue.example.cn", "127.0.0.1"]),
    (
        " Catalogue.Example.CN , ,www.example.cn ",
        "https://x.cn",
        ["catalogue.example.cn", "www.example.cn"],
    ),
    (".example.cn", "https://x.cn", [".example.cn"]),  # Werkzeug: the domain and subdomains
    ("*", "https://x.cn", None),  # any host: only behind a proxy that checks Host itself
    ("", "http://localhost:5000", ["localhost", "127.0.0.1", "::1"]),
]


@pytest.mark.parametrize(("raw", "base", "expected"), CONFIGURED)
def test_trusted_hosts_from_the_environment(monkeypatch, raw, base, expected):
    if raw is None:
        monkeypatch.delenv("TRUSTED_HOSTS", raising=False)
    else:
        monkeypatch.setenv("TRUSTED_HOSTS", raw)
    assert trusted_hosts(base) == expected


@pytest.mark.parametrize("host", ["catalogue.example.cn", "catalogue.example.cn:443"])
def test_configured_host_is_served_and_others_refused(app, host):
    app.config["TRUSTED_HOSTS"] = ["catalogue.example.cn"]
    client = app.test_client(use_cookies=False)
    assert client.get("/products/wenchang-chicken", headers={"Host": host}).status_code == 200
    assert client.get("/products/wenchang-chicken").status_code == 400  # Host: localhost


# The default TRUSTED_HOSTS (SITE_BASE_URL http://127.0.0.1:5000 in tests) under the spellings
# of the same names a browser, curl or a proxy sends: case, a trailing dot (RFC 1034), a port,
# IPv6 loopback in brackets.
OWN_HOST_SPELLINGS = [
    "localhost",
    "LOCALHOST",
    "localhost.",
    "LocalHost:5000",
    "LOCALHOST.:5000",
    "[::1]",
    "[::1]:5000",
    "[0:0:0:0:0:0:0:1]:8000",
    "[::1]:80",
    "127.0.0.1",
    "127.0.0.1.",
    "127.0.0.1.:5000",
    "127.0.0.1:65535",
]


@pytest.mark.parametrize("host", OWN_HOST_SPELLINGS)
def test_the_default_hosts_are_served_under_every_spelling_of_their_name(app_ctx, app, host):
    from config import TestingConfig

    if host.startswith("[0:"):  # the long form of ::1 is trusted only if listed as such
        app.config["TRUSTED_HOSTS"] = [*TestingConfig.TRUSTED_HOSTS, "0:0:0:0:0:0:0:1"]
    client = app.test_client(use_cookies=False)
    for path in ("/products/wenchang-chicken", "/", "/products/wenchang-chicken"):
        response = client.get(path, headers={"Host": host})
        assert response.status_code == 200, (host, path)
        assert not foreign_urls(html(response)), host


@pytest.mark.parametrize(
    ("configured", "host"),
    [
        (["Catalogue.Example.CN."], "catalogue.example.cn"),
        (["catalogue.example.cn"], "CATALOGUE.EXAMPLE.CN."),
        ([".example.cn"], "WWW.Example.CN."),
        (["[::1]"], "[::1]:8443"),
        (["::1"], "[::1]"),
        (["bücher.example"], "xn--bcher-kva.example"),
    ],
)
def test_configured_hosts_match_whatever_their_spelling(app, configured, host):
    app.config["TRUSTED_HOSTS"] = configured
    client = app.test_client(use_cookies=False)
    assert client.get("/products/wenchang-chicken", headers={"Host": host}).status_code == 200
    assert (
        client.get("/products/wenchang-chicken", headers={"Host": "evil.example"}).status_code
        == 400
    )
