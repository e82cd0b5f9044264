"""The listing screens, one set registered for each kind (products, signs, brands...): list,
new, edit with its conflict page, and the workflow steps (submit, publish, return, archive,
restore). Each view validates a form, calls one service, commits, flashes and redirects."""

from datetime import date
from decimal import Decimal, InvalidOperation

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import DateField, DecimalField

from app.admin import add_kind_route, kind_endpoint
from app.admin.fields import ActionForm
from app.admin.listing_forms import FORMS, ReturnForm
from app.admin.review import shown_changes
from app.db import db
from app.params import admin_page_number
from app.services import listings, review, workflow
from app.services.access import ensure_can_edit
from app.services.listings import KINDS, EditConflict, FieldErrors


def _kind(kind_key: str):
    return KINDS[kind_key]


def _listing_or_404(kind, listing_id: int):
    obj = listings.get_listing(kind, listing_id)
    if obj is None:
        abort(404)
    return obj


def listing_list(kind_key: str):
    kind = _kind(kind_key)
    status = request.args.get("status", "")
    page = listings.listing_page(kind, g.user, admin_page_number(), status)
    pending = listings.pending_ids(kind, [o.id for o in page.items])
    return render_template("admin/list.html", kind=kind, page=page, pending=pending, status=status)


def _form_data(form, values: dict) -> dict:
    """Plain values -> what the WTForms fields expect (dates and decimals as objects)."""
    data = dict(values)
    for name, field in form._fields.items():
        value = data.get(name)
        if isinstance(field, DateField) and isinstance(value, str):
            data[name] = date.fromisoformat(value)
        elif isinstance(field, DecimalField) and isinstance(value, str):
            try:
                data[name] = Decimal(value)
            except InvalidOperation:
                data[name] = None
    return data


def _make_form(kind_key: str, values: dict | None = None):
    form_class = FORMS[kind_key]
    form = form_class(data=_form_data(form_class(formdata=None), values) if values else None)
    form.setup(g.user)
    return form


def listing_new(kind_key: str):
    kind = _kind(kind_key)
    form = _make_form(kind_key)
    if form.validate_on_submit():
        try:
            obj = listings.create_listing(kind, form.values(), g.user)
        except FieldErrors as errors:
            db.session.rollback()
            _attach(form, errors.errors)
        else:
            db.session.commit()
            flash(_("Saved as a draft."), "info")
            return redirect(url_for(f"admin.{kind_endpoint(kind.key)}_edit", listing_id=obj.id))
    return render_template("admin/edit.html", kind=kind, form=form, obj=None)


def listing_edit(kind_key: str, listing_id: int):
    kind = _kind(kind_key)
    obj = _listing_or_404(kind, listing_id)
    ensure_can_edit(g.user, kind, obj)
    state = listings.edit_state(kind, obj)
    form = _make_form(kind_key, state.values)
    if request.method == "GET":
        form.version.data = state.token
    elif form.validate_on_submit():
        try:
            listings.save_listing(kind, obj, form.values(), g.user, form.version.data or "")
        except EditConflict as conflict:
            db.session.rollback()
            return _conflict(kind, obj, form, conflict)
        except FieldErrors as errors:
            db.session.rollback()
            _attach(form, errors.errors)
        else:
            db.session.commit()
            if obj.is_published:
                flash(_("Saved. The changes stay private until a reviewer publishes them."), "info")
            else:
                flash(_("Saved."), "info")
            return redirect(url_for(f"admin.{kind_endpoint(kind.key)}_edit", listing_id=obj.id))
    return _edit_page(kind, obj, form, state)


def fresh_edit_page(kind, obj, status: int = 200, **extra):
    """The edit page as freshly loaded, for views that post elsewhere (photos) and show it
    again with their own form's errors: the listing form ignores that post's data."""
    form_class = FORMS[kind.key]
    state = listings.edit_state(kind, obj)
    form = form_class(formdata=None, data=_form_data(form_class(formdata=None), state.values))
    form.setup(g.user)
    form.version.data = state.token
    return _edit_page(kind, obj, form, state, status, **extra)


def _edit_page(kind, obj, form, state: listings.EditState, status: int = 200, **extra):
    """`state` is the listing's edit state, read once for the request."""
    return render_template(
        "admin/edit.html",
        kind=kind,
        form=form,
        obj=obj,
        revision=state.revision,
        changes=shown_changes(review.diff_rows(kind, obj, state), kind),
        checklist=listings.checklist(kind, state.values, obj),
        note=workflow.latest_note(kind, obj),
        action_form=ActionForm(),
        return_form=ReturnForm(),
        **extra,
    ), status


def _conflict(kind, obj, form, conflict: EditConflict):
    fields = [name for name in kind.names if conflict.mine.get(name) != conflict.theirs.get(name)]
    return render_template(
        "admin/conflict.html",
        kind=kind,
        obj=obj,
        form=form,
        fields=fields,
        mine=conflict.mine,
        theirs=conflict.theirs,
    ), 409


def _attach(form, errors: dict) -> None:
    for name, message in errors.items():
        if name in form._fields:
            form._fields[name].errors = list(form._fields[name].errors) + [message]


def _workflow_step(kind_key: str, listing_id: int, step: str):
    kind = _kind(kind_key)
    obj = _listing_or_404(kind, listing_id)
    edit_url = url_for(f"admin.{kind_endpoint(kind.key)}_edit", listing_id=obj.id)
    form = ReturnForm() if step == "return" else ActionForm()
    if not form.validate_on_submit():
        flash(_("Say what needs to change."), "error")
        return redirect(edit_url)
    try:
        if step == "return":
            workflow.return_to_editors(kind, obj, g.user, form.comment.data)
        else:
            getattr(workflow, step)(kind, obj, g.user)
    except workflow.WorkflowError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(edit_url)
    except EditConflict as conflict:
        db.session.rollback()
        return _conflict(kind, obj, _make_form(kind_key, conflict.mine), conflict)
    db.session.commit()
    flash(STEP_MESSAGES[step](), "info")
    if step in ("publish", "return"):
        return redirect(url_for("admin.dashboard"))
    return redirect(edit_url)


STEP_MESSAGES = {
    "submit": lambda: _("Submitted for review."),
    "publish": lambda: _("Published."),
    "return": lambda: _("Returned to the editors with your comment."),
    "archive": lambda: _("Archived: it no longer appears in the catalogue."),
    "restore": lambda: _("Restored as a draft."),
}


def _register_listing_routes() -> None:
    both = ["GET", "POST"]
    for key in KINDS:
        add_kind_route(key, "/", "list", listing_list)
        add_kind_route(key, "/new", "new", listing_new, methods=both)
        add_kind_route(key, "/<int:listing_id>/edit", "edit", listing_edit, methods=both)
        for step in STEP_MESSAGES:
            path = f"/<int:listing_id>/{step}"
            add_kind_route(key, path, step, _workflow_step, methods=["POST"], step=step)


_register_listing_routes()
