"""Requests for hosts outside TRUSTED_HOSTS are refused with 400 (our check, in Flask's
place: names compared case-insensitively, without a trailing dot, IPv6 in brackets), by
Flask and by the WSGI fast paths alike, and nothing is ever built from the Host header:
absolute URLs come from SITE_BASE_URL."""

import re
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Request, request
from werkzeug.exceptions import SecurityError
from werkzeug.routing import MapAdapter, RequestRedirect

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


# A Host value: a DNS name or IPv4 address, or an IPv6 address in brackets; then a port.
_HOST = re.compile(
    r"(?P<name>[a-z0-9.-]+|\[[a-f0-9:.]+\])(?::(?P<port>[0-9]{1,5}))?", re.ASCII | re.IGNORECASE
)


def host_name(value: str) -> str | None:
    """The name in a Host value (or a TRUSTED_HOSTS entry), as one spelling: lower case (host
    names are case-insensitive, RFC 3986 §3.2.2), without the trailing dot of a fully
    qualified name (RFC 1034 §3.1: localhost. is localhost), without the port; an IPv6
    address in brackets ([::1]). None when it is no host name at all (empty labels,
    characters outside a name, a port out of range)."""
    found = _HOST.fullmatch(value)
    if found is None or (found["port"] and not 1 <= int(found["port"]) <= 65535):
        return None
    name = found["name"].lower()
    if name.startswith("["):
        return name
    name = name.removesuffix(".")
    if not name or ".." in name or name.startswith(".") or name.endswith("."):
        return None
    return name


def trusted_name(entry: str) -> str | None:
    """A TRUSTED_HOSTS entry as host_name spells it: "::1" is "[::1]", ".example.cn" (the
    domain and its subdomains) keeps its dot, Unicode names their IDNA form."""
    entry = entry.strip()
    if entry.count(":") > 1 and not entry.startswith("["):
        entry = f"[{entry}]"
    try:
        entry = entry.encode("idna").decode("ascii") if not entry.isascii() else entry
    except UnicodeError:
        return None
    if entry.startswith("."):
        name = host_name(entry[1:])
        return f".{name}" if name else None
    return host_name(entry)


def host_trusted(environ: "WSGIEnvironment", trusted_hosts: list[str] | None) -> bool:
    """Whether the request's Host names this site (TRUSTED_HOSTS; None = any), by Flask and
    the fast paths alike. Without a Host header (HTTP/1.0), the server's own name."""
    if trusted_hosts is None:
        return True
    sent = environ.get("HTTP_HOST")  # present but empty: refused (RFC 9112 §3.2)
    name = host_name(sent if sent is not None else environ.get("SERVER_NAME", ""))
    if name is None:
        return False
    for entry in trusted_hosts:
        trusted = trusted_name(entry)
        if trusted is None:
            continue
        if name == trusted or (trusted.startswith(".") and f".{name}".endswith(trusted)):
            return True
    return False


REFUSED_HOST = "catalogue.refused_host"


class CatalogueFlask(Flask):
    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """The TRUSTED_HOSTS check (host_trusted), then an adapter bound to SITE_BASE_URL's
        scheme and host instead of the request's: an external url_for never carries a Host
        or X-Forwarded-Proto. An untrusted Host stays refused (the routing exception Flask
        raises before any view), yet the 400 page can still build its links."""
        if request is None:
            return super().create_url_adapter(request)
        # Not Flask's own check: werkzeug compares names as typed (LOCALHOST, localhost.)
        # and cannot read an IPv6 entry ([::1]) in TRUSTED_HOSTS.
        if not host_trusted(request.environ, self.config["TRUSTED_HOSTS"]):
            refused = SecurityError(f"Host {request.headers.get('Host', '')!r} is not trusted.")
            request.routing_exception = refused
            # Routing may overwrite the above (a 404, a slash redirect): kept for the hook.
            request.environ[REFUSED_HOST] = refused
        site = urlsplit(self.config["SITE_BASE_URL"])
        return self.url_map.bind(
            site.netloc,
            script_name=request.script_root or "/",
            url_scheme=site.scheme,
            default_method=request.method,
            path_info=request.path,
            query_args=request.environ.get("QUERY_STRING", ""),
        )

    def raise_routing_exception(self, request: Request) -> NoReturn:
        """Routing's redirects (a missing trailing slash) are sent relative (RFC 9110
        section 10.2.2 allows it): no host at all, so they work on any port `make run` or a
        test server uses, and never lead off the site."""
        redirect = request.routing_exception
        if isinstance(redirect, RequestRedirect):
            target = urlsplit(redirect.new_url)
            redirect.new_url = urlunsplit(("", "", target.path, target.query, target.fragment))
        super().raise_routing_exception(request)


def refuse_untrusted_host() -> None:
    """An untrusted Host is a 400 whatever routing found (404, slash redirect) and before
    any hook could answer first (the back office's login redirect)."""
    refused = request.environ.get(REFUSED_HOST)
    if refused is not None:
        raise refused


def init_app(app: Flask) -> None:
    app.before_request(refuse_untrusted_host)
