"""Expo management (reviewers and admins: the guard checks): events, their booths with the
products and enterprises shown there, and each booth's printable poster."""

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, DateField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from app.admin import bp, printing
from app.admin.fields import REQUIRED, ActionForm, MultiCheckbox, limit, slug_format, text_field
from app.collation import by_name
from app.db import db
from app.errors import BadInput
from app.forms import BaseForm
from app.i18n import current_lang
from app.models import Booth, Enterprise, ExpoEvent, Product
from app.services import audit, catalogue, expos


class EventForm(BaseForm):
    slug = StringField(
        _l("Address (slug)"),
        validators=[
            DataRequired(message=REQUIRED),
            limit(ExpoEvent, "slug"),
            slug_format(),
        ],
    )
    name_zh = text_field(ExpoEvent, "name_zh", _l("Name (Chinese)"), required=True)
    name_en = text_field(ExpoEvent, "name_en", _l("Name (English)"))
    venue_zh = text_field(ExpoEvent, "venue_zh", _l("Venue (Chinese)"))
    venue_en = text_field(ExpoEvent, "venue_en", _l("Venue (English)"))
    starts_on = DateField(_l("First day"), validators=[InputRequired(message=REQUIRED)])
    ends_on = DateField(_l("Last day"), validators=[InputRequired(message=REQUIRED)])
    published = BooleanField(_l("Shown on the public site"), default=True)

    FIELDS = (
        "slug",
        "name_zh",
        "name_en",
        "venue_zh",
        "venue_en",
        "starts_on",
        "ends_on",
        "published",
    )

    def values(self) -> dict:
        data = {name: self[name].data for name in self.FIELDS}
        for name in ("slug", "name_zh", "name_en", "venue_zh", "venue_en"):
            data[name] = (data[name] or "").strip() or (None if name.endswith("_en") else "")
        return data


class BoothForm(BaseForm):
    number = text_field(Booth, "number", _l("Booth number"), required=True)
    hall_zh = text_field(Booth, "hall_zh", _l("Hall (Chinese)"))
    hall_en = text_field(Booth, "hall_en", _l("Hall (English)"))
    sort_order = IntegerField(
        _l("Position in the walking order"),
        default=0,
        validators=[
            Optional(),
            NumberRange(min=0, max=9999, message=_l("Enter a number between %(min)s and %(max)s.")),
        ],
    )
    product_ids = MultiCheckbox(_l("Products shown"), coerce=int)
    enterprise_ids = MultiCheckbox(_l("Enterprises at the booth"), coerce=int)

    def values(self) -> dict:
        return {
            "number": self.number.data.strip(),
            "hall_zh": (self.hall_zh.data or "").strip(),
            "hall_en": (self.hall_en.data or "").strip() or None,
            "sort_order": self.sort_order.data or 0,
        }


def _event_or_404(event_id: int) -> ExpoEvent:
    return db.session.get(ExpoEvent, event_id) or abort(404)


def _booth_or_404(expo: ExpoEvent, booth_id: int) -> Booth:
    booth = db.session.get(Booth, booth_id)
    if booth is None or booth.event_id != expo.id:
        abort(404)
    return booth


def _show_error(form, error: expos.ExpoInvalid) -> None:
    if error.field in form._fields:
        form[error.field].errors = list(form[error.field].errors) + [str(error)]
    else:
        flash(str(error), "error")


@bp.route("/expos/")
def expos_list():
    return render_template(
        "admin/qr/expos.html", events=expos.all_events(), today=catalogue.local_today()
    )


def _audit(action: str, object_type: str, object_id: int, summary: str) -> None:
    """Audit an action of the signed-in user, from this request's address."""
    audit.record(
        action,
        g.user,
        object_type=object_type,
        object_id=object_id,
        summary=summary,
        ip=request.remote_addr or "",
    )


def _save_event(expo: ExpoEvent | None):
    """The event form: create (expo None) or change, audit, and back to the event's page."""
    form = EventForm(obj=expo)
    if form.validate_on_submit():
        try:
            saved = expos.save_event(expo, form.values())
        except expos.ExpoInvalid as error:
            db.session.rollback()
            if expo is not None:
                expo = _event_or_404(expo.id)
            _show_error(form, error)
        else:
            _audit(
                "expo_create" if expo is None else "expo_update", "expo", saved.id, saved.name_zh
            )
            db.session.commit()
            if expo is None:
                flash(_("Event created. Now add its booths."), "info")
            else:
                flash(_("Saved."), "info")
            return redirect(url_for("admin.expo_edit", event_id=saved.id))
    return render_template(
        "admin/qr/expo_edit.html", form=form, expo=expo, action_form=ActionForm()
    ), (400 if form.errors else 200)


