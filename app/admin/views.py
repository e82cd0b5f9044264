"""Back-office views: validate a form, call one service, commit, flash, redirect."""

import hashlib
import hmac
import time
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from wtforms import DateField, DecimalField

from app.admin import bp
from app.admin.forms import (
    FORMS,
    ActionForm,
    AuditFilterForm,
    LoginForm,
    PasswordChangeForm,
    ReturnForm,
    UserForm,
)
from app.admin.guard import safe_next
from app.db import db
from app.extensions import limiter
from app.models import County, ReportStatus, User
from app.models.users import Role
from app.services import accounts, listings, reports, workflow
from app.services.access import ensure_can_edit
from app.services.audit import ACTIONS, AuditFilter, audit_page
from app.services.listings import KINDS, EditConflict, FieldErrors

DEVICE_COOKIE = "admin_device"


# --- signing in and out -----------------------------------------------------------------------


def _account_key() -> str:
    email = accounts.normalize_email(request.form.get("email", ""))[:254]
    return "account:" + hashlib.sha256(email.encode()).hexdigest()


def _device_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="known-device")


def _device_tag(email: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, accounts.normalize_email(email).encode(), "sha256").hexdigest()[:16]


def _known_tags() -> list[str]:
    try:
        tags = _device_serializer().loads(request.cookies.get(DEVICE_COOKIE, ""))
    except BadSignature:
        return []
    return tags if isinstance(tags, list) else []


def _known_device() -> bool:
    """This browser has signed in to this account before: the per-account limit does not
    apply to it, so an attacker hammering the address cannot lock its owner out."""
    return _device_tag(request.form.get("email", "")[:254]) in _known_tags()


