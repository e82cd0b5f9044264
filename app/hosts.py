"""Requests for hosts outside TRUSTED_HOSTS are refused with 400 (Flask's check), by Flask
and by the WSGI fast paths alike, and nothing is ever built from the Host header: absolute
URLs come from SITE_BASE_URL."""

from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Request, request
from werkzeug.exceptions import SecurityError
from werkzeug.routing import MapAdapter, RequestRedirect
from werkzeug.wsgi import get_host

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


def host_trusted(environ: "WSGIEnvironment", trusted_hosts: list[str] | None) -> bool:
    """The check Flask makes (TRUSTED_HOSTS; None = any) before a fast path answers."""
    try:
        get_host(environ, trusted_hosts)
    except SecurityError:
        return False
    return True


REFUSED_HOST = "catalogue.refused_host"


class CatalogueFlask(Flask):
    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Flask's TRUSTED_HOSTS check, then an adapter bound to SITE_BASE_URL's scheme and
        host instead of the request's: an external url_for never carries a Host or
        X-Forwarded-Proto. An untrusted Host stays refused (the routing exception Flask
        raises before any view), yet the 400 page can still build its links."""
        if request is None:
            return super().create_url_adapter(request)
        try:
            super().create_url_adapter(request)
        except SecurityError as refused:
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