@bp.route("/expos/new", methods=["GET", "POST"])
def expo_new():
    return _save_event(None)


@bp.route("/expos/<int:event_id>/edit", methods=["GET", "POST"])
def expo_edit(event_id: int):
    return _save_event(_event_or_404(event_id))


@bp.route("/expos/<int:event_id>/delete", methods=["POST"])
def expo_delete(event_id: int):
    expo = _event_or_404(event_id)
    try:
        name, expo_id = expo.name_zh, expo.id
        expos.delete_event(expo)
    except expos.ExpoInvalid as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("admin.expo_edit", event_id=event_id))
    _audit("expo_delete", "expo", expo_id, name)
    db.session.commit()
    flash(_("Event deleted."), "info")
    return redirect(url_for("admin.expos_list"))


def _booth_form(booth: Booth | None) -> BoothForm:
    data = None
    if booth is not None and request.method == "GET":
        data = {
            "product_ids": [p.id for p in booth.products],
            "enterprise_ids": [e.id for e in booth.enterprises],
        }
    form = BoothForm(obj=booth, data=data)
    lang = current_lang()
    products = by_name(db.session.scalars(select(Product).order_by(Product.id)), lang)
    enterprises = by_name(db.session.scalars(select(Enterprise).order_by(Enterprise.id)), lang)
    form.product_ids.choices = [(p.id, p.text("name", lang)) for p in products]
    form.enterprise_ids.choices = [(e.id, e.text("name", lang)) for e in enterprises]
    return form


def _chosen(model, ids: list[int]) -> list:
    return list(db.session.scalars(select(model).where(model.id.in_(ids)))) if ids else []


def _save_booth(expo: ExpoEvent, booth: Booth | None):
    form = _booth_form(booth)
    if form.validate_on_submit():
        try:
            saved = expos.save_booth(
                expo,
                booth,
                form.values(),
                _chosen(Product, form.product_ids.data or []),
                _chosen(Enterprise, form.enterprise_ids.data or []),
            )
        except expos.ExpoInvalid as error:
            db.session.rollback()
            expo = _event_or_404(expo.id)
            _show_error(form, error)
        else:
            _audit(
                "booth_create" if booth is None else "booth_update",
                "booth",
                saved.id,
                f"{expo.name_zh} {saved.number}",
            )
            db.session.commit()
            flash(_("Booth saved."), "info")
            return redirect(url_for("admin.expo_edit", event_id=expo.id))
    return render_template(
        "admin/qr/booth_edit.html", form=form, expo=expo, booth=booth, action_form=ActionForm()
    ), (400 if form.errors else 200)


@bp.route("/expos/<int:event_id>/booths/new", methods=["GET", "POST"])
def expo_booth_new(event_id: int):
    return _save_booth(_event_or_404(event_id), None)


@bp.route("/expos/<int:event_id>/booths/<int:booth_id>/edit", methods=["GET", "POST"])
def expo_booth_edit(event_id: int, booth_id: int):
    expo = _event_or_404(event_id)
    return _save_booth(expo, _booth_or_404(expo, booth_id))


@bp.route("/expos/<int:event_id>/booths/<int:booth_id>/delete", methods=["POST"])
def expo_booth_delete(event_id: int, booth_id: int):
    expo = _event_or_404(event_id)
    booth = _booth_or_404(expo, booth_id)
    summary = f"{expo.name_zh} {booth.number}"
    expos.delete_booth(booth)
    _audit("booth_delete", "booth", booth_id, summary)
    db.session.commit()
    flash(_("Booth removed."), "info")
    return redirect(url_for("admin.expo_edit", event_id=expo.id))


@bp.route("/expos/<int:event_id>/booths/<int:booth_id>/poster")
def expo_booth_poster(event_id: int, booth_id: int):
    expo = _event_or_404(event_id)
    booth = _booth_or_404(expo, booth_id)
    size = request.args.get("size", "A4").upper()
    if size not in ("A4", "A3"):
        raise BadInput(_("Posters are printed on A4 or A3 paper."))
    return make_response(
        printing.booth_poster_html(
            booth, size, back_url=url_for("admin.expo_edit", event_id=expo.id)
        )
    )
