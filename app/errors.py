"""Error pages per audience: bilingual HTML pages for the site, JSON for /api.

Every error response keeps the headers the exception carries (RFC 9110: `Allow` on 405,
`WWW-Authenticate` on 401, `Retry-After` where given) and shows the request id; an
unexpected exception is logged with its traceback and that id first. If rendering the
error page fails too, a page that needs no template is sent instead."""

import math
import time

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, ServiceUnavailable

from app.observability import current_request_id, error_log, fallback_error_page

# Seconds a client is asked to wait on a 503 (and a 429 whose limit has no known reset).
DEFAULT_RETRY_AFTER = 60
TEMPLATED = (400, 404, 410, 413)


class BadInput(BadRequest):
    """A 400 whose message is safe and useful to show the visitor (already translated)."""

    def __init__(self, user_message: str) -> None:
        super().__init__()
        self.user_message = user_message


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _exception_headers(error: HTTPException) -> list[tuple[str, str]]:
    """The headers werkzeug would send with this exception, minus its own body's type."""
    return [
        (name, value)
        for name, value in error.get_headers()
        if name.lower() not in ("content-type", "content-length")
    ]


def handle_http_error(error: HTTPException):
    code = error.code or 500
    headers = _exception_headers(error)
    request_id = current_request_id()
    if _wants_json():
        body = {
            "code": code,
            "name": error.name,
            "message": error.description,
            "request_id": request_id,
        }
        return jsonify(error=body), code, headers
    template = f"errors/{code}.html" if code in TEMPLATED else "errors/generic.html"
    message = getattr(error, "user_message", None)
    html: str | bytes
    try:
        html = render_template(
            template,
            code=code,
            message=message,
            request_id=request_id,
            limit=_size_text(request.max_content_length),
        )
    except Exception:  # noqa: BLE001  a broken template or an unreachable database must not hide the error
        error_log.exception(
            "The %s error page failed (request %s)",
            code,
            request_id,
            extra={"request_id": request_id},
        )
        html = fallback_error_page(request_id)[0]
    return html, code, headers


def _size_text(size: int | None) -> str:
    """A body limit as people read it: "256 KB", "16 MB"."""
    if not size:
        return ""
    if size >= 1024 * 1024:
        return f"{size // (1024 * 1024)} MB"
    return f"{size // 1024} KB"


def handle_csrf_error(_error: CSRFError):
    message = _(
        "The form has expired or was not sent from this site. "
        "Please go back, reload the page and try again."
    )
    return render_template(
        "errors/400.html", code=400, message=message, request_id=current_request_id()
    ), 400


def handle_unexpected_error(error: Exception):
    """Logged with its traceback and the request id, then the 500 page; a database that
    cannot be reached or refused for a moment (connection refused or lost, too many
    clients, SQLite's "database is locked") is the site unavailable, not broken: RFC 9110
    §15.6.4's 503, with Retry-After from add_retry_after; so is a statement stopped by a
    PostgreSQL time limit (lock_timeout, statement_timeout: logged as such). Other
    database errors stay 500s."""
    unavailable = _is_unavailable(error)
    limit = _time_limit(error)
    error_log.error(
        "%s (request %s) %s %s",
        f"Database time limit ({limit})"
        if limit
        else "Database unavailable"
        if unavailable
        else "Unhandled exception",
        current_request_id(),
        request.method,
        request.path,
        exc_info=error,
        extra={"request_id": current_request_id()},
    )
    if unavailable:
        return handle_http_error(ServiceUnavailable())
    return handle_http_error(InternalServerError(original_exception=error))


# PostgreSQL's SQLSTATEs for a statement stopped by the per-connection time limits
# (app/db.py time_limits): the site is busy, not broken; the transaction is rolled back.
TIME_LIMITS = {"55P03": "lock_timeout", "57014": "statement_timeout"}


def _time_limit(error: Exception) -> str | None:
    """ "lock_timeout" / "statement_timeout" when a PostgreSQL time limit stopped the
    statement, else None."""
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    if not isinstance(error, DBAPIError) or not isinstance(sqlstate, str):
        return None
    return TIME_LIMITS.get(sqlstate)


def _is_unavailable(error: Exception) -> bool:
    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def add_retry_after(response):
    """RFC 9110 §10.2.3 / RFC 6585 §4: 503 and 429 tell the client when to come back. A rate
    limit's own reset time is used when the limiter knows it."""
    if response.status_code in (429, 503) and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = str(_retry_after_seconds(response.status_code))
    return response


def _retry_after_seconds(status: int) -> int:
    if status == 429:
        from app.extensions import limiter

        limit = limiter.current_limit  # None when no limit was evaluated on this request
        if limit is not None:
            return max(1, math.ceil(limit.reset_at - time.time()))
    return DEFAULT_RETRY_AFTER


def register(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
    app.after_request(add_retry_after)
