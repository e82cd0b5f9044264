"""Open data: the read-only JSON API (/api/v1, routes in app.api.views), the full
downloads (/data, routes in app.api.data_views) and the feeds readers subscribe to (/feeds,
routes in app.api.feed_views); app.register_blueprints imports all three."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
data_bp = Blueprint("opendata", __name__, url_prefix="/data")
feeds_bp = Blueprint("feeds", __name__, url_prefix="/feeds")
