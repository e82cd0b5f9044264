"""The audit log (admins only: the guard checks), filtered by who, what, which object and
when."""

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from app.admin import bp
from app.admin.fields import TOO_LONG
from app.forms import BaseForm
from app.labels import label
from app.params import admin_page_number
from app.services.audit import ACTIONS, AuditFilter, audit_page
from app.services.listings import KINDS


class AuditFilterForm(BaseForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    actor = StringField(
        _l("Who (e-mail)"), validators=[Optional(), Length(max=254, message=TOO_LONG)]
    )
    action = SelectField(_l("Action"), choices=[], default="")
    object_type = SelectField(_l("Kind"), choices=[], default="")
    object_id = IntegerField(
        _l("Listing number"),
        validators=[
            Optional(),
            NumberRange(
                min=1, max=2**31 - 1, message=_l("Enter a number between %(min)s and %(max)s.")
            ),
        ],
    )
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("Until"), validators=[Optional()])


def object_types() -> list[tuple[str, str, str]]:
    """The audit log's object types (a listing kind's key, or another area's) as (key, one,
    several), in the interface language: a row names one, the filter offers several."""
    return [
        ("user", _("Account"), _("Accounts")),
        *((k.key, str(k.label), str(k.plural)) for k in KINDS.values()),
        ("report", _("Counterfeit report"), _("Counterfeit reports")),
        ("expo", _("Expo event"), _("Expos")),
        ("booth", _("Booth"), _("Booths")),
        ("synonym", _("Synonym group"), _("Search synonyms")),
    ]


@bp.route("/audit/")
def audit():
    form = AuditFilterForm(request.args)
    form.action.choices = [("", _("Any"))] + [(a, label(a, "AuditAction")) for a in ACTIONS]
    types = object_types()
    form.object_type.choices = [("", _("Any"))] + [(key, many) for key, _one, many in types]
    filters = AuditFilter()
    if form.validate():
        filters = AuditFilter(
            actor=form.actor.data or "",
            action=form.action.data or "",
            object_type=form.object_type.data or "",
            object_id=form.object_id.data,
            since=form.since.data,
            until=form.until.data,
        )
    page = audit_page(filters, admin_page_number())
    return render_template(
        "admin/audit.html",
        form=form,
        page=page,
        object_types={key: one for key, one, _many in types},
        field_labels={k.key: {f.name: str(f.label) for f in k.fields} for k in KINDS.values()},
    )
