"""/verify (is this enterprise authorised?) and /report (suspected counterfeit)."""

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.collation import by_name
from app.db import db
from app.extensions import limiter
from app.i18n import current_lang
from app.models import Product
from app.qr import bp
from app.qr.forms import ReportForm
from app.request_limits import FORM_OVERHEAD, accepts_upload
from app.services import catalogue, reports
from app.services import verify as verification


@bp.get("/verify")
def verify():
    raw = request.args.get("code")
    verdict = verification.verify(raw, catalogue.local_today()) if raw is not None else None
    if verdict is not None and verdict.short_code is not None:
        # A relative Location on this site, as /q/ itself redirects (never from Host).
        return redirect(url_for("qr.landing", token=verdict.short_code))
    response = current_app.make_response(
        render_template("qr/verify.html", verdict=verdict, today=catalogue.local_today())
    )
    response.cache_control.public = True
    response.cache_control.max_age = 60
    response.vary.update(("Accept-Language", "Cookie"))
    return response


def _report_limit() -> str:
    return current_app.config["REPORT_RATE_LIMIT"]


PHOTO_MESSAGES = {
    reports.PhotoRejected.TOO_LARGE: lambda: _(
        "The photo is larger than 8 MB. Please send a smaller photo."
    ),
    reports.PhotoRejected.NOT_AN_IMAGE: lambda: _("The file is not a JPEG, PNG or WebP photo."),
    reports.PhotoRejected.TOO_MANY_PIXELS: lambda: _(
        "The photo has too many pixels. Please send a smaller photo."
    ),
}


def _preselect_product(form: ReportForm, products: dict[str, Product], slug: str | None) -> None:
    """/report?product=<slug> (the links on product, brand and enterprise pages and on
    passports) opens the form with that product chosen. An unknown or unpublished slug is
    ignored, never an error: the reporter still gets the empty form."""
    if not slug:
        return
    for key, product in products.items():
        if product.slug == slug:
            form.product.data = key
            return


def _home_county_attrs(product: Product, lang: str) -> dict[str, str]:
    """The option's home county, for static/js/report.js to show beside the choice."""
    home = reports.home_county_of(product)
    return {"data-home-county": home.text("name", lang)} if home else {}


@bp.route("/report", methods=["GET", "POST"])
@limiter.limit(_report_limit, methods=["POST"])
@accepts_upload(reports.MAX_PHOTO_BYTES + FORM_OVERHEAD)
def report():
    form = ReportForm()
    lang = current_lang()
    products = {str(p.id): p for p in by_name(reports.reportable_products(), lang)}
    counties = {str(c.id): c for c in by_name(catalogue.all_counties(), lang)}
    form.product.choices = [("", _("Not sure / not listed"))] + [
        (key, p.text("name", lang), _home_county_attrs(p, lang)) for key, p in products.items()
    ]
    form.county.choices = [("", _("Not sure"))] + [
        (key, c.text("name", lang)) for key, c in counties.items()
    ]
    if request.method == "GET":
        _preselect_product(form, products, request.args.get("product"))
    if form.validate_on_submit():
        photo_name = None
        upload = form.photo.data
        if upload:
            try:
                photo_name = reports.store_photo(
                    current_app.config["INSTANCE_DIR"] / "reports",
                    upload.read(reports.MAX_PHOTO_BYTES + 1),
                )
            except reports.PhotoRejected as rejected:
                form.photo.errors.append(PHOTO_MESSAGES[rejected.reason]())
        if not form.photo.errors:
            reports.submit_report(
                where_bought=form.where_bought.data,
                description=form.description.data,
                product=products.get(form.product.data or ""),
                county=counties.get(form.county.data or ""),
                photo_name=photo_name,
            )
            db.session.commit()
            return redirect(url_for("qr.report_thanks"), code=303)
    status = 400 if request.method == "POST" else 200
    chosen = products.get(form.product.data or "")
    page = render_template("qr/report.html", form=form, home_county=reports.home_county_of(chosen))
    response = current_app.make_response((page, status))
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


@bp.get("/report/thanks")
def report_thanks():
    return render_template("qr/report_thanks.html")
