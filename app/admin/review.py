"""The reviewer's tools on a listing: its public page rendered with the pending values
(bannered, never indexed, never stored: the guard's after_request), and the field-by-field
changes worded for people (names instead of ids, labels instead of codes)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, g, make_response, render_template
from flask_babel import gettext as _
from sqlalchemy import Enum as SAEnum

from app.admin import add_kind_route
from app.db import db
from app.i18n import current_lang
from app.labels import label
from app.models import Authorization, Brand, Enterprise, GISign, IndustryFact, Product
from app.services import catalogue, listings, review
from app.services.access import ensure_can_edit
from app.services.listings import CHOICE, CHOICES, FLAG, KINDS, MONTHS, ListingField, ListingKind
from app.templating import month_names

# --- the diff -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownChange:
    """A diff row as the page shows it: the field's label, old and new as text."""

    name: str
    label: str
    old: str
    new: str


def shown_changes(rows: list[review.DiffRow], kind: ListingKind) -> list[ShownChange]:
    return [
        ShownChange(
            r.field.name,
            str(r.field.label),
            shown(kind, r.field, r.old),
            shown(kind, r.field, r.new),
        )
        for r in rows
    ]


def shown(kind: ListingKind, field: ListingField, value: Any) -> str:
    """A plain value as a person reads it: a related row's name, an enum's label, yes/no,
    month names; "" for nothing."""
    if value in review.EMPTY:
        return ""
    if field.widget == FLAG:
        return _("Yes") if value else _("No")
    if field.widget == MONTHS:
        names = month_names()
        return ", ".join(names[int(m) - 1] for m in value)
    if field.widget in (CHOICE, CHOICES) and field.related_model is not None:
        model = field.related_model
        ids = value if isinstance(value, list) else [value]
        return ", ".join(_row_name(db.session.get(model, int(i))) or f"#{i}" for i in ids)
    column = kind.model.__table__.columns.get(field.name)
    column_type = column.type if column is not None else None
    if isinstance(column_type, SAEnum) and column_type.enum_class is not None:
        return label(value, column_type.enum_class.__name__)
    return str(value)


def _row_name(row: Any) -> str:
    if row is None:
        return ""
    for kind in KINDS.values():
        if isinstance(row, kind.model):
            return str(kind.title(row))
    return str(row.text("name", current_lang()))


# --- the preview ----------------------------------------------------------------------------

Page = tuple[str, dict[str, Any]]


def _product_page(
    product: Product, sign: GISign | None = None, fact: IndustryFact | None = None
) -> Page:
    _parent(product.category)  # the breadcrumb links to it
    page = catalogue.product_page_of(product, current_lang())
    if sign is not None:
        page.signs = [s for s in page.signs if s.id != sign.id] + [sign]
    if fact is not None:
        page.facts = sorted(
            [f for f in page.facts if f.id != fact.id] + [fact], key=lambda f: f.year
        )
    return "public/product.html", {"page": page, "today": catalogue.local_today()}


def _enterprise_page(enterprise: Enterprise, extra: Authorization | None = None) -> Page:
    _parent(enterprise.county)  # the facts link to it
    shown_auths = catalogue.published_only(enterprise.authorizations)
    if extra is not None:
        shown_auths = [a for a in shown_auths if a.id != extra.id] + [extra]
    return "public/enterprise.html", {
        "enterprise": enterprise,
        "authorizations": shown_auths,
        "brands": catalogue.brands_owned_by(enterprise, current_lang()),
        "today": catalogue.local_today(),
    }


def _brand_page(brand: Brand) -> Page:
    return "public/brand.html", {
        "brand": brand,
        "products": catalogue.published_only(brand.products),
    }


# The public page each kind appears on: its own, or the page of the listing it belongs to.
PREVIEW_PAGES: dict[str, Callable[[Any], Page]] = {
    "products": _product_page,
    "signs": lambda sign: _product_page(_parent(sign.product), sign=sign),
    "industry-facts": lambda fact: _product_page(_parent(fact.product), fact=fact),
    "brands": _brand_page,
    "enterprises": _enterprise_page,
    "authorizations": lambda auth: _enterprise_page(_parent(auth.enterprise), auth),
}


class NoPageYet(LookupError):
    """The listing does not yet name the listing whose page it appears on."""


def _parent(row: Any) -> Any:
    if row is None:
        raise NoPageYet()
    return row


def listing_preview(kind_key: str, listing_id: int):
    kind = KINDS[kind_key]
    obj = listings.get_listing(kind, listing_id) or abort(404)
    ensure_can_edit(g.user, kind, obj)
    with review.previewing(kind, obj) as shown_obj:
        try:
            template, context = PREVIEW_PAGES[kind.key](shown_obj)
            html = render_template(template, preview=True, **context)
        except NoPageYet:
            message = _("There is no page to preview yet: fill in what the checklist asks for.")
            return render_template("admin/error.html", code=409, message=message), 409
    response = make_response(html)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _register() -> None:
    for key in KINDS:
        add_kind_route(key, "/<int:listing_id>/preview", "preview", listing_preview)


_register()
