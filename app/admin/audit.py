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


def object_type_labels() -> dict[str, str]:
    """The audit log's object types (a listing kind's key, or another area's) as the page
    shows them, in the interface language."""
    return {
        "user": _("Account"),
        **{k.key: str(k.plural) for k in KINDS.values()},
        "report": _("Counterfeit reports"),
        "expo": _("Expos"),
        "booth": _("Booths"),
        "synonym": _("Search synonyms"),
    }


@bp.route("/audit/")
def audit():
    form = AuditFilterForm(request.args)
    form.action.choices = [("", _("Any"))] + [(a, label(a, "AuditAction")) for a in ACTIONS]
    object_types = object_type_labels()
    form.object_type.choices = [("", _("Any")), *object_types.items()]
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
    return render_template("admin/audit.html", form=form, page=page, object_types=object_types)
