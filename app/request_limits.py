"""Bounded request bodies on every route, refused with 413 before anything is parsed.

- Every body is limited to MAX_CONTENT_LENGTH (a form's worth of text). A view that takes a
  file declares its own larger limit with @accepts_upload(bytes); the larger limit applies
  only to multipart/form-data, the one encoding that carries files: a url-encoded body is
  always held to the small limit.
- A declared Content-Length over the limit is refused before a byte is read; a body without
  one (chunked) is read through werkzeug's limited stream and refused when it passes it.
- A form may have at most MAX_FORM_PARTS fields: werkzeug counts multipart parts as it
  streams; url-encoded bodies (which werkzeug parses in one go, uncounted) are counted here
  from the raw bytes before parsing. MAX_FORM_MEMORY_SIZE bounds one multipart text field.

Werkzeug's multipart parser, its limited stream and Flask's per-request limits do the work
(Flask 3.1 `MAX_CONTENT_LENGTH`, `MAX_FORM_MEMORY_SIZE`, `MAX_FORM_PARTS`)."""

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, request
from flask.wrappers import Request
from werkzeug.exceptions import RequestEntityTooLarge

View = TypeVar("View", bound=Callable)
URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
# Room for the other fields of an upload form and the multipart framing around the file.
FORM_OVERHEAD = 1024 * 1024


def accepts_upload(max_bytes: int) -> Callable[[View], View]:
    """Allow multipart bodies of up to max_bytes (the file plus its form fields) on a view."""

    def mark(view: View) -> View:
        view.max_upload_bytes = max_bytes  # type: ignore[attr-defined]
        return view

    return mark


class BoundedRequest(Request):
    """Flask's request whose body limit depends on the matched view and the encoding."""

    @property
    def max_content_length(self) -> int | None:
        limit = super().max_content_length
        if self.mimetype == MULTIPART and self.url_rule is not None:
            view = current_app.view_functions.get(self.url_rule.endpoint)
            limit = max(limit or 0, getattr(view, "max_upload_bytes", 0)) or None
        return limit

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def refuse_oversized_body() -> None:
    """before_request, ahead of CSRF and the views (they would parse the form)."""
    if request.routing_exception is not None:
        return  # a 404 or 405 follows and reads nothing
    limit = request.max_content_length
    length = request.content_length
    if limit is not None and length is not None and length > limit:
        raise RequestEntityTooLarge()
    if length is None and "HTTP_TRANSFER_ENCODING" in request.environ:
        _refuse_long_chunked_body(limit)
    if request.mimetype == URLENCODED:
        _count_urlencoded_fields(current_app.config["MAX_FORM_PARTS"])


def _refuse_long_chunked_body(limit: int | None) -> None:
    # werkzeug's limited stream returns the first `limit` bytes of a longer chunked body
    # without complaint (only a further read raises), so a form would be silently cut.
    # A body that fills the limit is taken as longer than it (one byte of leeway lost).
    # Read whole (at most the limit), also for multipart: werkzeug's parser stopped half-way
    # would leave its spooled temporary file open.
    body = request.get_data(cache=True, parse_form_data=False)
    if limit is not None and len(body) >= limit:
        raise RequestEntityTooLarge()


def _count_urlencoded_fields(max_fields: int | None) -> None:
    # get_data keeps the bytes, so the form is later parsed from this same copy.
    body = request.get_data(cache=True, parse_form_data=False)
    if max_fields is not None and body.count(b"&") >= max_fields:
        raise RequestEntityTooLarge()


def init_app(app: Flask) -> None:
    app.request_class = BoundedRequest
    app.before_request(refuse_oversized_body)
