"""What the app and the reverse proxy in front of it (deploy/nginx.conf.j2) tell each other.

With PROXY_CACHE_SECONDS_ALIGNED, every answer marked public gets
`X-Accel-Expires: @<the current second>`: nginx then keeps it only until that second ends.
nginx counts cache validity in whole seconds ("1s" keeps an answer up to 2 s), and the
stack promises a publish within 1 s through the cache. nginx never passes the header on.

A request nginx may store the answer of comes with `X-Cache-Fill: 1` (its cached location
sets it, and only there): this process then re-reads the catalogue generation before
answering, so what nginx keeps is current, whatever PAGE_CACHE_CHECK_SECONDS. Other
requests (passports, the back office) keep the per-process check and the cached-answer
fast path. Costs one one-row SELECT per nginx cache miss."""

import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from app.caching.store import response_cache

HEADER = "X-Accel-Expires"
FILL = "HTTP_X_CACHE_FILL"


class AlignedProxyExpiry:
    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get(FILL):
            response_cache.expire()

        def with_expiry(status: str, headers: list, exc_info: Any = None) -> Any:
            public = any(
                name.lower() == "cache-control" and "public" in value for name, value in headers
            )
            if public:
                headers = [*headers, (HEADER, f"@{int(time.time())}")]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, with_expiry)


def install(app: Flask) -> None:
    if app.config.get("PROXY_CACHE_SECONDS_ALIGNED"):
        app.wsgi_app = AlignedProxyExpiry(app.wsgi_app)  # type: ignore[method-assign]
