"""Accounts: password policy and hashing, creating and changing users, checking a login,
and the session nonce that lets the server end every session of a user."""

import hmac
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.db import db
from app.models.listing import utcnow
from app.models.places import County
from app.models.users import Role, User, new_session_token
from app.services import audit

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parents[1] / "accounts" / "common_passwords.txt"
# Checked when the e-mail is unknown, so a wrong address takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("timing-equaliser-not-a-password", method="scrypt")


class AccountError(ValueError):
    """A problem with the input, worded for the user (already translated, lazily); `field`
    names the form field it belongs to."""

    def __init__(self, message, field: str = "password") -> None:
        super().__init__(message)
        self.field = field


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def password_problems(password: str, email: str = "") -> list[str]:
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(_l("Use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(_l("Use at most %(n)s characters.", n=MAX_PASSWORD_LENGTH))
    lowered = password.strip().lower()
    if lowered in common_passwords() or len(set(lowered)) < 4:
        problems.append(_l("This password is too common; choose another."))
    local_part = email.split("@", 1)[0].lower()
    if len(local_part) >= 4 and local_part in lowered:
        problems.append(_l("The password must not contain your e-mail name."))
    return [str(p) for p in problems]


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))


def counties_by_slug(slugs: list[str]) -> list[County]:
    counties = list(db.session.scalars(select(County).where(County.slug.in_(slugs))))
    unknown = set(slugs) - {c.slug for c in counties}
    if unknown:
        raise AccountError(
            _l("Unknown county: %(slugs)s", slugs=", ".join(sorted(unknown))), "county_ids"
        )
    return counties


def create_user(
    email: str,
    password: str,
    role: Role,
    counties: list[County],
    name: str = "",
    actor: User | None = None,
) -> User:
    email = normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError(_l("Enter a valid e-mail address."), "email")
    if user_by_email(email):
        raise AccountError(_l("An account with this e-mail already exists."), "email")
    if role == Role.EDITOR and not counties:
        raise AccountError(_l("An editor needs at least one county."), "county_ids")
    problems = password_problems(password, email)
    if problems:
        raise AccountError(" ".join(problems))
    user = User(
        email=email,
        name=name.strip()[:128],
        role=role,
        password_hash=hash_password(password),
        password_changed_at=utcnow(),
        counties=counties if role == Role.EDITOR else [],
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user_create",
        actor,
        object_type="user",
        object_id=user.id,
        summary=email,
        details={"role": str(role), "counties": [c.slug for c in user.counties]},
    )
    return user


def update_user(user: User, role: Role, counties: list[County], active: bool, actor: User) -> None:
    if role == Role.EDITOR and not counties:
        raise AccountError(_l("An editor needs at least one county."), "county_ids")
    before = {
        "role": str(user.role),
        "counties": [c.slug for c in user.counties],
        "active": user.active,
    }
    user.role = role
    user.counties = counties if role == Role.EDITOR else []
    if user.active and not active:
        end_all_sessions(user)
    user.active = active
    after = {
        "role": str(user.role),
        "counties": [c.slug for c in user.counties],
        "active": user.active,
    }
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        audit.record(
            "user_update",
            actor,
            object_type="user",
            object_id=user.id,
            summary=user.email,
            details=changes,
        )


def set_password(user: User, password: str, actor: User | None = None) -> None:
    problems = password_problems(password, user.email)
    if problems:
        raise AccountError(" ".join(problems))
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_all_sessions(user)
    audit.record("password", actor, object_type="user", object_id=user.id, summary=user.email)


def disable_user(user: User, actor: User | None = None) -> None:
    user.active = False
    end_all_sessions(user)
    audit.record("user_disable", actor, object_type="user", object_id=user.id, summary=user.email)


def end_all_sessions(user: User) -> None:
    """A new nonce: every cookie carrying the old one is refused from now on."""
    user.session_token = new_session_token()


def authenticate(email: str, password: str, ip: str = "") -> User | None:
    """The active user with this e-mail and password, or None; both outcomes are audited."""
    user = user_by_email(email) if len(email) <= 254 else None
    password = password[:MAX_PASSWORD_LENGTH]
    if user is not None and user.password_hash:
        ok = check_password_hash(user.password_hash, password) and user.active
    else:
        check_password_hash(_DUMMY_HASH, password)  # as long as a real check takes
        ok = False
    if user is None or not ok:
        audit.record(
            "login_failed",
            None,
            object_type="user",
            object_id=user.id if user else None,
            summary=normalize_email(email)[:254],
            ip=ip,
            actor_email=normalize_email(email)[:254],
        )
        return None
    user.last_login_at = utcnow()
    audit.record("login", user, object_type="user", object_id=user.id, summary=user.email, ip=ip)
    return user


def password_matches(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    return check_password_hash(user.password_hash, password[:MAX_PASSWORD_LENGTH])


def logout(user: User, ip: str = "") -> None:
    end_all_sessions(user)
    audit.record("logout", user, object_type="user", object_id=user.id, summary=user.email, ip=ip)


def user_for_session(session_id: str) -> User | None:
    """Flask-Login's loader: the id is "<user id>:<nonce>"; a stale nonce means no user."""
    user_id, _, token = session_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit()) or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None
    return user
