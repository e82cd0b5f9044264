"""/data/: the whole published catalogue as CSV (one file per table) and as one JSON file,
with the licence and the snapshot date (the last change to the catalogue)."""

from flask import abort, current_app, render_template

from app.api import data_bp
from app.caching.routes import OPEN_DATA, cached
from app.caching.store import response_cache
from app.services import catalogue, opendata

MIMETYPES = {"csv": "text/csv", "json": "application/json"}


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


@data_bp.get("/")
def index():
    response = current_app.make_response(
        render_template("api/data_index.html", meta=snapshot_meta(), tables=opendata.DOWNLOADS)
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
