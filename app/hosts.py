"""Requests for hosts outside TRUSTED_HOSTS are refused with 400 (Flask's check), by Flask
and by the WSGI fast paths alike, and nothing is ever built from the Host header: absolute
URLs come from SITE_BASE_URL."""
from urllib.parse import urlsplit

from flask import Flask, request
from werkzeug.exceptions import SecurityError
from werkzeug.routing import MapAdapter
from werkzeug.wrappers import Request as BaseRequest
from werkzeug.wsgi import get_host


def host_trusted(environ, trusted_hosts: list[str] | None) -> bool:
    """The check Flask makes (TRUSTED_HOSTS; None = any) before a fast path answers."""
    try:
        get_host(environ, trusted_hosts)
    except SecurityError:
        return False
    return True


REFUSED_HOST = "catalogue.refused_host"


class CatalogueFlask(Flask):
    def create_url_adapter(self, request: BaseRequest | None) -> MapAdapter | None:
        """Flask's TRUSTED_HOSTS check, then an adapter bound to SITE_BASE_URL's scheme and
        host instead of the request's: the redirects routing makes (a missing trailing
        slash) and any external url_for then never carry a Host or X-Forwarded-Proto.
        An untrusted Host stays refused (the routing exception Flask raises before any
        view), yet the 400 page can still build its links."""
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


def refuse_untrusted_host() -> None:
    """An untrusted Host is a 400 whatever routing found (404, slash redirect) and before
    any hook could answer first (the back office's login redirect)."""
    refused = request.environ.get(REFUSED_HOST)
    if refused is not None:
        raise refused


def init_app(app: Flask) -> None:
    app.before_request(refuse_untrusted_host)