def _login_failed(_response) -> bool:
    return bool(g.get("login_failed"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"], scope="login-ip")
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=_account_key,
    scope="login-account",
    deduct_when=_login_failed,
    exempt_when=_known_device,
)
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        user = accounts.authenticate(
            form.email.data, form.password.data, ip=request.remote_addr or ""
        )
        db.session.commit()
        if user is None:
            g.login_failed = True
            form.password.errors.append(_("Wrong e-mail or password, or the account is disabled."))
        else:
            session.clear()  # a fresh session at every sign-in
            login_user(user)
            now = int(time.time())
            session["login_at"] = session["seen"] = now
            response = redirect(safe_next(form.next.data) or url_for("admin.dashboard"))
            tags = [t for t in _known_tags() if t != _device_tag(user.email)][-4:]
            response.set_cookie(
                DEVICE_COOKIE,
                _device_serializer().dumps(tags + [_device_tag(user.email)]),
                max_age=90 * 24 * 3600,
                path="/admin/",
                httponly=True,
                samesite="Lax",
                secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
            )
            return response
    return render_template("admin/login.html", form=form)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    form = ActionForm()
    if form.validate_on_submit():
        accounts.logout(g.user, ip=request.remote_addr or "")
        db.session.commit()
        logout_user()
        session.clear()
        flash(_("You have signed out."), "info")
        return redirect(url_for("admin.login"))
    return render_template("admin/logout.html", form=form)


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not accounts.password_matches(g.user, form.current.data):
            form.current.errors.append(_("The current password is wrong."))
        else:
            try:
                accounts.set_password(g.user, form.new.data, actor=g.user)
            except accounts.AccountError as error:
                db.session.rollback()
                form.new.errors.append(str(error))
            else:
                db.session.commit()
                # Every other session ended with the old nonce; this one continues.
                login_user(g.user)
                flash(_("Your password was changed. Other sessions were signed out."), "info")
                return redirect(url_for("admin.dashboard"))
    return render_template("admin/password.html", form=form)


# --- dashboard ---------------------------------------------------------------------------------


@bp.route("/")
def dashboard():
    scope = None if g.user.can_review else g.user.county_ids
    new_reports = reports.report_queue(scope, ReportStatus.NEW, limit=0).counts[ReportStatus.NEW]
    return render_template(
        "admin/dashboard.html", board=workflow.dashboard(g.user), kinds=KINDS,
        new_reports=new_reports,
    )


# --- listings: one set of views registered for each kind --------------------------------------


def _kind(kind_key: str):
    return KINDS[kind_key]


def _listing_or_404(kind, listing_id: int):
    obj = listings.get_listing(kind, listing_id)
    if obj is None:
        abort(404)
    return obj


def _page_number() -> int:
    page = request.args.get("page", "1")
    return int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 100_000 else 1


def listing_list(kind_key: str):
    kind = _kind(kind_key)
    status = request.args.get("status", "")
    page = listings.listing_page(kind, g.user, _page_number(), status)
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
            return redirect(url_for(f"admin.{_ep(kind)}_edit", listing_id=obj.id))
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
            return redirect(url_for(f"admin.{_ep(kind)}_edit", listing_id=obj.id))
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
    proposed = {}
    if state.revision is not None:
        proposed = listings.changed_fields(kind.current_values(obj), state.values)
    return render_template(
        "admin/edit.html",
        kind=kind,
        form=form,
        obj=obj,
        revision=state.revision,
        proposed=proposed,
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
    edit_url = url_for(f"admin.{_ep(kind)}_edit", listing_id=obj.id)
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


def _ep(kind) -> str:
    return kind.key.replace("-", "_")


def _register_listing_routes() -> None:
    for key, kind in KINDS.items():
        ep, defaults = _ep(kind), {"kind_key": key}
        bp.add_url_rule(f"/{key}/", f"{ep}_list", listing_list, defaults=defaults)
        bp.add_url_rule(
            f"/{key}/new", f"{ep}_new", listing_new, defaults=defaults, methods=["GET", "POST"]
        )
        bp.add_url_rule(
            f"/{key}/<int:listing_id>/edit",
            f"{ep}_edit",
            listing_edit,
            defaults=defaults,
            methods=["GET", "POST"],
        )
        for step in STEP_MESSAGES:
            bp.add_url_rule(
                f"/{key}/<int:listing_id>/{step}",
                f"{ep}_{step}",
                _workflow_step,
                defaults={**defaults, "step": step},
                methods=["POST"],
            )


_register_listing_routes()


# --- audit log (admins) ---------------------------------------------------------------------


@bp.route("/audit/")
def audit():
    form = AuditFilterForm(request.args)
    form.action.choices = [("", _("Any"))] + [(a, a) for a in ACTIONS]
    form.object_type.choices = [("", _("Any")), ("user", _("Account"))] + [
        (k.key, str(k.plural)) for k in KINDS.values()
    ] + [("report", _("Counterfeit reports")), ("expo", _("Expos")), ("booth", _("Booths")),
         ("synonym", _("Search synonyms"))]
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
    page = audit_page(filters, _page_number())
    return render_template("admin/audit.html", form=form, page=page)


# --- accounts (admins) ----------------------------------------------------------------------


@bp.route("/users/")
def users():
    people = db.session.scalars(select(User).order_by(User.role, User.email)).all()
    return render_template("admin/users.html", users=people)


def _chosen_counties(form) -> list[County]:
    ids = form.county_ids.data or []
    return list(db.session.scalars(select(County).where(County.id.in_(ids)))) if ids else []


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    form = UserForm()
    form.setup(g.user)
    if form.validate_on_submit():
        try:
            accounts.create_user(
                form.email.data,
                form.password.data or "",
                Role(form.role.data),
                _chosen_counties(form),
                form.name.data or "",
                actor=g.user,
            )
        except accounts.AccountError as error:
            db.session.rollback()
            form[error.field].errors = [str(error)]
        else:
            db.session.commit()
            flash(_("Account created."), "info")
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
    if request.method == "POST" and form.validate_on_submit():
        try:
            accounts.update_user(
                person, Role(form.role.data), _chosen_counties(form), form.active.data, actor=g.user
            )
            if form.password.data:
                accounts.set_password(person, form.password.data, actor=g.user)
        except accounts.AccountError as error:
            db.session.rollback()
            form[error.field].errors = [str(error)]
        else:
            db.session.commit()
            flash(_("Account saved."), "info")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_edit.html", form=form, person=person)
