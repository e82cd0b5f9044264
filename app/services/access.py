"""The one object-level access helper. The admin blueprint checks once that someone is
logged in; every listing service calls these before it reads for editing or writes.

Editors reach the listings of their counties: a product through its counties, signs and
industry facts through their product, an enterprise through its county, authorizations
through their enterprise, a brand through its owner and products."""

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement
from werkzeug.exceptions import Forbidden

from app.models.users import User

if TYPE_CHECKING:  # listings imports this module
    from app.services.listings import ListingKind, ListingRow


class AccessDenied(Forbidden):
    def __init__(self, user_message: object) -> None:
        super().__init__()
        self.user_message = str(user_message)


def listing_scope(kind: "ListingKind", obj: "ListingRow") -> set[int]:
    """County ids the listing belongs to (empty: province-wide, reviewers only)."""
    return kind.scope_of_values(kind.current_values(obj))


def can_edit(user: User, kind: "ListingKind", obj: "ListingRow") -> bool:
    if not user.is_active:
        return False
    if user.can_review:
        return True
    return bool(listing_scope(kind, obj) & user.county_ids)


def ensure_can_edit(user: User, kind: "ListingKind", obj: "ListingRow") -> None:
    if not can_edit(user, kind, obj):
        raise AccessDenied(_l("This listing belongs to a county you are not assigned to."))


def ensure_values_in_scope(user: User, kind: "ListingKind", values: dict) -> None:
    """What an editor saves must still belong to one of their counties."""
    if user.can_review:
        return
    if not kind.scope_of_values(values) & user.county_ids:
        raise AccessDenied(_l("Listings you save must belong to one of your counties."))


def ensure_reviewer(user: User) -> None:
    if not user.can_review:
        raise AccessDenied(_l("Only a reviewer can do this."))


def scope_clause(user: User, kind: "ListingKind") -> ColumnElement[bool] | None:
    """SQL condition limiting a list to what the user may edit (None: everything)."""
    if user.can_review:
        return None
    return kind.scope_clause(user.county_ids)
