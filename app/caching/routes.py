"""`cached_response`: the one way a route is cached, in Flask (the middleware answers the
same entries before Flask, see middleware.py).

A route says how it is cached with a `CachedRoute` and is marked cacheable on its view
(`cached` wraps the whole view; `cacheable` only marks a view that calls `cached_response`
itself for part of its answers, like the passport). The middleware derives the set of
cacheable paths from those marks."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import wraps
from typing import Any, Protocol, TypeVar

from flask import Flask, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from app.caching.store import CacheEntry, cache_key, response_cache
from app.conditional import conditional
from app.i18n import current_lang
from app.services.catalogue import local_today

View = TypeVar("View", bound=Callable[..., Any])


class AnswerHook(Protocol):
    """A route's own behaviour on every answer of a cached entry, by Flask or the
    middleware (the passport counts a scan)."""

    def ready(self, config: dict) -> bool:
        """May the middleware answer now (False: leave the request to Flask)?"""

    def answered(self, app: Flask, entry: CacheEntry, environ: dict, today: date) -> None:
        """Called once per answer of `entry` (not for answers that were not cached)."""


@dataclass(frozen=True)
class CachedRoute:
    """How one kind of route is cached. Only 200 answers carry validators and Cache-Control
    (public, max-age=PUBLIC_MAX_AGE) and only they are answered by the middleware; other
    `statuses` are kept for Flask to send again (the passport's 410)."""

    name: str
    by_language: bool = True  # the answer depends on the visitor's language
    dated: bool = True  # Last-Modified from the generation (JSON answers: ETag only)
    vary: tuple[str, ...] = ()
    shared_max_age: int | None = None  # s-maxage: shared caches revalidate sooner
    statuses: frozenset[int] = frozenset({200})
    hook: AnswerHook | None = field(default=None, compare=False)


@dataclass(frozen=True)
class WithExtra:
    """What a render function returns when the route's hook needs more than the response."""

    response: ResponseReturnValue
    extra: tuple[object, ...]


def cached_response(
    route: CachedRoute, render: Callable[[], ResponseReturnValue | WithExtra]
) -> Response:
    """This request's answer from the cache, rendered (and kept) on a miss. `render`
    returns what a view returns (or WithExtra); an answer whose status is not one of the
    route's statuses (a 404, a redirect) is sent as it is and not kept. Conditional
    requests are answered (304, 412) by app/conditional.py."""
    generation, changed_at = response_cache.generation()
    today = local_today()
    lang = current_lang() if route.by_language else ""
    key = cache_key(request.environ, lang, generation, today)
    entry = response_cache.get(key)
    if entry is None:
        rendered = render()
        extra: tuple[object, ...] = ()
        if isinstance(rendered, WithExtra):
            extra = rendered.extra
        response = current_app.make_response(
            rendered.response if isinstance(rendered, WithExtra) else rendered
        )
        if response.status_code not in route.statuses:
            return response
        entry = _entry(route, response, changed_at, today, extra)
        response_cache.put(key, entry)
    if route.hook is not None:
        route.hook.answered(current_app, entry, request.environ, today)
    return conditional(flask_response(entry))


def _entry(
    route: CachedRoute,
    response: Response,
    changed_at: datetime,
    today: date,
    extra: tuple[object, ...],
) -> CacheEntry:
    response.vary.update(route.vary)
    if response.status_code != 200:
        return CacheEntry(
            response.status_code, _own_headers(response), response.get_data(), extra=extra
        )
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["PUBLIC_MAX_AGE"]
    if route.shared_max_age is not None:
        response.cache_control.s_maxage = route.shared_max_age
    body = response.get_data()
    last_modified = None
    if route.dated:
        midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
        last_modified = max(changed_at, midnight)
    return CacheEntry(200, _own_headers(response), body, content_etag(body), last_modified, extra)


def _own_headers(response: Response) -> tuple[tuple[str, str], ...]:
    return tuple(
        (name, value)
        for name, value in response.headers.items()
        if name not in ("Content-Length", "ETag", "Last-Modified")
    )


def content_etag(body: bytes) -> str:
    """A strong entity tag of these bytes (16 hex digits)."""
    return hashlib.blake2b(body, digest_size=8).hexdigest()


def flask_response(entry: CacheEntry) -> Response:
    response = current_app.response_class(
        entry.body, status=entry.status, headers=list(entry.headers)
    )
    if entry.etag is not None:
        response.set_etag(entry.etag)
    if entry.last_modified is not None:  # (werkzeug would write None as "now")
        response.last_modified = entry.last_modified
    return response


def cacheable(route: CachedRoute) -> Callable[[View], View]:
    """Mark a view whose cached answers the middleware may send (the view itself calls
    cached_response)."""

    def mark(view: View) -> View:
        view.cached_route = route  # type: ignore[attr-defined]  # read by the middleware
        return view

    return mark


def cached(route: CachedRoute) -> Callable[[View], View]:
    """Cache the whole view: its answer depends only on the key (cache_key)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            return cached_response(route, lambda: view(*args, **kwargs))

        return cacheable(route)(wrapper)  # type: ignore[return-value]

    return decorate


def marked_route(view: Callable[..., Any]) -> CachedRoute | None:
    return getattr(view, "cached_route", None)


HTML_PAGE = CachedRoute("page", vary=("Accept-Language", "Cookie"))
# Atom and iCalendar feeds: written in the reader's language like a page.
FEED = CachedRoute("feed", vary=("Accept-Language", "Cookie"))
# The JSON API and the /data downloads: the same in every language; an ETag only. Vary:
# Cookie as Flask's session adds it to every answer it sends.
OPEN_DATA = CachedRoute("open data", by_language=False, dated=False, vary=("Cookie",))
