"""Issue 8, kind 12: conditional requests (RFC 9110 §13) answered alike by Flask views and
the WSGI fast paths, and error responses that keep the headers the protocol requires."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.exceptions import ServiceUnavailable, TooManyRequests, Unauthorized
from werkzeug.http import http_date, parse_date

from app.db import db
from app.models import Product
from app.services import codes, scans

pytestmark = pytest.mark.usefixtures("app_ctx")

ETAG = "{etag}"  # replaced by the page's own entity tag (quoted)
LM = "{lm}"  # replaced by the page's own Last-Modified


def before(lm: str, **delta) -> str:
    return http_date(parse_date(lm) - timedelta(**delta))


def after(lm: str, **delta) -> str:
    return http_date(parse_date(lm) + timedelta(**delta))


# (name, method, headers with {etag}/{lm} placeholders or callables of lm, expected status)
CONDITIONS = [
    ("issue example: If-None-Match *", "GET", {"If-None-Match": "*"}, 304),
    ("HEAD with If-None-Match *", "HEAD", {"If-None-Match": "*"}, 304),
    ("its own tag", "GET", {"If-None-Match": ETAG}, 304),
    ("its own tag as weak", "GET", {"If-None-Match": "W/" + ETAG}, 304),
    ("a list holding its tag", "GET", {"If-None-Match": '"nope", ' + ETAG + ', W/"x"'}, 304),
    ("a list without its tag", "GET", {"If-None-Match": '"nope", W/"x"'}, 200),
    ("another tag", "GET", {"If-None-Match": '"g0-0000000000000000"'}, 200),
    ("its tag with an extra character", "GET", {"If-None-Match": '"x{bare}"'}, 200),
    ("HEAD with its tag", "HEAD", {"If-None-Match": ETAG}, 304),
    (
        "tag matches, old date",
        "GET",
        {"If-None-Match": ETAG, "If-Modified-Since": lambda lm: before(lm, days=30)},
        304,
    ),
    (
        "tag differs, date matches: the tag decides",
        "GET",
        {"If-None-Match": '"nope"', "If-Modified-Since": LM},
        200,
    ),
    ("If-Modified-Since its own date", "GET", {"If-Modified-Since": LM}, 304),
    ("If-Modified-Since later", "GET", {"If-Modified-Since": lambda lm: after(lm, hours=1)}, 304),
    (
        "If-Modified-Since a day earlier",
        "GET",
        {"If-Modified-Since": lambda lm: before(lm, days=1)},
        200,
    ),
    ("If-Modified-Since not a date", "GET", {"If-Modified-Since": "yesterday"}, 200),
    (
        "If-Modified-Since 31 February",
        "GET",
        {"If-Modified-Since": "Tue, 31 Feb 2026 10:00:00 GMT"},
        200,
    ),
    ("If-Modified-Since empty", "GET", {"If-Modified-Since": ""}, 200),
    ("If-Modified-Since as a number", "GET", {"If-Modified-Since": "1700000000"}, 200),
    ("If-Match *", "GET", {"If-Match": "*"}, 200),
    ("If-Match its tag", "GET", {"If-Match": ETAG}, 200),
    ("If-Match another tag", "GET", {"If-Match": '"nope"'}, 412),
    ("If-Match weak tag: strong comparison", "GET", {"If-Match": "W/" + ETAG}, 412),
    (
        "If-Match fails before If-None-Match *",
        "GET",
        {"If-Match": '"nope"', "If-None-Match": "*"},
        412,
    ),
    (
        "If-Unmodified-Since earlier",
        "GET",
        {"If-Unmodified-Since": lambda lm: before(lm, days=1)},
        412,
    ),
    ("If-Unmodified-Since its own date", "GET", {"If-Unmodified-Since": LM}, 200),
    ("If-Unmodified-Since not a date", "GET", {"If-Unmodified-Since": "soon"}, 200),
    (
        "If-Match * wins over If-Unmodified-Since",
        "GET",
        {"If-Match": "*", "If-Unmodified-Since": lambda lm: before(lm, days=1)},
        200,
    ),
]


def resolve(headers: dict, etag: str, lm: str) -> dict:
    out = {}
    for name, value in headers.items():
        if callable(value):
            value = value(lm)
        out[name] = value.replace(ETAG, etag).replace(LM, lm).replace("{bare}", etag.strip('"'))
    return out


def passport_url() -> str:
    found = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    return f"/q/{codes.code_for(found)}"


TARGETS = {
    "product page": lambda: "/products/wenchang-chicken",
    "home": lambda: "/",
    "passport": passport_url,
    "API item": lambda: "/api/v1/products/wenchang-chicken",
    "API list": lambda: "/api/v1/counties?per_page=5",
    "open data CSV": lambda: "/data/products.csv",
}
FAST_PATHS = {"product page", "home", "passport"}
# JSON answers and downloads carry an ETag only: date conditions do not apply to them.
ETAG_ONLY = {"API item", "API list", "open data CSV"}


def dated(headers: dict) -> bool:
    return any("modified" in name.lower() for name in headers)


CASES = [
    pytest.param(target, *case, id=f"{target}: {case[0]}")
    for target in TARGETS
    for case in CONDITIONS
    if not (target in ETAG_ONLY and dated(case[2]))
]


@pytest.fixture
def fast(app):
    """As in production: the cached pages are answered by the WSGI fast paths."""
    app.config["SCAN_FLUSH_SECONDS"] = 3600.0
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 3600.0
    scans.scan_buffer.configure(db.engine, 3600.0)
    yield app
    scans.scan_buffer.flush()


@pytest.mark.parametrize(("target", "name", "method", "headers", "status"), CASES)
def test_conditional_requests(fast, target, name, method, headers, status):
    client = fast.test_client(use_cookies=False)
    url = TARGETS[target]()
    first = client.get(url)  # Flask renders (and caches)
    assert first.status_code == 200 and first.headers["ETag"].startswith('"')
    etag, lm = first.headers["ETag"], first.headers.get("Last-Modified", http_date(0))
    answered = client.open(url, method=method, headers=resolve(headers, etag, lm))
    assert answered.status_code == status, name
    if status == 304:
        assert answered.data == b"" and answered.headers["ETag"] == etag
        assert "Cache-Control" in answered.headers and answered.headers["X-Request-ID"]
    elif status == 200:
        assert answered.data == (first.data if method == "GET" else b"")
    else:
        assert "X-Request-ID" in answered.headers


@pytest.mark.parametrize("target", sorted(FAST_PATHS))
def test_fast_path_and_flask_agree_on_every_condition(fast, target):
    """The same conditions through Flask (cold cache) and through the fast path (warm)."""
    url = TARGETS[target]()
    warm = fast.test_client(use_cookies=False)
    first = warm.get(url)
    etag, lm = first.headers["ETag"], first.headers["Last-Modified"]
    for name, method, headers, _status in CONDITIONS:
        sent = resolve(headers, etag, lm)
        fast.config["PAGE_CACHE_CHECK_SECONDS"] = 0.0  # fast paths step aside
        through_flask = warm.open(url, method=method, headers=sent)
        fast.config["PAGE_CACHE_CHECK_SECONDS"] = 3600.0
        warm.get(url)  # re-check the generation so the fast path trusts it
        through_fast = warm.open(url, method=method, headers=sent)
        assert through_flask.status_code == through_fast.status_code, name
        if through_flask.status_code in (200, 304):  # error pages differ by request id
            assert through_flask.data == through_fast.data, name
        for header in ("ETag", "Cache-Control", "Vary"):
            assert through_flask.headers.get(header) == through_fast.headers.get(header), name


def test_a_head_304_has_no_body_and_no_content_type(fast):
    client = fast.test_client(use_cookies=False)
    client.get("/products/wenchang-chicken")
    answer = client.head("/products/wenchang-chicken", headers={"If-None-Match": "*"})
    assert answer.status_code == 304 and answer.data == b""
    assert "Content-Type" not in answer.headers


# --- error statuses keep their headers ----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("POST", "/products/wenchang-chicken", "GET"),
        ("PUT", "/", "GET"),
        ("DELETE", "/healthz", "GET"),
        ("POST", "/api/v1/products", "GET"),
        ("PATCH", "/api/v1/", "GET"),
        ("POST", "/api/v1/openapi.json", "GET"),
        ("POST", "/verify", "GET"),
        ("PUT", "/report", "POST"),
        ("POST", "/sitemap.xml", "GET"),
        ("DELETE", "/admin/login", "POST"),
        ("POST", "/data/products.csv", "GET"),
        ("POST", "/search?q=x", "GET"),
    ],
)
def test_405_carries_allow(client, method, url, allowed):
    response = client.open(url, method=method)
    assert response.status_code == 405
    methods = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed in methods and method not in methods
    if url.startswith("/api/"):
        assert response.get_json()["error"]["code"] == 405


@pytest.mark.parametrize(
    ("exception", "header", "expected"),
    [
        (Unauthorized(www_authenticate=None), None, None),
        (TooManyRequests(retry_after=120), "Retry-After", "120"),
        (TooManyRequests(), "Retry-After", "60"),
        (ServiceUnavailable(retry_after=30), "Retry-After", "30"),
        (ServiceUnavailable(), "Retry-After", "60"),
    ],
)
@pytest.mark.parametrize("prefix", ["/test-only", "/api/v1/test-only"])
def test_error_responses_keep_and_add_required_headers(app, exception, header, expected, prefix):
    @app.get(f"{prefix}/raise")
    def raise_it():
        raise exception

    response = app.test_client().get(f"{prefix}/raise")
    assert response.status_code == exception.code
    if header:
        assert response.headers[header] == expected
    assert response.headers["X-Request-ID"]


def test_www_authenticate_survives_the_error_handler(app):
    from werkzeug.datastructures import WWWAuthenticate

    @app.get("/test-only/auth")
    def auth():
        raise Unauthorized(www_authenticate=WWWAuthenticate("basic", {"realm": "gi"}))

    response = app.test_client().get("/test-only/auth")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")


def test_rate_limited_report_says_when_to_retry(app):
    app.config["RATELIMIT_ENABLED"] = True
    app.config["REPORT_RATE_LIMIT"] = "1 per hour"
    app.config["WTF_CSRF_ENABLED"] = False  # about the limit, not the form
    from tests.test_verify import report_form

    client = app.test_client()
    assert client.post("/report", data=report_form()).status_code == 303
    limited = client.post("/report", data=report_form())
    assert limited.status_code == 429
    assert 3500 <= int(limited.headers["Retry-After"]) <= 3601  # the limit's own reset (s)


def test_throttled_sign_in_says_when_to_retry(app):
    """The back office's own 429 page gets Retry-After too (added site-wide)."""
    from tests.admin_support import login, make_users

    app.config["RATELIMIT_ENABLED"] = True
    make_users()
    client = app.test_client()
    statuses = [
        login(client, "editor_a", password="not-the-password-1").status_code for _ in range(6)
    ]
    assert statuses[-1] == 429
    blocked = login(client, "editor_a", password="not-the-password-1")
    assert blocked.status_code == 429 and 1 <= int(blocked.headers["Retry-After"]) <= 3600


