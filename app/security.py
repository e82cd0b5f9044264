"""Security headers on every response."""

from flask import Flask, request
from flask_babel import gettext as _

from app.errors import BadInput

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


# Sent on every response (the WSGI fast paths send the same list).
STATIC_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "geolocation=(), camera=(), microphone=()"),
)


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    for name, value in STATIC_SECURITY_HEADERS:
        headers.setdefault(name, value)
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def reject_nul_bytes() -> None:
    """No database stores NUL in text (PostgreSQL refuses it): a NUL in the URL is a 400."""
    for name, value in request.args.items(multi=True):
        if "\x00" in value or "\x00" in name:
            raise BadInput(_("The parameter “%(name)s” has an invalid value.", name=name[:40]))
    if "\x00" in request.path:
        raise BadInput(_("The address contains a character that is not allowed."))


def init_app(app: Flask) -> None:
    app.before_request(reject_nul_bytes)
    app.after_request(add_security_headers)
