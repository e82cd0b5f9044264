"""A WSGI fast path for the hottest page: a passport already in the page cache is answered
before Flask's dispatch (no routing, no context, no extension hooks), with the same bytes
and headers the Flask view sends, and the scan counted in the same buffer.

Anything unusual falls through to Flask: a Host not in TRUSTED_HOSTS, a query string
(?lang= sets a cookie), a code not in canonical form, If-Match or If-Unmodified-Since
(a possible 412 page), a page not yet cached, a generation not re-checked within
PAGE_CACHE_CHECK_SECONDS, write-through scan counting, or a non-200 page."""
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask

from app.conditional import needs_full_evaluation
from app.hosts import host_trusted
from app.i18n import EnvironLanguage
from app.services import codes, scans
from app.services.page_cache import page_cache, wsgi_answer



class PassportFastPath:
    def __init__(self, app: Flask) -> None:
        from app.qr.inline_css import csp_allowing, inline_css

        self.flask_wsgi = app.wsgi_app
        self.config = app.config
        self.zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
        self.csp = csp_allowing(inline_css("passport.css")[1])
        self._language = EnvironLanguage(app.config)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if (path.startswith("/q/") and len(path) == 11 and not environ.get("QUERY_STRING")
                and environ.get("REQUEST_METHOD") in ("GET", "HEAD")
                and host_trusted(environ, self.config["TRUSTED_HOSTS"])
                and not needs_full_evaluation(environ)):
            answer = self._answer(path[3:], environ, start_response)
            if answer is not None:
                return answer
        return self.flask_wsgi(environ, start_response)

    def _answer(self, code: str, environ, start_response):
        if self.config.get("SCAN_FLUSH_SECONDS", 1.0) <= 0 or codes.code_problem(code):
            return None
        generation = page_cache.recent_generation(self.config["PAGE_CACHE_CHECK_SECONDS"])
        if generation is None:
            return None
        lang = self._language(environ)
        today = datetime.now(self.zone).date()
        entry = page_cache.get(("q", code, lang, generation, today))
        if entry is None or entry.status != 200:
            return None
        method = environ["REQUEST_METHOD"]
        kind = scans.classify(method, environ.get("HTTP_USER_AGENT"))
        scans.scan_buffer.add((code, today, entry.event_id, kind.value))
        return wsgi_answer(entry.page, environ, start_response, [
            ("Content-Security-Policy", self.csp),
            ("Content-Language", "zh-Hans" if lang == "zh" else "en"),
            ("Vary", "Accept-Language, Cookie"),
            ("Cache-Control", f"public, max-age={self.config['PUBLIC_MAX_AGE']}, s-maxage=0"),
        ])


def install(app: Flask) -> None:
    app.wsgi_app = PassportFastPath(app)
