"""The scan dashboard: scans per day for each expo event and the most scanned codes, as
charts and as a CSV download. Editors see only the codes of their counties."""

from datetime import timedelta

from flask import g, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField
from wtforms.validators import Optional, ValidationError

from app.admin import bp
from app.admin.charts import bar_chart, line_chart
from app.forms import BaseForm
from app.i18n import current_lang
from app.models import Booth
from app.services import catalogue, expos, scans

MAX_SCAN_DAYS = 366


class ScanFilterForm(BaseForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("Until"), validators=[Optional()])
    event = SelectField(_l("Expo event"), choices=[], default="")

    def validate_end(self, field) -> None:
        if field.data and self.start.data:
            if field.data < self.start.data:
                raise ValidationError(_l("The end date is before the start date."))
            if (field.data - self.start.data).days >= MAX_SCAN_DAYS:
                raise ValidationError(_l("Choose at most %(days)s days.", days=MAX_SCAN_DAYS))


def _scan_filters():
    """(form, start, end, event_id, valid) from the query string; 30 days up to today by
    default. Editors see only the codes of their counties."""
    form = ScanFilterForm(request.args)
    events = expos.all_events()
    form.event.choices = [("", _("All events and none")), ("0", _("Outside any event"))] + [
        (str(e.id), e.text("name", current_lang())) for e in events
    ]
    valid = form.validate()
    end = (form.end.data if valid else None) or catalogue.local_today()
    start = (form.start.data if valid else None) or end - timedelta(days=29)
    if start > end:  # only an end date, earlier than the default start
        start = end - timedelta(days=29)
    if valid and (end - start).days >= MAX_SCAN_DAYS:  # only a start date, long ago
        form.start.errors = [_("Choose at most %(days)s days.", days=MAX_SCAN_DAYS)]
        valid = False
    event_id = int(form.event.data) if valid and form.event.data else None
    if valid:  # show the window actually used
        form.start.data, form.end.data = start, end
    return form, events, start, end, event_id, valid


def _scan_scope():
    return None if g.user.can_review else scans.codes_in_counties(g.user.county_ids)


def _code_label(code: str, target) -> str:
    if target is None:
        return code
    if isinstance(target, Booth):
        return _("Booth %(number)s", number=target.number) + f" · {code}"
    if hasattr(target, "name_zh"):
        name = target.text("name", current_lang())
        return f"{name} · {code}"
    return f"{target.number} · {code}"  # an authorization


def _daily_series(rows, days, events) -> dict[str, list[int]]:
    """Scans per day, one series per expo event (0: outside any), every day present."""
    names = {e.id: e.text("name", current_lang()) for e in events}
    names[0] = _("Outside any event")
    index = {day: n for n, day in enumerate(days)}
    per_event: dict[int, list[int]] = {}
    for row in rows:
        per_event.setdefault(row.event_id, [0] * len(days))[index[row.day]] += row.scans
    series = {names.get(eid, f"#{eid}"): values for eid, values in sorted(per_event.items())}
    return series or {_("Scans"): [0] * len(days)}


@bp.route("/scans/")
def scans_dashboard():
    form, events, start, end, event_id, valid = _scan_filters()
    if not valid:
        return render_template("admin/qr/scans.html", form=form, daily=None, top=None), 400
    scope = _scan_scope()
    rows = scans.scans_per_day(start, end, event_id, codes=scope)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    daily = line_chart([d.isoformat() for d in days], _daily_series(rows, days, events))
    top = scans.top_codes(20, start, end, event_id, codes=scope)
    targets = scans.code_targets(top)
    top_chart = bar_chart([(_code_label(c.code, targets.get(c.code)), c.scans) for c in top])
    return render_template(
        "admin/qr/scans.html",
        form=form,
        daily=daily,
        top=top_chart,
        start=start,
        end=end,
        total=sum(r.scans for r in rows),
        other=sum(r.other for r in rows),
    )


@bp.route("/scans.csv")
def scans_export():
    form, _events, start, end, event_id, valid = _scan_filters()
    if not valid:
        return render_template("admin/qr/scans.html", form=form, daily=None, top=None), 400
    body = scans.scans_csv(start, end, event_id, codes=_scan_scope())
    response = make_response(body)
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="scans-{start.isoformat()}-{end.isoformat()}.csv"'
    )
    return response
