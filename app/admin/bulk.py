"""Bulk files on the list of every listing kind: template, export of the user's counties,
and import as upload -> dry run -> confirm (all rows or none)."""

from io import BytesIO

from flask import flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired

from app.admin import add_kind_route, bp, kind_endpoint
from app.admin.fields import ActionForm
from app.db import db
from app.forms import BaseForm
from app.request_limits import FORM_OVERHEAD, accepts_upload
from app.services import bulk, imports, spreadsheets
from app.services.listings import KINDS, EditConflict, FieldErrors

FMT = "<any(csv, xlsx):fmt>"


class ImportUploadForm(BaseForm):
    file = FileField(
        _l("Filled-in file (CSV or XLSX)"),
        validators=[FileRequired(message=_l("Please choose a file to import."))],
    )


@bp.context_processor
def bulk_kinds():
    return {"bulk_kinds": bulk.KINDS}


def _download(file: bulk.BulkFile):
    return send_file(
        BytesIO(file.data),
        mimetype=file.mimetype,
        as_attachment=True,
        download_name=file.filename,
    )


def bulk_template(kind_key: str, fmt: str):
    return _download(bulk.template(kind_key, fmt))


def bulk_export(kind_key: str, fmt: str):
    return _download(bulk.export_listings(kind_key, g.user, fmt))


@accepts_upload(spreadsheets.MAX_BYTES + FORM_OVERHEAD)
def bulk_import(kind_key: str):
    kind = KINDS[kind_key]
    form = ImportUploadForm()
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            data = upload.stream.read(spreadsheets.MAX_BYTES + 1)
            token = imports.stage(g.user, kind_key, data, upload.filename)
        except spreadsheets.BulkError as error:
            form.file.errors = [str(error.user_message)]
        else:
            return redirect(url_for(f"admin.{kind_endpoint(kind_key)}_import_preview", token=token))
    if form.errors:
        status = 400
    return render_template("admin/import.html", kind=kind, form=form), status


def bulk_import_preview(kind_key: str, token: str):
    """GET: the dry run of the staged file. POST: import it, all rows or none."""
    kind = KINDS[kind_key]
    start_again = redirect(url_for(f"admin.{kind_endpoint(kind_key)}_import"))
    try:
        staged = imports.load(g.user, kind_key, token)
    except imports.StagedFileMissing:
        flash(_("This upload has expired or is not yours. Please upload the file again."), "error")
        return start_again
    if request.method == "POST" and ActionForm().validate_on_submit():
        try:
            plan = imports.run(g.user, staged, ip=request.remote_addr or "")
        except (spreadsheets.BulkError, FieldErrors, EditConflict) as error:
            db.session.rollback()
            message = getattr(error, "user_message", None) or _(
                "Nothing was imported: a listing changed while the file was checked. "
                "Please check the file again."
            )
            flash(str(message), "error")
            return redirect(request.path)
        db.session.commit()
        imports.discard(token)
        flash(_summary(plan), "info")
        return redirect(url_for(f"admin.{kind_endpoint(kind_key)}_list"))
    try:
        plan = imports.preview(g.user, staged)
    except spreadsheets.BulkError as error:
        imports.discard(token)
        flash(str(error.user_message), "error")
        return start_again
    return render_template(
        "admin/import_preview.html",
        kind=kind,
        staged=staged,
        plan=plan,
        to_review=imports.published_keys(kind_key, plan),
        confirm_form=ActionForm(),
    )


def _summary(plan: bulk.ImportPlan) -> str:
    return _(
        "Imported: %(created)s new, %(updated)s changed, %(unchanged)s unchanged. "
        "New listings are drafts; changes to published listings wait for a reviewer.",
        created=plan.count("create"),
        updated=plan.count("update"),
        unchanged=plan.count("unchanged"),
    )


def _register_bulk_routes() -> None:
    both = ["GET", "POST"]
    for key in bulk.KINDS:
        add_kind_route(key, f"/template.{FMT}", "template", bulk_template)
        add_kind_route(key, f"/export.{FMT}", "export", bulk_export)
        add_kind_route(key, "/import", "import", bulk_import, methods=both)
        add_kind_route(key, "/import/<token>", "import_preview", bulk_import_preview, methods=both)


_register_bulk_routes()
