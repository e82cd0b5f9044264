"""Printable QR labels: choose published products, brands and enterprises (an editor: of
their counties) and get an A4 sheet to print (app.admin.printing)."""

from flask import g, make_response, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.admin import bp, printing
from app.admin.fields import MultiCheckbox
from app.admin.printing import LABEL_KINDS
from app.forms import BaseForm
from app.i18n import current_lang


class LabelSheetForm(BaseForm):
    """Which listings go on the sheet: ticked ones, or every listing of a kind shown."""

    products = MultiCheckbox(_l("Products"), coerce=int)
    brands = MultiCheckbox(_l("Brands"), coerce=int)
    enterprises = MultiCheckbox(_l("Enterprises"), coerce=int)
    everything = MultiCheckbox(
        _l("Every listing of a kind"),
        choices=[
            ("products", _l("All products listed here")),
            ("brands", _l("All brands listed here")),
            ("enterprises", _l("All enterprises listed here")),
        ],
    )

    def setup(self, printable: dict[str, list], title) -> None:
        for key in LABEL_KINDS:
            self[key].choices = [(obj.id, title(obj)) for obj in printable[key]]

    def chosen(self, printable: dict[str, list]) -> list:
        everything = set(self.everything.data or ())
        picked = []
        for key in LABEL_KINDS:
            wanted = set(self[key].data or ())
            picked += [o for o in printable[key] if key in everything or o.id in wanted]
        return picked


def _title(obj) -> str:
    return obj.text("name", current_lang())


def _label_form() -> tuple[LabelSheetForm, dict]:
    printable = printing.printable_listings(g.user, current_lang())
    form = LabelSheetForm()
    form.setup(printable, _title)
    return form, printable


@bp.route("/labels/")
def labels_chooser():
    form, _printable = _label_form()
    return render_template("admin/qr/labels.html", form=form)


@bp.route("/labels/sheet", methods=["POST"])
def labels_sheet():
    form, printable = _label_form()
    if form.validate_on_submit():
        chosen = form.chosen(printable)
        if chosen:
            sheet = printing.label_sheet_html(
                printing.labels_for(chosen), back_url=url_for("admin.labels_chooser")
            )
            return make_response(sheet)
        form.everything.errors = [_("Choose at least one listing, or a whole kind.")]
    return render_template("admin/qr/labels.html", form=form), 400
