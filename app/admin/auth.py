"""Signing in and out of the back office, and changing one's own password. Sign-in attempts
are limited per address and per account; a browser that has signed in to an account before
carries a signed cookie that exempts it from the per-account limit."""

import hashlib
import hmac
import time

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length

from app.admin import bp
from app.admin.fields import REQUIRED, TOO_LONG, ActionForm
from app.admin.guard import safe_next
from app.db import db
from app.extensions import limiter
from app.forms import BaseForm, typed_address
from app.services import accounts


class LoginForm(BaseForm):
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(message=REQUIRED), Length(max=254, message=TOO_LONG)],
        filters=[typed_address],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=REQUIRED), Length(max=200, message=TOO_LONG)],
    )
    next = HiddenField()


class PasswordChangeForm(BaseForm):
    current = PasswordField(
        _l("Current password"),
        validators=[DataRequired(message=REQUIRED), Length(max=200, message=TOO_LONG)],
    )
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(message=REQUIRED), Length(max=200, message=TOO_LONG)],
    )


DEVICE_COOKIE = "admin_device"


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
