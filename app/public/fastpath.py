"""A WSGI fast path for public pages already in the page cache: the same bytes and headers
the Flask view sends (tests compare the two), answered before routing, request context and
extension hooks. On a 2-core box that work is most of a cached page's cost.

Anything unusual falls through to Flask: a Host not in TRUSTED_HOSTS (Flask answers its
400 page), another method, ?lang= (Flask sets the cookie), a session cookie (a signed-in
official: Flask keeps the session alive), If-Match or If-Unmodified-Since (they can end
in a 412 page), a page not yet cached, or a generation not re-checked within
PAGE_CACHE_CHECK_SECONDS. If-None-Match and If-Modified-Since are answered here by the
same evaluator Flask uses (app/conditional.py)."""
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask

from app.conditional import needs_full_evaluation
from app.hosts import host_trusted
from app.i18n import EnvironLanguage
from app.security import CONTENT_SECURITY_POLICY
from app.services.page_cache import page_cache, wsgi_answer

# The prefixes of the views decorated with @cached_page.
CACHED_PREFIXES = ("/counties/", "/products/", "/brands/", "/enterprises/", "/categories/",
                   "/register/")


class PublicPageFastPath:
    def __init__(self, app: Flask) -> None:
        self.flask_wsgi = app.wsgi_app
        self.config = app.config
        self.zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
        self.language = EnvironLanguage(app.config)
        self.session_cookie = app.config["SESSION_COOKIE_NAME"] + "="
        self.served = 0  # answered here rather than by Flask (tests read it)

    def __call__(self, environ, start_response):
        if self._eligible(environ):
            answer = self._answer(environ, start_response)
            if answer is not None:
                return answer
        return self.flask_wsgi(environ, start_response)

    def _eligible(self, environ) -> bool:
        path = environ.get("PATH_INFO", "")
        return (
            environ.get("REQUEST_METHOD") in ("GET", "HEAD")
            and (path == "/" or path.startswith(CACHED_PREFIXES))
            and "lang=" not in environ.get("QUERY_STRING", "")
            and self.session_cookie not in environ.get("HTTP_COOKIE", "")
            and host_trusted(environ, self.config["TRUSTED_HOSTS"])
            and not needs_full_evaluation(environ)
        )

    def _answer(self, environ, start_response):
        generation = page_cache.recent_generation(self.config["PAGE_CACHE_CHECK_SECONDS"])
        if generation is None:
            return None
        full_path = f"{environ['PATH_INFO']}?{environ.get('QUERY_STRING', '')}"
        today = datetime.now(self.zone).date()
        page = page_cache.get((full_path, self.language(environ), generation, today))
        if page is None:
            return None
        self.served += 1
        return wsgi_answer(page, environ, start_response, [
            ("Cache-Control", f"public, max-age={self.config['PUBLIC_MAX_AGE']}"),
            ("Vary", "Accept-Language, Cookie"),
            ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ])


def install(app: Flask) -> None:
    app.wsgi_app = PublicPageFastPath(app)
