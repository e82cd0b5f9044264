"""The caching wing (app/caching): the middleware answers every route marked cacheable, the
cacheable paths come from the marked views, and the one flush hook bumps the catalogue
generation for expo changes too."""

from datetime import date

import pytest
from flask import Flask

from app.caching.lru import LeastRecentlyUsed
from app.caching.middleware import CachedResponses, cacheable_paths
from app.caching.routes import FEED, HTML_PAGE, OPEN_DATA, cacheable
from app.caching.store import read_generation
from app.db import db
from app.services import expos


def middleware(app) -> CachedResponses:
    layer = app.wsgi_app
    while not isinstance(layer, CachedResponses):
        layer = layer.wsgi_app  # through the request observer (and ProxyFix)
    return layer


def test_cacheable_paths_come_from_the_marked_views(app):
    exact, prefixes = cacheable_paths(app)
    assert set(exact) == {
        "/",
        "/counties/",
        "/products/",
        "/categories/",
        "/register/",
        "/feeds/products.atom",
    }
    assert {prefix for prefix, _route in prefixes} == {
        "/counties/",
        "/products/",
        "/brands/",
        "/enterprises/",
        "/categories/",
        "/q/",
        "/api/v1/",
        "/data/",
        "/data/counties/",
        "/feeds/products/",
        "/feeds/counties/",
    }
    assert dict(prefixes)["/api/v1/"] == OPEN_DATA and exact["/"] == HTML_PAGE
    assert exact["/feeds/products.atom"] == FEED and dict(prefixes)["/feeds/counties/"] == FEED


def test_a_path_cached_two_ways_is_refused():
    app = Flask(__name__)
    app.add_url_rule("/a/<x>", "one", cacheable(HTML_PAGE)(lambda x: x))
    app.add_url_rule("/a/<int:y>", "two", cacheable(OPEN_DATA)(lambda y: str(y)))
    with pytest.raises(ValueError, match="cached two ways"):
        cacheable_paths(app)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/products/wenchang-chicken",
        "/api/v1/counties?per_page=5",
        "/data/products.csv",
    ],
)
def test_middleware_answers_open_data_like_flask(app, url):
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 60  # as in production: trust the recent check
    client = app.test_client(use_cookies=False)
    cached = middleware(app)
    first = client.get(url)
    served = cached.served
    second = client.get(url)
    assert cached.served == served + 1
    assert first.status_code == second.status_code == 200 and first.data == second.data
    drop = {"Date", "X-Request-ID"}
    assert {(k, v) for k, v in first.headers.items() if k not in drop} == {
        (k, v) for k, v in second.headers.items() if k not in drop
    }
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and cached.served == served + 2


def test_open_data_errors_are_not_cached(app):
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 60
    client = app.test_client(use_cookies=False)
    cached = middleware(app)
    for _ in range(2):
        assert client.get("/api/v1/products/no-such-product").status_code == 404
    assert cached.served == 0


def test_an_expo_change_bumps_the_catalogue_generation(app_ctx):
    """Expo pages and passports show events and booths: they are catalogue changes."""
    generation = read_generation()[0]
    expo = expos.create_event("hainan-expo", "海南博览会", date(2026, 4, 1), date(2026, 4, 3))
    db.session.commit()
    assert read_generation()[0] == generation + 1
    expo.name_zh = "海南博览会（更新）"
    db.session.commit()
    assert read_generation()[0] == generation + 2


@pytest.mark.parametrize(
    ("steps", "limit", "kept"),
    [
        # (put k / get k, ...), the limit of every put, keys kept afterwards
        ([("put", "a"), ("put", "b"), ("put", "c")], 2, {"b", "c"}),
        ([("put", "a"), ("put", "b"), ("get", "a"), ("put", "c")], 2, {"a", "c"}),
        ([("put", "a"), ("get", "missing"), ("put", "b")], 1, {"b"}),
        ([("put", "a"), ("put", "a"), ("put", "b")], 2, {"a", "b"}),
        ([("put", "a"), ("put", "b")], 0, set()),
        ([("get", "a"), ("get", "a")], 3, set()),
    ],
)
def test_the_least_recently_used_entry_goes_first(steps, limit, kept):
    """The page store and the rendered-search cache share this one bounded map."""
    entries: LeastRecentlyUsed[str, str] = LeastRecentlyUsed()
    for step, key in steps:
        if step == "put":
            entries.put(key, key.upper(), limit)
        else:
            entries.get(key)
    assert {key for key in "abc" if entries.get(key) == key.upper()} == kept
    assert len(entries) == len(kept)
    entries.clear()
    assert len(entries) == 0 and entries.get("a") is None
