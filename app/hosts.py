"""Requests for hosts outside TRUSTED_HOSTS are refused with 400 (Flask's check), by Flask
and by the WSGI fast paths alike, and nothing is ever built from the Host header: absolute
URLs come from SITE_BASE_URL."""
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.exceptions import SecurityError
from werkzeug.routing import MapAdapter
from werkzeug.wrappers import Request
from werkzeug.wsgi import get_host


def host_trusted(environ, trusted_hosts: list[str] | None) -> bool:
    """The check Flask makes (TRUSTED_HOSTS; None = any) before a fast path answers."""
    try:
        get_host(environ, trusted_hosts)
    except SecurityError:
        return False
    return True


class CatalogueFlask(Flask):
    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Flask refuses an untrusted Host here, leaving no URL adapter, so the 400 page
        could not build a single link. Keep the refusal (as the routing exception Flask
        raises before any view) but bind the adapter to our own SITE_BASE_URL host."""
        try:
            return super().create_url_adapter(request)
        except SecurityError as refused:
            if request is None:
                raise
            request.routing_exception = refused
            site = urlsplit(self.config["SITE_BASE_URL"])
            return self.url_map.bind(
                site.netloc,
                script_name=request.script_root or "/",
                url_scheme=site.scheme,
                default_method=request.method,
                path_info=request.path,
                query_args=request.query_string,
            )
