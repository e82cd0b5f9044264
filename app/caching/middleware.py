"""WSGI middleware answering cached entries before Flask's dispatch (no routing, no request
context, no extension hooks): on a 2-core box that work is most of a cached answer's cost.
It sends the same bytes and headers as Flask (tests compare the two) for any route marked
cacheable (app/caching/routes.py), and runs the route's hook (the passport counts a scan).

Anything unusual falls through to Flask: another method, a path no cacheable route can
match, ?lang= (Flask sets the cookie), a session cookie (a signed-in official: Flask keeps
the session alive), a Host not in TRUSTED_HOSTS (Flask answers its 400 page), If-Match or
If-Unmodified-Since (they can end in a 412 page), a route whose hook is not ready (scans
written through), an entry not yet cached or not a 200, or a generation not re-checked
within PAGE_CACHE_CHECK_SECONDS. If-None-Match and If-Modified-Since are answered here by
the same evaluator Flask uses (app/conditional.py)."""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask

from app.caching.routes import CachedRoute, marked_route
from app.caching.store import CacheEntry, cache_key, response_cache
from app.conditional import needs_full_evaluation, precondition_status
from app.edge import LANGUAGE_ENVIRON
from app.hosts import host_trusted
from app.i18n import EnvironLanguage

StartResponse = Callable[..., Any]


Prefixes = tuple[tuple[str, CachedRoute], ...]


def cacheable_paths(app: Flask) -> tuple[dict[str, CachedRoute], Prefixes]:
    """(exact paths, path prefixes) of the rules whose views are marked cacheable: a rule
    without variables is one path; one with variables covers everything after its static
    start ("/counties/<slug>" -> "/counties/")."""
    exact: dict[str, CachedRoute] = {}
    prefixes: dict[str, CachedRoute] = {}
    for rule in app.url_map.iter_rules():
        route = marked_route(app.view_functions[rule.endpoint])
        if route is None:
            continue
        static, variable, _rest = rule.rule.partition("<")
        found = prefixes if variable else exact
        if found.setdefault(static, route) != route:
            raise ValueError(f"{static!r} is cached two ways: {found[static]} and {route}")
    longest_first = sorted(prefixes.items(), key=lambda item: -len(item[0]))
    return exact, tuple(longest_first)


class CachedResponses:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.flask_wsgi = app.wsgi_app
        self.config = app.config
        self.zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
        self.language = EnvironLanguage(app.config)
        self.session_cookie = app.config["SESSION_COOKIE_NAME"] + "="
        self.exact, self.prefixes = cacheable_paths(app)
        self.served = 0  # answered here rather than by Flask (tests read it)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        route = self._route(environ)
        if route is not None:
            answer = self._answer(route, environ, start_response)
            if answer is not None:
                return answer
        return self.flask_wsgi(environ, start_response)

    def _route(self, environ: dict) -> CachedRoute | None:
        """The cacheable route this request may be answered for, or None (Flask answers)."""
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return None
        path = environ.get("PATH_INFO", "")
        route = self.exact.get(path)
        if route is None:
            route = next((r for prefix, r in self.prefixes if path.startswith(prefix)), None)
        if (
            route is None
            or "lang=" in environ.get("QUERY_STRING", "")
            or self.session_cookie in environ.get("HTTP_COOKIE", "")
            or not host_trusted(environ, self.config["TRUSTED_HOSTS"])
            or needs_full_evaluation(environ)
            or (route.hook is not None and not route.hook.ready(self.config))
        ):
            return None
        return route

    def _answer(
        self, route: CachedRoute, environ: dict, start_response: StartResponse
    ) -> Iterable[bytes] | None:
        generation = response_cache.recent_generation(self.config["PAGE_CACHE_CHECK_SECONDS"])
        if generation is None:
            return None
        today = datetime.now(self.zone).date()
        lang = self.language(environ) if route.by_language else ""
        entry = response_cache.get(cache_key(environ, lang, generation, today))
        if entry is None or entry.status != 200:
            return None
        if lang:
            environ[LANGUAGE_ENVIRON] = lang  # app/edge.py checks nginx's key against it
        if route.hook is not None:
            route.hook.answered(self.app, entry, environ, today)
        self.served += 1
        return wsgi_answer(entry, environ, start_response)


def wsgi_answer(entry: CacheEntry, environ: dict, start_response: StartResponse) -> list[bytes]:
    """A cached 200 entry at the WSGI level: 304 and HEAD handled, HSTS on https (as
    app/security.py adds it)."""
    secure = environ.get("wsgi.url_scheme") == "https"
    hsts = [("Strict-Transport-Security", "max-age=31536000")] if secure else []
    if precondition_status(environ, entry.etag, entry.last_modified) == 304:
        start_response("304 NOT MODIFIED", entry.not_modified_headers + hsts)
        return [b""]
    start_response("200 OK", [*entry.wsgi_headers, *hsts, ("Content-Length", str(len(entry.body)))])
    return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [entry.body]


def install(app: Flask) -> None:
    """Wrap app.wsgi_app (call after the blueprints are registered: the cacheable paths
    are read from the URL map)."""
    app.wsgi_app = CachedResponses(app)  # type: ignore[method-assign]
