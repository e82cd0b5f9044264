"""Blueprint for what printed codes lead to: /q/<code> passports and QR images, expos and
saved lists, /verify and /report."""
from flask import Blueprint

bp = Blueprint("qr", __name__)

from app.qr import views  # noqa: E402,F401  (routes register on bp)


@bp.app_template_global()
def short_code(obj) -> str | None:
    """The listing's permanent short code, for "share / QR code" links."""
    from app.services.codes import code_for

    return code_for(obj)
