"""The back office's single gate: login, idle and absolute timeouts, admin-only areas, and
responses that are never stored by a cache. Object-level rights are app.services.access."""

import time
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user, logout_user
from werkzeug.exceptions import Forbidden

from app.admin import bp
from app.extensions import login_manager
from app.services import accounts

OPEN_ENDPOINTS = {"admin.login"}
ADMIN_ONLY_PREFIXES = ("admin.audit", "admin.user")  # audit log; users, user_new, user_edit
# Province-wide screens: expo events and booths, search synonyms.
REVIEWER_ONLY_PREFIXES = ("admin.expo", "admin.synonym")


@login_manager.user_loader
def load_user(session_id: str):
    return accounts.user_for_session(session_id)


def safe_next(target: str | None) -> str | None:
    """Only a path inside the back office: never another host, scheme or protocol-relative
    URL (//x), a backslash (browsers read /\\x as //x), more than 2000 characters, or any
    character that is not printable (controls, NUL, DEL, C1, format and bidi characters,
    lone surrogates), which no redirect should carry."""
    if not target or len(target) > 2000 or "\\" in target or not target.isprintable():
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin/"):
        return None
    return target


def _session_expired() -> bool:
    now = time.time()
    idle = current_app.config["ADMIN_IDLE_MINUTES"] * 60
    absolute = current_app.config["ADMIN_SESSION_HOURS"] * 3600
    seen, started = session.get("seen", 0), session.get("login_at", 0)
    return now - seen > idle or now - started > absolute


@bp.before_request
def require_login():
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("admin.login", next=safe_next(target)))
    if _session_expired():
        logout_user()
        session.clear()
        flash(_("You were signed out after a period of inactivity. Please sign in again."), "info")
        return redirect(url_for("admin.login"))
    session["seen"] = int(time.time())
    g.user = current_user._get_current_object()
    if (
        request.endpoint
        and request.endpoint.startswith(ADMIN_ONLY_PREFIXES)
        and not g.user.is_admin
    ):
        raise Forbidden()
    if (
        request.endpoint
        and request.endpoint.startswith(REVIEWER_ONLY_PREFIXES)
        and not g.user.can_review
    ):
        raise Forbidden()
    return None


@bp.after_request
def never_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.vary.add("Cookie")
    return response


@bp.errorhandler(Forbidden)
def forbidden(error):
    message = getattr(error, "user_message", None) or _("You do not have access to this page.")
    return render_template("admin/error.html", code=403, message=message), 403


@bp.errorhandler(RateLimitExceeded)
def too_many_attempts(_error):
    message = _("Too many sign-in attempts. Please wait a few minutes and try again.")
    return render_template("admin/error.html", code=429, message=message), 429
