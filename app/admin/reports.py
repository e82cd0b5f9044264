"""The counterfeit-report queue: officials see the reports of their counties (reviewers:
all), change their status with a private note, and view the reporter's photo."""

import re

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length, Optional

from app.admin import bp
from app.admin.fields import TOO_LONG
from app.db import db
from app.forms import BaseForm
from app.models import ReportStatus
from app.params import admin_page_number
from app.services import audit, reports
from app.services.reports import ALLOWED_TRANSITIONS, NotYourCounty

REPORT_STATUS_LABELS = {
    ReportStatus.NEW: _l("New"),
    ReportStatus.INVESTIGATING: _l("Investigating"),
    ReportStatus.CLOSED: _l("Closed"),
}


class ReportStatusForm(BaseForm):
    status = SelectField(_l("Status"), choices=[])
    note = TextAreaField(
        _l("Note for your colleagues (never public)"),
        validators=[Optional(), Length(max=4000, message=TOO_LONG)],
    )


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
    page = admin_page_number()
    queue = reports.report_queue(
        _report_scope(),
        ReportStatus(status),
        REPORTS_PER_PAGE + 1,
        (page - 1) * REPORTS_PER_PAGE,
    )
    return render_template(
        "admin/qr/reports.html",
        queue=queue,
        items=queue.items[:REPORTS_PER_PAGE],
        status=status,
        labels=REPORT_STATUS_LABELS,
        page=page,
        has_next=len(queue.items) > REPORTS_PER_PAGE,
    )


@bp.route("/reports/<int:report_id>", methods=["GET", "POST"])
def report_detail(report_id: int):
    report = _report_or_404(report_id)
    form = ReportStatusForm(
        data={"status": report.report_status.value, "note": report.official_note or ""}
        if request.method == "GET"
        else None
    )
    current = report.report_status
    form.status.choices = [
        (s.value, str(REPORT_STATUS_LABELS[s]))
        for s in ReportStatus
        if s == current or s in ALLOWED_TRANSITIONS[current]
    ]
    if form.validate_on_submit():
        before = (current.value, report.official_note)
        reports.update_report(
            report, _report_scope(), ReportStatus(form.status.data), form.note.data, g.user.id
        )
        audit.record(
            "report_status",
            g.user,
            object_type="report",
            object_id=report.id,
            summary=f"{before[0]} -> {report.report_status.value}",
            details={
                "report_status": [before[0], report.report_status.value],
                "official_note": [before[1], report.official_note],
            },
            ip=request.remote_addr or "",
        )
        db.session.commit()
        flash(_("The report was updated."), "info")
        return redirect(url_for("admin.report_detail", report_id=report.id))
    status = 400 if form.errors else 200
    return render_template(
        "admin/qr/report.html", report=report, form=form, labels=REPORT_STATUS_LABELS
    ), status


@bp.route("/reports/<int:report_id>/photo")
def report_photo(report_id: int):
    """Only through this view, for officials of the report's county; never cached."""
    report = _report_or_404(report_id)
    if not report.photo_name or not PHOTO_NAME.match(report.photo_name):
        abort(404)
    path = reports.photo_path(current_app.config["INSTANCE_DIR"] / "reports", report)
    if path is None or not path.is_file():
        abort(404)
    # Re-encoded JPEGs of at most 2000 px: small enough to send from memory.
    response = current_app.response_class(path.read_bytes(), mimetype="image/jpeg")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    return response
