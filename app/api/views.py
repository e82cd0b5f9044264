"""Read-only JSON API. Every answer is JSON, errors included ({"error": {...}}, see
app/errors); responses carry a strong ETag and answer If-None-Match with 304. Answers
depend only on the URL and the catalogue generation: they are cached (app/caching)."""

import hashlib
import json
from typing import NoReturn

from flask import current_app, request, url_for
from werkzeug.exceptions import BadRequest, NotFound

from app.api import bp
from app.api.openapi import openapi_document
from app.caching.routes import OPEN_DATA, cached
from app.conditional import conditional
from app.params import ascii_int
from app.services import catalogue, opendata

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 50
FILTERS = {
    "counties": (),
    "categories": (),
    "signs": ("regime", "county", "year", "status"),
    "products": ("county", "category", "regime"),
    "brands": ("kind", "product"),
    "enterprises": ("county",),
    "authorizations": ("enterprise", "product", "status"),
}
# Filters that name another listing by slug (the rest are enumerations or numbers).
REFERENCE_FILTERS = frozenset({"county", "category", "product", "enterprise"})


def _bad(message: str) -> NoReturn:
    raise BadRequest(description=message)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    value = ascii_int(raw, low, high)
    if value is None:
        _bad(f"'{name}' must be an integer from {low} to {high}.")
    return value


def _filters(resource: str) -> dict:
    args: dict[str, str | int] = {}
    for name in FILTERS[resource]:
        value = request.args.get(name)
        if value is None:
            continue
        if value == "":
            _bad(f"'{name}' must not be empty; leave it out to not filter.")
        if name == "year":
            if len(value) != 4 or ascii_int(value, 0, 9999) is None:
                _bad("'year' must be a four-digit year.")
            args[name] = int(value)
        else:
            args[name] = value
    return args


def json_body(payload: dict):
    """A 200 JSON answer open to every origin (validators and caching: the caller's)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def json_response(payload: dict):
    """An uncached JSON answer with a strong ETag, answering If-None-Match with 304."""
    response = json_body(payload)
    response.set_etag(hashlib.blake2b(response.get_data(), digest_size=12).hexdigest())
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["PUBLIC_MAX_AGE"]
    return conditional(response)


def _list(resource: str):
    page = _int_arg("page", 1, 1, 100_000)
    per_page = _int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    filters = _filters(resource)
    try:
        result = opendata.list_resource(resource, filters, page, per_page, catalogue.local_today())
    except opendata.UnknownFilterValue as unknown:
        if unknown.name in REFERENCE_FILTERS:
            # A well-formed slug naming nothing: no resource at this URI (RFC 9110
            # §15.5.5; the query is part of the target), not a malformed request.
            raise NotFound(
                description=f"No {unknown.name} '{filters[unknown.name]}' in the catalogue."
            ) from None
        _bad(f"Unknown value for filter '{unknown.name}'.")
    pages = max(1, -(-result.total // per_page))
    links = {"self": _page_url(resource, page, per_page, filters)}
    if page < pages:
        links["next"] = _page_url(resource, page + 1, per_page, filters)
    if page > 1:
        links["prev"] = _page_url(resource, min(page - 1, pages), per_page, filters)
    return json_body(
        {
            "data": result.items,
            "meta": {"page": page, "per_page": per_page, "total": result.total, "pages": pages},
            "links": links,
        }
    )


def _page_url(resource: str, page: int, per_page: int, filters: dict) -> str:
    return url_for("api.collection", resource=resource, page=page, per_page=per_page, **filters)


def _detail(resource: str, key):
    found = opendata.get_resource(resource, key, catalogue.local_today())
    if found is None:
        raise NotFound(description=f"No published {resource[:-1]} with that key.")
    return json_body({"data": found})


@bp.get("/")
def index():
    return json_response(
        {
            "openapi": url_for("api.openapi"),
            "resources": {name: url_for("api.collection", resource=name) for name in FILTERS},
            "licence": current_app.config["OPEN_DATA_LICENCE"],
        }
    )


@bp.get("/openapi.json")
def openapi():
    return json_response(openapi_document(current_app.config["SITE_BASE_URL"]))


@bp.get(
    "/<any(counties, categories, signs, products, brands, enterprises, authorizations):resource>"
)
@cached(OPEN_DATA)
def collection(resource: str):
    return _list(resource)


@bp.get("/<any(counties, categories, products, brands, enterprises):resource>/<slug>")
@cached(OPEN_DATA)
def by_slug(resource: str, slug: str):
    if len(slug) > 96:
        raise NotFound(description="No such listing.")
    return _detail(resource, slug)


@bp.get("/<any(signs, authorizations):resource>/<int:item_id>")
@cached(OPEN_DATA)
def by_id(resource: str, item_id: int):
    if item_id > 2**31 - 1:
        raise NotFound(description="No such listing.")
    return _detail(resource, item_id)
