"""/data/: the whole published catalogue as CSV (one file per table) and as one JSON file,
with the licence and the snapshot date (the last change to the catalogue)."""
from flask import abort, current_app, render_template

from app.api import data_bp
from app.conditional import conditional
from app.services import catalogue, opendata
from app.services.page_cache import page_cache

MIMETYPES = {"csv": "text/csv", "json": "application/json"}


def snapshot_meta() -> dict:
    generation, changed_at = page_cache.generation()
    return {
        "snapshot_date": changed_at.date().isoformat(),
        "generation": generation,
        "licence": current_app.config["OPEN_DATA_LICENCE"],
        "licence_url": current_app.config["OPEN_DATA_LICENCE_URL"],
        "source": current_app.config["SITE_BASE_URL"],
        "note": "Rows with is_demo = true are fictitious demonstration data.",
    }


@data_bp.get("/")
def index():
    response = current_app.make_response(render_template(
        "api/data_index.html", meta=snapshot_meta(), tables=opendata.DOWNLOADS))
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["PUBLIC_MAX_AGE"]
    response.vary.update(("Accept-Language", "Cookie"))
    return response


@data_bp.get("/<name>.<fmt>")
def download(name: str, fmt: str):
    if fmt not in MIMETYPES or (name != "catalogue" and name not in opendata.DOWNLOADS):
        abort(404)
    if (name == "catalogue") != (fmt == "json"):
        abort(404)  # one JSON file with everything; one CSV per table
    meta = snapshot_meta()
    key = ("data", name, fmt, meta["generation"], catalogue.local_today())
    body = page_cache.get(key)
    if body is None:
        today = catalogue.local_today()
        body = (opendata.catalogue_json(meta, today) if fmt == "json"
                else opendata.table_csv(name, today))
        page_cache.put(key, body)
    response = current_app.response_class(body, mimetype=MIMETYPES[fmt])
    filename = f"hainan-gi-{name}-{meta['snapshot_date']}.{fmt}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Snapshot-Date"] = meta["snapshot_date"]
    response.headers["X-Licence"] = meta["licence"]
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["PUBLIC_MAX_AGE"]
    return conditional(response)
