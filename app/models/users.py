"""Accounts of the back office: roles, the counties an editor may edit, and the session
nonce that lets the server invalidate every cookie of a user (logout, password change,
disable)."""

import enum
import secrets
from datetime import datetime

from sqlalchemy import Boolean, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Model
from app.models.listing import link_table, str_enum, utcnow
from app.models.places import County


class Role(enum.StrEnum):
    ADMIN = "admin"  # provincial office: everything, including users
    REVIEWER = "reviewer"  # approves, publishes, returns with comments; any county
    EDITOR = "editor"  # county official: listings of the assigned counties only


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


user_counties = link_table("user_counties", user_id="users.id", county_id="counties.id")


class User(Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"), default=Role.EDITOR)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Part of the Flask-Login id kept in the session cookie: replacing it rejects every
    # cookie issued before (a replayed cookie after logout is refused).
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    counties: Mapped[list[County]] = relationship(
        secondary=user_counties, order_by=County.sort_order
    )

    # Flask-Login's protocol.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def county_ids(self) -> set[int]:
        return {county.id for county in self.counties}

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_review(self) -> bool:
        return self.role in (Role.ADMIN, Role.REVIEWER)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"
