"""Accounts of the back office (admins only: the guard checks): list, create, edit role,
counties, active flag and password."""

from collections.abc import Callable

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.admin import bp
from app.admin.fields import REQUIRED, TOO_LONG, MultiCheckbox, enum_choices
from app.admin.listing_forms import county_choices
from app.db import db
from app.forms import BaseForm, typed_address
from app.labels import ROLE_LABELS
from app.models import County, User
from app.models.users import Role
from app.services import accounts


class UserForm(BaseForm):
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(message=REQUIRED), Length(max=254, message=TOO_LONG)],
        filters=[typed_address],
    )
    name = StringField(_l("Name"), validators=[Optional(), Length(max=128, message=TOO_LONG)])
    role = SelectField(_l("Role"), choices=[])
    county_ids = MultiCheckbox(_l("Counties (editors)"), coerce=int)
    active = BooleanField(_l("Active"), default=True)
    password = PasswordField(
        _l("Password"), validators=[Optional(), Length(max=200, message=TOO_LONG)]
    )

    def setup(self, user) -> None:
        self.role.choices = enum_choices(ROLE_LABELS)
        self.county_ids.choices = county_choices(user)


@bp.route("/users/")
def users():
    people = db.session.scalars(select(User).order_by(User.role, User.email)).all()
    return render_template("admin/users.html", users=people)


def _chosen_counties(form) -> list[County]:
    ids = form.county_ids.data or []
    return list(db.session.scalars(select(County).where(County.id.in_(ids)))) if ids else []


def _saved(form: UserForm, change: Callable[[], object], done: str) -> bool:
    """Run an account change and commit it, flashing `done`; an AccountError is rolled
    back and shown on the field it names (False)."""
    try:
        change()
    except accounts.AccountError as error:
        db.session.rollback()
        form[error.field].errors = [str(error)]
        return False
    db.session.commit()
    flash(done, "info")
    return True


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    form = UserForm()
    form.setup(g.user)
    if form.validate_on_submit() and _saved(
        form,
        lambda: accounts.create_user(
            form.email.data,
            form.password.data or "",
            Role(form.role.data),
            _chosen_counties(form),
            form.name.data or "",
            actor=g.user,
        ),
        _("Account created."),
    ):
        return redirect(url_for("admin.users"))
    return render_template("admin/user_edit.html", form=form, person=None)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def user_edit(user_id: int):
    person = db.session.get(User, user_id) or abort(404)
    form = UserForm(
        obj=person,
        data={"county_ids": sorted(person.county_ids)} if request.method == "GET" else None,
    )
    form.setup(g.user)
    form.email.data = person.email  # the address is the login; it is not changed here

    def change() -> None:
        accounts.update_user(
            person, Role(form.role.data), _chosen_counties(form), form.active.data, actor=g.user
        )
        if form.password.data:
            accounts.set_password(person, form.password.data, actor=g.user)

    if (
        request.method == "POST"
        and form.validate_on_submit()
        and _saved(form, change, _("Account saved."))
    ):
        return redirect(url_for("admin.users"))
    return render_template("admin/user_edit.html", form=form, person=person)