def test_health_503_says_when_to_retry(app, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def unreachable(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("down"))

    monkeypatch.setattr(db.session, "execute", unreachable)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"


def test_413_keeps_the_request_id_and_is_bilingual(client):
    response = client.post(
        "/report?lang=zh",
        data=b"a" * (300 * 1024),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413 and response.headers["X-Request-ID"]
    assert "发送的内容太大" in response.get_data(as_text=True)


# --- CSV downloads: one charset ---------------------------------------------------------------


def test_csv_downloads_name_their_charset_once(app):
    from tests.admin_support import login, make_users

    make_users()
    client = app.test_client()
    public = [client.get("/data/products.csv"), client.get("/data/counties.csv")]
    login(client, "admin")
    admin = [
        client.get(f"/admin/{kind}/{what}.csv")
        for kind in ("products", "enterprises")
        for what in ("template", "export")
    ]
    admin.append(client.get("/admin/scans.csv"))
    for response in public + admin:
        assert response.status_code == 200, response.request.path
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8", response.request.path


# Pages with no validators of their own: `If-None-Match: *` still matches them (RFC 9110
# §13.1.2), so GET and HEAD get a 304 with no body and no entity headers.
STAR_TARGETS = ["/sitemap.xml", "/robots.txt", "/data/", "/search?q=coffee", "/verify", "/report"]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", STAR_TARGETS)
@pytest.mark.parametrize("header", ["*", " * ", '*, W/"x"'])
def test_if_none_match_star_on_pages_without_validators(client, path, method, header):
    response = client.open(path, method=method, headers={"If-None-Match": header})
    if header.startswith("*, "):  # not a valid list: `*` stands alone (RFC 9110 §13.1.2)
        assert response.status_code in (200, 304)
        return
    assert response.status_code == 304, (path, response.status_code)
    assert response.get_data() == b"" and "Content-Type" not in response.headers
    assert client.open(path, method=method).status_code == 200


def test_if_none_match_star_does_not_hide_a_missing_page(client):
    response = client.get("/products/no-such-product", headers={"If-None-Match": "*"})
    assert response.status_code == 404


# --- one Date header: the server's -------------------------------------------------------------


def _date_requests() -> list[tuple[str, str, str, dict, int]]:
    """(kind, method, path, headers, expected status) for every kind of answer the site gives."""
    passport = passport_url()
    return [
        ("page", "GET", "/products/wenchang-chicken", {}, 200),
        ("cached page (middleware)", "GET", "/products/wenchang-chicken", {}, 200),
        ("home", "GET", "/", {}, 200),
        ("HEAD of a page", "HEAD", "/counties/", {}, 200),
        ("304", "GET", "/products/wenchang-chicken", {"If-None-Match": "*"}, 304),
        ("304 by If-Modified-Since", "GET", "/", {"If-Modified-Since": http_date()}, 304),
        ("412", "GET", "/products/wenchang-chicken", {"If-Match": '"nope"'}, 412),
        ("304 without validators", "GET", "/sitemap.xml", {"If-None-Match": "*"}, 304),
        ("404", "GET", "/products/no-such-product", {}, 404),
        ("405", "DELETE", "/products/wenchang-chicken", {}, 405),
        ("API JSON", "GET", "/api/v1/products/wenchang-chicken", {}, 200),
        ("API 404", "GET", "/api/v1/products/no-such-product", {}, 404),
        ("CSV", "GET", "/data/products.csv", {}, 200),
        ("passport", "GET", passport, {}, 200),
        ("passport redirect", "GET", passport.lower() + "/", {}, 301),
        ("QR svg", "GET", passport + ".svg", {}, 200),
        ("QR png", "GET", passport + ".png", {}, 200),
        ("QR png 304", "GET", passport + ".png", {"If-None-Match": "*"}, 304),
        ("static", "GET", "/static/css/site.css", {}, 200),
        ("static 304", "GET", "/static/css/site.css", {"If-None-Match": "*"}, 304),
        ("favicon", "GET", "/favicon.ico", {}, None),
        ("search", "GET", "/search?q=coffee", {}, 200),
        ("robots", "GET", "/robots.txt", {}, 200),
        ("health", "GET", "/healthz", {}, 200),
    ]


DATE_KINDS = [
    "page",
    "cached page (middleware)",
    "home",
    "HEAD of a page",
    "304",
    "304 by If-Modified-Since",
    "412",
    "304 without validators",
    "404",
    "405",
    "API JSON",
    "API 404",
    "CSV",
    "passport",
    "passport redirect",
    "QR svg",
    "QR png",
    "QR png 304",
    "static",
    "static 304",
    "favicon",
    "search",
    "robots",
    "health",
]


def test_the_date_table_names_every_request():
    with_context = [kind for kind, *_ in _date_requests()]
    assert with_context == DATE_KINDS


@pytest.mark.parametrize("kind", DATE_KINDS)
def test_the_application_leaves_the_date_header_to_the_server(fast, kind):
    client = fast.test_client()
    client.get("/products/wenchang-chicken")  # so the second one is the middleware's
    request = {k: (m, p, h, s) for k, m, p, h, s in _date_requests()}[kind]
    method, path, headers, status = request
    response = client.open(path, method=method, headers=headers)
    response.close()  # a static file's handle
    if status is not None:
        assert response.status_code == status, (kind, response.status_code)
    assert response.headers.getlist("Date") == [], kind


def _raw_dates(port: int, requests) -> dict[str, tuple[int, list[str]]]:
    """Each request over a real socket: (status, every Date header line as sent)."""
    import http.client

    seen = {}
    for kind, method, path, headers, _status in requests:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        connection.request(method, path, headers={"Host": "127.0.0.1", **headers})
        response = connection.getresponse()
        response.read()
        seen[kind] = (response.status, response.msg.get_all("Date") or [])
        connection.close()
    return seen


def _assert_one_date_each(seen: dict, requests) -> None:
    for kind, _method, _path, _headers, status in requests:
        got_status, dates = seen[kind]
        if status is not None:
            assert got_status == status, (kind, got_status)
        assert len(dates) == 1, (kind, dates)
        assert parse_date(dates[0]) is not None, (kind, dates)


def test_one_date_header_through_werkzeugs_server(fast):
    import threading

    from werkzeug.serving import make_server

    requests = _date_requests()
    server = make_server("127.0.0.1", 0, fast, threaded=True)  # what `flask run` serves with
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _raw_dates(server.port, requests[:1])  # warm the page cache
        seen = _raw_dates(server.port, requests)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
    _assert_one_date_each(seen, requests)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_one_date_header_through_gunicorn(app, tmp_path):
    import os
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    requests = _date_requests()
    port = _free_port()
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_PATH": str(tmp_path),
        "MEDIA_ROOT": str(app.config["MEDIA_ROOT"]),
        "SCAN_FLUSH_SECONDS": "3600",
    }
    db.session.remove()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError(log.read_text()[-2000:]) from None
                time.sleep(0.2)
        _raw_dates(port, requests[:1])
        seen = _raw_dates(port, requests)
    finally:
        server.terminate()
        server.wait(timeout=10)
    _assert_one_date_each(seen, requests)


# Pages whose language the visitor's Accept-Language picks: found, not found, refused, posted,
# searched, cached by the fast path or not. Each must say so in Vary, or a shared cache
# replays one visitor's language to the next.
NEGOTIATED_PAGES = [
    ("GET", "/search?q=wcj"),
    ("GET", "/search?q=zzqqxxyy"),
    ("GET", "/products/no-such-product"),
    ("GET", "/counties/no-such-county"),
    ("GET", "/q/ZZZZZZZZ"),
    ("GET", "/products/?page=abc"),
    ("POST", "/products/wenchang-chicken"),
    ("GET", "/report"),
    ("GET", "/verify?code=x"),
    ("GET", "/products/wenchang-chicken"),
    ("GET", "/admin/login"),
]


@pytest.mark.parametrize(("method", "url"), NEGOTIATED_PAGES)
def test_pages_in_the_negotiated_language_vary_on_accept_language(client, method, url):
    answers = {
        lang: client.open(url, method=method, headers={"Accept-Language": lang})
        for lang in ("en", "zh-CN")
    }
    assert 'lang="en"' in answers["en"].get_data(as_text=True)
    for response in answers.values():
        assert response.mimetype == "text/html"
        assert "Accept-Language" in response.vary, (url, response.status_code)
