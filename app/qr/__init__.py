"""Blueprint for what printed codes lead to: /q/<code> passports and QR images, expos and
saved lists, /verify and /report. Routes live in app.qr.views, expo_views and trust_views;
app.register_blueprints imports them."""

from flask import Blueprint

bp = Blueprint("qr", __name__)


@bp.app_template_global()
def short_code(obj) -> str | None:
    """The listing's permanent short code, for "share / QR code" links."""
    from app.services.codes import code_for

    return code_for(obj)


@bp.app_template_global()
def reported_product(obj):
    """The product a "Report a fake" link on this listing's page preselects, or None."""
    from app.services.reports import product_reported_from

    return product_reported_from(obj)
