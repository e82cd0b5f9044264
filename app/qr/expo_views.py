"""/expo/<slug>: booths in floor order; /list: a visitor's shareable shortlist."""

from flask import abort, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from app.db import db
from app.errors import BadInput
from app.qr import bp
from app.qr.forms import SaveListForm
from app.qr.images import qr_svg
from app.services import catalogue, codes, expos


@bp.get("/expo/<slug>")
def expo(slug: str):
    found = expos.event_by_slug(slug) or abort(404)
    page = expos.expo_page(found)
    # The save-list form carries a CSRF token bound to the visitor's session: not shareable.
    response = current_app.make_response(
        render_template(
            "qr/expo.html", page=page, form=SaveListForm(), today=catalogue.local_today()
        )
    )
    response.cache_control.private = True
    response.cache_control.max_age = 0
    return response


@bp.post("/list")
def create_list():
    form = SaveListForm()
    if not form.validate_on_submit():
        raise BadInput(_("The form could not be read. Please go back and try again."))
    ids = [i for i in form.product.data or [] if isinstance(i, int)]
    ids = ids[: expos.MAX_LIST_ITEMS]
    products = expos.in_visitor_order(ids, expos.published_products_by_id(ids))
    if not products:
        raise BadInput(_("Tick at least one product to save a list."))
    expo = expos.event_by_slug(form.expo.data) if form.expo.data else None
    saved = expos.create_saved_list(products, expo)
    db.session.commit()
    return redirect(url_for("qr.saved_list", code=saved.code), code=303)


@bp.get("/list/<typed_code:code>")
def saved_list(code: str):
    """A list's code as shared or typed (lower case, dashes, a trailing slash or full stop)
    is sent on to its canonical address; anything that is not a code is a 404."""
    normalized = codes.normalize(code[:48])
    if len(code) > 48 or codes.code_problem(normalized):
        abort(404)
    if code != normalized:
        return redirect(url_for("qr.saved_list", code=normalized), code=301)
    found = expos.saved_list(normalized) or abort(404)
    products = catalogue.published_only(found.products)
    share_url = current_app.config["SITE_BASE_URL"] + url_for("qr.saved_list", code=found.code)
    response = current_app.make_response(
        render_template(
            "qr/list.html",
            saved=found,
            products=products,
            booths=expos.booths_by_product(found.event),
            codes=codes.codes_for(products),
            share_url=share_url,
            share_qr=Markup(qr_svg(share_url, _("QR code of this list"))),
        )
    )
    response.cache_control.public = True
    response.cache_control.max_age = 300
    response.vary.update(("Accept-Language", "Cookie"))
    return response
