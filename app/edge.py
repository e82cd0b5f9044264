"""What the app and the reverse proxy in front of it (deploy/nginx.conf.j2) tell each other.

With PROXY_CACHE_SECONDS_ALIGNED, every answer marked public gets
`X-Accel-Expires: @<the current second>`: nginx then keeps it only until that second ends.
nginx counts cache validity in whole seconds ("1s" keeps an answer up to 2 s), and the
stack promises a publish within 1 s through the cache. nginx never passes the header on.

A request nginx may store the answer of comes with `X-Cache-Fill: 1` (its cached location
sets it, and only there): this process then re-reads the catalogue generation before
answering, so what nginx keeps is current, whatever PAGE_CACHE_CHECK_SECONDS. Other
requests (passports, the back office) keep the per-process check and the cached-answer
fast path. Costs one one-row SELECT per nginx cache miss.

The same request carries `X-Cache-Language`: the language nginx keys the stored page
under (nginx always overwrites it; a visitor cannot set it). nginx reads Accept-Language
and the cookie with a few regular expressions, the app with werkzeug and Babel; where the
two disagree (`zh;q=-0`, `lang="en"`, two Cookie headers...) the page would be stored
under the other language and replayed to its visitors. So the app confirms the key: when
the language it rendered in (LANGUAGE_ENVIRON, set by app/i18n.py and the cached-answer
fast path) differs from the key, or a cache fill names no key, the answer gets
`X-Accel-Expires: 0` (nginx does not store it; browsers' Cache-Control is left as is)."""

import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from app.caching.store import response_cache

HEADER = "X-Accel-Expires"
FILL = "HTTP_X_CACHE_FILL"
KEY_LANGUAGE = "HTTP_X_CACHE_LANGUAGE"
# The language an answer was written in ("zh"/"en"), recorded in the WSGI environ by
# whatever chose it; absent when the answer does not depend on the language.
LANGUAGE_ENVIRON = "gi.page_language"
NOT_STORABLE = "0"


def proxy_expiry(environ: dict) -> str:
    """X-Accel-Expires for a public answer to `environ`: "@<second>" (nginx keeps it to the
    end of this second), or "0" when nginx would store it under a language it is not in."""
    if environ.get(FILL):
        keyed = environ.get(KEY_LANGUAGE)
        written = environ.get(LANGUAGE_ENVIRON)
        if not keyed or (written is not None and written != keyed):
            return NOT_STORABLE
    return f"@{int(time.time())}"


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
                headers = [*headers, (HEADER, proxy_expiry(environ))]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, with_expiry)


def install(app: Flask) -> None:
    if app.config.get("PROXY_CACHE_SECONDS_ALIGNED"):
        app.wsgi_app = AlignedProxyExpiry(app.wsgi_app)  # type: ignore[method-assign]
