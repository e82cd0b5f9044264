"""The back office's home page: the user's work queues (submitted ones with county,
submitter, date and a one-line summary) and the count of new counterfeit
reports in their counties."""

from flask import g, render_template

from app.admin import bp
from app.models import ReportStatus
from app.services import reports, review, workflow
from app.services.listings import KINDS


@bp.route("/")
def dashboard():
    scope = None if g.user.can_review else g.user.county_ids
    new_reports = reports.report_queue(scope, ReportStatus.NEW, limit=0).counts[ReportStatus.NEW]
    board = workflow.dashboard(g.user)
    return render_template(
        "admin/dashboard.html",
        board=board,
        submitted=review.submissions(board.to_review + board.waiting),
        kinds=KINDS,
        new_reports=new_reports,
    )
