"""/data/: the whole published catalogue as CSV (one file per table) and as one JSON file,
with the licence and the snapshot date (the last change to the catalogue)."""

import json

from flask import abort, current_app, render_template
from flask_babel import gettext as _

from app.api import data_bp
from app.caching.routes import OPEN_DATA, cached
from app.caching.store import response_cache
from app.i18n import absolute_url
from app.services import catalogue, county_outline, opendata
from app.templating import site_name

MIMETYPES = {"csv": "text/csv", "json": "application/json"}
GEOJSON = "application/geo+json"


def snapshot_meta() -> dict:
    generation, changed_at = response_cache.generation()
    return {
        "snapshot_date": changed_at.date().isoformat(),
        "generation": generation,
        "licence": current_app.config["OPEN_DATA_LICENCE"],
        "licence_url": current_app.config["OPEN_DATA_LICENCE_URL"],
        "source": current_app.config["SITE_BASE_URL"],
        "note": "Rows with is_demo = true are fictitious demonstration data.",
    }


def _distributions() -> list[opendata.Distribution]:
    files = [("catalogue", "json")] + [(name, "csv") for name in opendata.DOWNLOADS]
    return [
        opendata.Distribution(
            f"{name}.{fmt}",
            absolute_url("opendata.download", name=name, fmt=fmt),
            MIMETYPES[fmt],
        )
        for name, fmt in files
    ] + [
        opendata.Distribution(
            f"{county.slug}.geojson",
            absolute_url("opendata.county_geojson", slug=county.slug),
            GEOJSON,
        )
        for county in catalogue.all_counties()
    ]


@data_bp.get("/")
def index():
    meta = snapshot_meta()
    years = catalogue.register_years()
    dataset = opendata.dataset_jsonld(
        meta,
        name=_("%(site)s: open data", site=site_name()),
        description=_(
            "The published geographical indication catalogue of Hainan: counties, "
            "categories, products, GI signs, brands, enterprises and authorizations."
        ),
        url=absolute_url("opendata.index"),
        publisher=site_name(),
        distributions=_distributions(),
        first_year=min(years) if years else None,
    )
    response = current_app.make_response(
        render_template(
            "api/data_index.html",
            meta=meta,
            tables=opendata.DOWNLOADS,
            dataset=dataset,
            counties=catalogue.all_counties(),
        )
    )
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["PUBLIC_MAX_AGE"]
    response.vary.update(("Accept-Language", "Cookie"))
    return response


@data_bp.get("/<name>.<fmt>")
@cached(OPEN_DATA)
def download(name: str, fmt: str):
    if fmt not in MIMETYPES or (name != "catalogue" and name not in opendata.DOWNLOADS):
        abort(404)
    if (name == "catalogue") != (fmt == "json"):
        abort(404)  # one JSON file with everything; one CSV per table
    meta = snapshot_meta()
    today = catalogue.local_today()
    body = (
        opendata.catalogue_json(meta, today) if fmt == "json" else opendata.table_csv(name, today)
    )
    response = current_app.response_class(body, mimetype=MIMETYPES[fmt])
    filename = f"hainan-gi-{name}-{meta['snapshot_date']}.{fmt}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Snapshot-Date"] = meta["snapshot_date"]
    response.headers["X-Licence"] = meta["licence"]
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@data_bp.get("/counties/<slug>.geojson")
@cached(OPEN_DATA)
def county_geojson(slug: str):
    """The county's schematic outline and its published products (RFC 7946)."""
    county = catalogue.county_by_slug(slug) or abort(404)
    # Open data does not vary by language: products in the pinyin order of their names.
    products = catalogue.county_products(county, "zh")
    urls = {p.slug: absolute_url("public.product", slug=p.slug) for p in products}
    reference = county_outline.map_reference(current_app.config["SEED_DIR"])
    document = county_outline.county_feature_collection(county, products, urls, reference)
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    response = current_app.response_class(body, mimetype=GEOJSON)
    response.headers["Content-Disposition"] = f'attachment; filename="hainan-gi-{slug}.geojson"'
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
