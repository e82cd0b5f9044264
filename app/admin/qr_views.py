"""Back-office screens for issue 5: printable QR labels and booth posters, the scan
dashboard, the counterfeit-report queue and expo management. The blueprint's guard has
already checked the login (and reviewer rights for /admin/expos/); county scoping uses the
same access rules as the listings."""

import re
from datetime import timedelta

from flask import (
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from app.admin import bp
from app.admin.charts import bar_chart, line_chart
from app.admin.forms import ActionForm
from app.admin.qr_forms import (
    MAX_SCAN_DAYS,
    REPORT_STATUS_LABELS,
    BoothForm,
    EventForm,
    LabelSheetForm,
    ReportStatusForm,
    ScanFilterForm,
)
from app.db import db
from app.errors import BadInput
from app.i18n import current_lang
from app.models import Booth, Enterprise, ExpoEvent, Product, ReportStatus
from app.services import audit, catalogue, expos, labels, reports, scans
from app.services.reports import ALLOWED_TRANSITIONS, NotYourCounty

# --- printable labels and posters --------------------------------------------------------------


def _title(obj) -> str:
    return obj.text("name", current_lang())


def _label_form() -> tuple[LabelSheetForm, dict]:
    printable = labels.printable_listings(g.user)
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
            sheet = labels.label_sheet_html(
                labels.labels_for(chosen), back_url=url_for("admin.labels_chooser")
            )
            return make_response(sheet)
        form.everything.errors = [_("Choose at least one listing, or a whole kind.")]
    return render_template("admin/qr/labels.html", form=form), 400


# --- scan dashboard ----------------------------------------------------------------------------


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
        return f"{_title(target)} · {code}"
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
        "admin/qr/scans.html", form=form, daily=daily, top=top_chart, start=start, end=end,
        total=sum(r.scans for r in rows), other=sum(r.other for r in rows),
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


# --- counterfeit reports -------------------------------------------------------------------------

REPORTS_PER_PAGE = 50
PHOTO_NAME = re.compile(r"^[0-9a-f]{40}\.jpg$")


def _report_scope() -> set[int] | None:
    return None if g.user.can_review else g.user.county_ids


def _report_or_404(report_id: int):
    try:
        report = reports.report_for_official(report_id, _report_scope())
    except NotYourCounty:
        report = None  # another county's report does not exist for this official
    if report is None:
        abort(404)
    return report


@bp.route("/reports/")
def reports_queue():
    status = request.args.get("status", ReportStatus.NEW.value)
    if status not in {s.value for s in ReportStatus}:
        status = ReportStatus.NEW.value
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    queue = reports.report_queue(
        _report_scope(), ReportStatus(status), REPORTS_PER_PAGE + 1,
        (page - 1) * REPORTS_PER_PAGE,
    )
    return render_template(
        "admin/qr/reports.html", queue=queue, items=queue.items[:REPORTS_PER_PAGE],
        status=status, labels=REPORT_STATUS_LABELS, page=page,
        has_next=len(queue.items) > REPORTS_PER_PAGE,
    )


@bp.route("/reports/<int:report_id>", methods=["GET", "POST"])
def report_detail(report_id: int):
    report = _report_or_404(report_id)
    form = ReportStatusForm(data={"status": report.report_status.value,
                                  "note": report.official_note or ""}
                            if request.method == "GET" else None)
    current = report.report_status
    form.status.choices = [(s.value, str(REPORT_STATUS_LABELS[s]))
                           for s in ReportStatus if s == current or s in ALLOWED_TRANSITIONS[current]]
    if form.validate_on_submit():
        before = (current.value, report.official_note)
        reports.update_report(report, _report_scope(), ReportStatus(form.status.data),
                              form.note.data, g.user.id)
        audit.record(
            "report_status", g.user, object_type="report", object_id=report.id,
            summary=f"{before[0]} -> {report.report_status.value}",
            details={"report_status": [before[0], report.report_status.value],
                     "official_note": [before[1], report.official_note]},
            ip=request.remote_addr or "",
        )
        db.session.commit()
        flash(_("The report was updated."), "info")
        return redirect(url_for("admin.report_detail", report_id=report.id))
    status = 400 if form.errors else 200
    return render_template("admin/qr/report.html", report=report, form=form,
                           labels=REPORT_STATUS_LABELS), status


@bp.route("/reports/<int:report_id>/photo")
def report_photo(report_id: int):
    """Only through this view, for officials of the report's county; never cached."""
    report = _report_or_404(report_id)
    if not report.photo_name or not PHOTO_NAME.match(report.photo_name):
        abort(404)
    path = reports.photo_path(current_app.config["INSTANCE_DIR"] / "reports", report)
    if not path.is_file():
        abort(404)
    # Re-encoded JPEGs of at most 2000 px: small enough to send from memory.
    response = current_app.response_class(path.read_bytes(), mimetype="image/jpeg")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    return response


# --- expos (reviewers and admins: the guard checks) ----------------------------------------------


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
    return render_template("admin/qr/expos.html", events=expos.all_events(),
                           today=catalogue.local_today())


@bp.route("/expos/new", methods=["GET", "POST"])
def expo_new():
    form = EventForm()
    if form.validate_on_submit():
        try:
            expo = expos.save_event(None, form.values())
        except expos.ExpoInvalid as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            audit.record("expo_create", g.user, object_type="expo", object_id=expo.id,
                         summary=expo.name_zh, ip=request.remote_addr or "")
            db.session.commit()
            flash(_("Event created. Now add its booths."), "info")
            return redirect(url_for("admin.expo_edit", event_id=expo.id))
    return render_template("admin/qr/expo_edit.html", form=form, expo=None), (
        400 if form.errors else 200
    )


@bp.route("/expos/<int:event_id>/edit", methods=["GET", "POST"])
def expo_edit(event_id: int):
    expo = _event_or_404(event_id)
    form = EventForm(obj=expo)
    if form.validate_on_submit():
        try:
            expos.save_event(expo, form.values())
        except expos.ExpoInvalid as error:
            db.session.rollback()
            expo = _event_or_404(event_id)
            _show_error(form, error)
        else:
            audit.record("expo_update", g.user, object_type="expo", object_id=expo.id,
                         summary=expo.name_zh, ip=request.remote_addr or "")
            db.session.commit()
            flash(_("Saved."), "info")
            return redirect(url_for("admin.expo_edit", event_id=expo.id))
    return render_template("admin/qr/expo_edit.html", form=form, expo=expo,
                           action_form=ActionForm()), (400 if form.errors else 200)


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
    audit.record("expo_delete", g.user, object_type="expo", object_id=expo_id, summary=name,
                 ip=request.remote_addr or "")
    db.session.commit()
    flash(_("Event deleted."), "info")
    return redirect(url_for("admin.expos_list"))


def _booth_form(booth: Booth | None) -> BoothForm:
    data = None
    if booth is not None and request.method == "GET":
        data = {"product_ids": [p.id for p in booth.products],
                "enterprise_ids": [e.id for e in booth.enterprises]}
    form = BoothForm(obj=booth, data=data)
    lang = current_lang()
    products = db.session.scalars(select(Product).order_by(Product.name_zh, Product.id))
    enterprises = db.session.scalars(select(Enterprise).order_by(Enterprise.name_zh,
                                                                  Enterprise.id))
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
                expo, booth, form.values(), _chosen(Product, form.product_ids.data or []),
                _chosen(Enterprise, form.enterprise_ids.data or []),
            )
        except expos.ExpoInvalid as error:
            db.session.rollback()
            expo = _event_or_404(expo.id)
            _show_error(form, error)
        else:
            audit.record("booth_create" if booth is None else "booth_update", g.user,
                         object_type="booth", object_id=saved.id,
                         summary=f"{expo.name_zh} {saved.number}", ip=request.remote_addr or "")
            db.session.commit()
            flash(_("Booth saved."), "info")
            return redirect(url_for("admin.expo_edit", event_id=expo.id))
    return render_template("admin/qr/booth_edit.html", form=form, expo=expo, booth=booth,
                           action_form=ActionForm()), (400 if form.errors else 200)


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
    audit.record("booth_delete", g.user, object_type="booth", object_id=booth_id,
                 summary=summary, ip=request.remote_addr or "")
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
    return make_response(labels.booth_poster_html(
        booth, size, back_url=url_for("admin.expo_edit", event_id=expo.id)
    ))
