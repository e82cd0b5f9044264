"""The back office at /admin/: guarded once here; object-level checks live in
app.services.access, which every listing service calls."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from app.admin import guard, qr_views, views  # noqa: E402,F401  (routes register on import)
from app.admin import photos, bulk  # noqa: E402,F401  (after views: they reuse its pages)
from app.admin import synonyms  # noqa: E402,F401
