"""Request ids, one access line per request, and the logging configuration shared by the
factory and gunicorn (gunicorn.conf.py).

Every request gets an id: an incoming `X-Request-ID` is kept only when it is a safe short
token (REQUEST_ID_PATTERN: 8-64 of [A-Za-z0-9_-], e.g. nginx's `$request_id`, a UUID), so
the proxy's and the app's log lines can be joined and nothing a visitor sends can break a
log line; anything else is replaced by a fresh random id. The id is sent back in
`X-Request-ID` on every response (the WSGI fast paths included), shown on error pages and
written on every log line of the request."""

import contextvars
import logging
import re
import secrets
import time
from urllib.parse import quote

from werkzeug.wsgi import ClosingIterator

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")
ENVIRON_KEY = "gi.request_id"
ACCESS_LOGGER = "app.access"
MAX_LOGGED_PATH = 300

_current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
access_log = logging.getLogger(ACCESS_LOGGER)
error_log = logging.getLogger("app.errors")


def request_id_from(header: str | None) -> str:
    """The incoming id when it is a safe token, else a new 16-hex-digit random id."""
    if header and REQUEST_ID_PATTERN.fullmatch(header):
        return header
    return secrets.token_hex(8)


def current_request_id() -> str:
    """The id of the request being handled in this thread ("-" outside a request)."""
    return _current_request_id.get()


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (`%(request_id)s` in the format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current_request_id.get()
        return True


def logging_config(level: str = "INFO", *, include_root: bool = False) -> dict:
    """The `logging.config.dictConfig` dictionary: one line per record on stderr, with the
    process and the request id. The factory leaves the root logger alone (tests, embedding
    apps); gunicorn.conf.py passes include_root=True: gunicorn's defaults would otherwise
    give the root logger a handler writing to stdout in another format."""
    config: dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {
            "line": {
                "format": "%(asctime)s %(levelname)s [%(process)d] %(name)s "
                "request_id=%(request_id)s %(message)s",
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "line",
                "filters": ["request_id"],
            }
        },
        "loggers": {
            # Flask's app.logger is "app"; every module logs under app.<module>. Not passed
            # on to the root logger, which gunicorn (or an embedding app) may give its own
            # handler: the line would be written twice.
            # The filter here too: Flask's own app.logger records (an error handler that
            # failed) carry the id wherever they are handled.
            "app": {
                "level": level,
                "handlers": ["stderr"],
                "propagate": False,
                "filters": ["request_id"],
            },
            "gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
        },
    }
    if include_root:  # other libraries' warnings, in the same format
        config["root"] = {"level": "WARNING", "handlers": ["stderr"]}
    return config


def logged_path(environ) -> str:
    """The path as sent, percent-encoded so no space, quote or newline can split the log
    line; never the query string (it can carry codes people look up, tokens, e-mails)."""
    raw = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode(
        "latin-1", "replace"
    )
    return quote(raw, safe="/:@!$&'()*+,;=-._~")[:MAX_LOGGED_PATH]


class RequestObserver:
    """WSGI middleware: assigns the request id, adds the X-Request-ID header, and writes one
    access line when the response is finished (method, path, status, duration in ms, id).
    An exception that escapes Flask entirely (an error handler that failed too) is logged
    with its traceback and answered with a minimal bilingual 500 page."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        environ[ENVIRON_KEY] = request_id
        _current_request_id.set(request_id)
        started = time.perf_counter()
        sent: list[str] = []

        def observed_start_response(status, headers, exc_info=None):
            sent[:] = [status]
            return start_response(status, [*headers, (REQUEST_ID_HEADER, request_id)], exc_info)

        try:
            body = self.wsgi_app(environ, observed_start_response)
        except Exception:  # noqa: BLE001  whatever escaped is logged and answered
            error_log.exception(
                "Unhandled exception outside Flask (request %s)",
                request_id,
                extra={"request_id": request_id},
            )
            body = fallback_error_page(request_id)
            observed_start_response(
                "500 INTERNAL SERVER ERROR",
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Length", str(len(body[0]))),
                ],
            )

        def log_access() -> None:
            status = sent[0].split(" ", 1)[0] if sent else "-"
            access_log.info(
                "method=%s path=%s status=%s duration_ms=%.1f",
                environ.get("REQUEST_METHOD", "-"),
                logged_path(environ),
                status,
                (time.perf_counter() - started) * 1000,
                extra={"request_id": request_id},
            )
            _current_request_id.set("-")

        return ClosingIterator(body, [log_access])


def fallback_error_page(request_id: str) -> list[bytes]:
    """A 500 page that needs nothing (no template, no database, no locale): both languages."""
    html = (
        '<!doctype html><html lang="zh-Hans"><meta charset="utf-8">'
        "<title>500</title><h1>出错了 / Something went wrong</h1>"
        "<p>服务器出现错误，已记录在日志中，请稍后再试。</p>"
        '<p lang="en">An error occurred on our side. It has been logged; please try again '
        "later.</p>"
        f"<p>请求编号 / Request ID: <code>{request_id}</code></p></html>"
    )
    return [html.encode()]


def install(app) -> None:
    app.wsgi_app = RequestObserver(app.wsgi_app)
