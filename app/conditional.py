"""Conditional requests (RFC 9110 §13), evaluated the same way by Flask views and by the WSGI
fast paths.

Werkzeug's `make_conditional` gets some cases wrong for us: `If-Match: *` fails on an
existing page, `If-Unmodified-Since` is ignored, and it adds a second Date header to the
server's own. This module follows §13.2.2's order:
If-Match (strong comparison; `*` matches any current page), else If-Unmodified-Since; then
If-None-Match (weak comparison; `*` matches; 304 for GET/HEAD, 412 otherwise), else
If-Modified-Since (GET/HEAD only). A date that does not parse is ignored (§13.1.3, §13.1.4)."""

from datetime import datetime

from flask import Flask, Response, request
from werkzeug.exceptions import PreconditionFailed
from werkzeug.http import parse_date, parse_etags, remove_entity_headers, unquote_etag

SAFE_METHODS = ("GET", "HEAD")


def precondition_status(environ, etag: str | None, last_modified: datetime | None) -> int:
    """200, 304 or 412 for a request (a WSGI environ) on a page that exists with this
    entity tag (unquoted, strong) and modification time (HTTP dates have whole seconds)."""
    method = environ.get("REQUEST_METHOD", "GET")
    if last_modified is not None:
        last_modified = last_modified.replace(microsecond=0)
    if_match = environ.get("HTTP_IF_MATCH", "").strip()
    if if_match:
        tags = parse_etags(if_match)
        if not (tags.star_tag or (etag is not None and tags.contains(etag))):
            return 412
    else:
        unmodified_since = parse_date(environ.get("HTTP_IF_UNMODIFIED_SINCE"))
        if unmodified_since and last_modified and last_modified > unmodified_since:
            return 412
    if_none_match = environ.get("HTTP_IF_NONE_MATCH", "").strip()
    if if_none_match:
        tags = parse_etags(if_none_match)
        if tags.star_tag or (etag is not None and tags.contains_weak(etag)):
            return 304 if method in SAFE_METHODS else 412
    elif method in SAFE_METHODS:
        modified_since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
        if modified_since and last_modified and last_modified <= modified_since:
            return 304
    return 200


def needs_full_evaluation(environ) -> bool:
    """Preconditions that can fail with 412 (an error page): the fast paths leave those
    requests to Flask."""
    return bool(environ.get("HTTP_IF_MATCH") or environ.get("HTTP_IF_UNMODIFIED_SINCE"))


def conditional(response):
    """Apply the request's preconditions to a 200 response carrying ETag/Last-Modified:
    the same response as 304 (werkzeug then drops the body and entity headers), or a 412
    error page. Replaces werkzeug's `response.make_conditional(request)`."""
    if response.status_code != 200:
        return response
    etag = response.headers.get("ETag")
    status = precondition_status(
        request.environ, unquote_etag(etag)[0] if etag else None, response.last_modified
    )
    if status == 412:
        raise PreconditionFailed()
    # No make_conditional: it adds a Date header, and the server adds its own. Werkzeug
    # sets Content-Length when it sends a 200 (get_wsgi_headers) and drops the entity
    # headers and body of a 304.
    if status == 304:
        response.status_code = 304
    return response


def leave_date_to_the_server(response: Response) -> Response:
    """No Date header from the application: the HTTP server writes one on every answer
    (RFC 9110 §6.6.1: a single Date; werkzeug's server and gunicorn always add theirs), and
    werkzeug's send_file (static files, media) adds one of its own."""
    response.headers.pop("Date", None)
    return response


def answer_star(response: Response) -> Response:
    """`If-None-Match: *` on GET/HEAD of any page that exists is a 304 (RFC 9110 §13.1.2:
    `*` matches every current representation, with or without an entity tag). Pages with
    validators went through `conditional` already; this covers the rest (sitemap, search,
    forms, downloads)."""
    if (
        response.status_code == 200
        and request.method in SAFE_METHODS
        and not response.is_streamed
        and parse_etags(request.headers.get("If-None-Match", "").strip()).star_tag
    ):
        response.status_code = 304
        response.set_data(b"")
        remove_entity_headers(response.headers)
    return response


def init_app(app: Flask) -> None:
    app.after_request(answer_star)
    app.after_request(leave_date_to_the_server)
