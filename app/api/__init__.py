"""Open data: the read-only JSON API (/api/v1) and the full downloads (/data)."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
data_bp = Blueprint("opendata", __name__, url_prefix="/data")

from app.api import data_views, views  # noqa: E402,F401  (routes register on the blueprints)
