"""Search synonyms in the back office (/admin/synonyms/): reviewers and admins list, add,
edit and delete groups (the guard's REVIEWER_ONLY_PREFIXES checks the role on the server).
Searches use a change at once: synonyms are applied to queries, not to the index."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.admin import bp
from app.admin.fields import REQUIRED, ActionForm
from app.db import db
from app.forms import BaseForm
from app.models.synonyms import SynonymGroup
from app.services import synonyms


class SynonymForm(BaseForm):
    terms = TextAreaField(
        _l("Words that mean the same"),
        description=_l(
            "Separate the words with commas, e.g. 螃蟹, 蟹, crab. Each one "
            "finds what the others find."
        ),
        validators=[DataRequired(message=REQUIRED), Length(max=2000)],
    )
    note = StringField(_l("Note (optional)"), validators=[Length(max=200)])


def _group_or_404(group_id: int) -> SynonymGroup:
    return db.session.get(SynonymGroup, group_id) or abort(404)


def _save(form: SynonymForm, group: SynonymGroup | None):
    try:
        synonyms.save_group(
            group, form.terms.data, form.note.data or "", g.user, ip=request.remote_addr or ""
        )
    except synonyms.SynonymInvalid as error:
        db.session.rollback()
        form[error.field].errors = list(form[error.field].errors) + [str(error)]
        return None
    db.session.commit()
    flash(_("Synonyms saved. Searches use them from now on."), "info")
    return redirect(url_for("admin.synonyms_list"))


@bp.route("/synonyms/")
def synonyms_list():
    return render_template("admin/synonyms.html", groups=synonyms.all_groups())


@bp.route("/synonyms/new", methods=["GET", "POST"])
def synonym_new():
    form = SynonymForm()
    if form.validate_on_submit() and (done := _save(form, None)):
        return done
    return render_template("admin/synonym_edit.html", form=form, group=None), (
        400 if form.errors else 200
    )


@bp.route("/synonyms/<int:group_id>/edit", methods=["GET", "POST"])
def synonym_edit(group_id: int):
    group = _group_or_404(group_id)
    form = SynonymForm(
        data={"terms": ", ".join(group.term_list), "note": group.note}
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit() and (done := _save(form, group)):
        return done
    return render_template(
        "admin/synonym_edit.html", form=form, group=group, action_form=ActionForm()
    ), (400 if form.errors else 200)


@bp.route("/synonyms/<int:group_id>/delete", methods=["POST"])
def synonym_delete(group_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    synonyms.delete_group(_group_or_404(group_id), g.user, ip=request.remote_addr or "")
    db.session.commit()
    flash(_("Synonym group deleted."), "info")
    return redirect(url_for("admin.synonyms_list"))
