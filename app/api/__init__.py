"""Open data: the read-only JSON API (/api/v1, routes in app.api.views) and the full
downloads (/data, routes in app.api.data_views); app.register_blueprints imports both."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
data_bp = Blueprint("opendata", __name__, url_prefix="/data")
