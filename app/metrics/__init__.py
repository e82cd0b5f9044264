"""Prometheus metrics: requests by route and status, latency, search latency, the in-app page
cache's hit ratio, scans waiting in memory; index lag and the catalogue generation read
from the database when /metrics is scraped (app/metrics/views.py).

Under gunicorn each worker is its own process: with PROMETHEUS_MULTIPROC_DIR set (one
directory per node, deploy/gunicorn.conf.py) prometheus-client writes every worker's values
to files there and /metrics adds them up; the master empties the directory when it starts
and marks a worker's files dead when the worker exits (child_exit). Without it (flask run,
tests) the values live in the process.

Metric names start with gi_. The WSGI layer (install) sits around the cached-answer fast
path, so cached answers are counted too; their route is found by matching the URL map."""

import os
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Flask, request
from prometheus_client import Counter, Gauge, Histogram
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import ClosingIterator

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
ROUTE_KEY = "gi.route"  # the matched URL rule, set by Flask's before_request
UNMATCHED = "unmatched"
# Seconds: a cached answer is well under 2 ms, a search page tens of ms.
LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0)

REQUESTS = Counter(
    "gi_http_requests_total",
    "Requests answered, by route, method and status",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "gi_http_request_duration_seconds",
    "Time to answer, by route",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
SEARCH_LATENCY = Histogram(
    "gi_search_request_duration_seconds",
    "Time to answer a search page or API search",
    buckets=LATENCY_BUCKETS,
)
PAGE_CACHE = Counter(
    "gi_page_cache_lookups_total", "In-app page cache lookups (app/caching), by result", ["result"]
)
SCANS_BUFFERED = Gauge(
    "gi_scans_buffered",
    "Passport scans counted in memory, not yet written",
    multiprocess_mode="livesum",
)


def page_cache_lookup(hit: bool) -> None:
    """Count one lookup of the in-app page cache (app/caching/store.py)."""
    PAGE_CACHE.labels("hit" if hit else "miss").inc()


def reset_multiprocess_dir() -> None:
    """gunicorn on_starting: a node's metrics start from zero (old files would be added)."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return
    shutil.rmtree(directory, ignore_errors=True)
    Path(directory).mkdir(parents=True, exist_ok=True)


def multiprocess_child_exit(pid: int) -> None:
    """gunicorn child_exit: the dead worker's live gauges no longer count."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def remember_route() -> None:
    """before_request: the matched rule ("/products/<slug>"), the route label of this request."""
    if request.url_rule is not None:
        request.environ[ROUTE_KEY] = request.url_rule.rule


class RequestMetrics:
    """WSGI layer: counts and times every answer, the cache fast path's included."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        from app.services.scans import scan_buffer

        self.scan_buffer = scan_buffer

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        status: list[str] = []

        def observed(status_line: str, headers: list, exc_info: Any = None) -> Any:
            status[:] = [status_line.split(" ", 1)[0]]
            return start_response(status_line, headers, exc_info)

        body = self.wsgi_app(environ, observed)

        def record() -> None:
            route = environ.get(ROUTE_KEY) or self._route(environ)
            seconds = time.perf_counter() - started
            REQUESTS.labels(
                route, environ.get("REQUEST_METHOD", "-"), status[0] if status else "-"
            ).inc()
            LATENCY.labels(route).observe(seconds)
            if route.startswith(("/search", "/api/v1/search")):
                SEARCH_LATENCY.observe(seconds)
            SCANS_BUFFERED.set(self.scan_buffer.pending())

        return ClosingIterator(body, [record])

    def _route(self, environ: dict) -> str:
        """The rule of an answer Flask did not route (the cached-answer fast path)."""
        try:
            rule, _args = self.app.url_map.bind_to_environ(environ).match(return_rule=True)
        except HTTPException:
            return UNMATCHED
        return rule.rule


def install(app: Flask) -> None:
    app.before_request(remember_route)
    app.wsgi_app = RequestMetrics(app, app.wsgi_app)  # type: ignore[method-assign]
