"""Editing listings: the six kinds, their editable fields as plain JSON-able values, saving
(directly on an unpublished row, or as a private revision of a published one) with
optimistic locking, and the lists the back office shows."""

import enum
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, Integer, Numeric, Select, or_, select
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm.exc import StaleDataError

from app.db import db
from app.models import (
    Authorization,
    Brand,
    County,
    Enterprise,
    GISign,
    IndustryFact,
    Product,
    brand_products,
    product_counties,
)
from app.models.listing import PublicationStatus
from app.models.revisions import ListingRevision, RevisionState
from app.models.users import User
from app.search.text import romanize
from app.services import access, audit
from app.services.catalogue import Page, paginate

PENDING = (RevisionState.DRAFT, RevisionState.SUBMITTED)


class FieldErrors(ValueError):
    """Input the database would refuse, worded per field for the form."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


class EditConflict(Exception):
    """Someone saved this listing after the form was loaded; nothing was written."""

    def __init__(self, mine: dict, theirs: dict) -> None:
        super().__init__("edit conflict")
        self.mine = mine
        self.theirs = theirs


# --- the six kinds ------------------------------------------------------------------------


def _product_counties(product_ids: list[int]) -> set[int]:
    if not product_ids:
        return set()
    stmt = select(product_counties.c.county_id).where(
        product_counties.c.product_id.in_(product_ids)
    )
    return set(db.session.scalars(stmt))


def _enterprise_county(enterprise_id: int | None) -> set[int]:
    if not enterprise_id:
        return set()
    county = db.session.scalar(select(Enterprise.county_id).where(Enterprise.id == enterprise_id))
    return {county} if county else set()


def _products_in(county_ids: set[int]) -> Select:
    return select(product_counties.c.product_id).where(product_counties.c.county_id.in_(county_ids))


def _enterprises_in(county_ids: set[int]) -> Select:
    return select(Enterprise.id).where(Enterprise.county_id.in_(county_ids))


@dataclass(frozen=True)
class ListingKind:
    key: str  # URL segment and the audit log's object type
    model: type
    label: object
    plural: object
    columns: tuple[str, ...]
    # values key -> (relationship attribute, related model): lists of ids in the values.
    collections: dict[str, tuple[str, type]]
    scope_of_values: Callable[[dict], set[int]]
    scope_clause: Callable[[set[int]], object]
    title: Callable[[object], str]
    # Only reviewers set these; an editor's save keeps the stored value whatever is posted.
    reviewer_only: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()
    plain_lists: tuple[str, ...] = field(default=())

    @property
    def fields(self) -> tuple[str, ...]:
        return self.columns + tuple(self.collections) + self.plain_lists

    def current_values(self, obj) -> dict:
        values = {name: _to_plain(getattr(obj, name)) for name in self.columns}
        for key, (attr, _model) in self.collections.items():
            values[key] = sorted(item.id for item in getattr(obj, attr))
        for name in self.plain_lists:
            values[name] = list(getattr(obj, name))
        return values


KINDS: dict[str, ListingKind] = {}


def _register(kind: ListingKind) -> None:
    KINDS[kind.key] = kind


_register(
    ListingKind(
        key="products",
        model=Product,
        label=_l("Product"),
        plural=_l("Products"),
        columns=(
            "slug",
            "name_zh",
            "name_en",
            "category_id",
            "province_wide",
            "summary_zh",
            "summary_en",
            "description_zh",
            "description_en",
            "characteristics_zh",
            "characteristics_en",
            "featured",
        ),
        collections={"county_ids": ("counties", County)},
        plain_lists=("season_months",),
        scope_of_values=lambda v: set(v.get("county_ids") or ()),
        scope_clause=lambda mine: Product.id.in_(_products_in(mine)),
        title=lambda o: o.name_zh,
        reviewer_only=("province_wide", "featured"),
        unique=("slug",),
    )
)
_register(
    ListingKind(
        key="signs",
        model=GISign,
        label=_l("GI sign"),
        plural=_l("GI signs"),
        columns=(
            "product_id",
            "regime",
            "official_name_zh",
            "official_name_en",
            "number",
            "approval_year",
            "approval_month",
            "approval_day",
            "approval_note",
            "issuing_body_zh",
            "issuing_body_en",
            "holder_zh",
            "holder_en",
            "protected_area_zh",
            "protected_area_en",
            "standard",
            "nice_classes",
            "sign_status",
            "source",
            "notes",
            "verified",
        ),
        collections={"protected_county_ids": ("protected_counties", County)},
        scope_of_values=lambda v: _product_counties(
            [v["product_id"]] if v.get("product_id") else []
        ),
        scope_clause=lambda mine: GISign.product_id.in_(_products_in(mine)),
        title=lambda o: o.official_name_zh,
        reviewer_only=("verified",),
    )
)
_register(
    ListingKind(
        key="brands",
        model=Brand,
        label=_l("Brand"),
        plural=_l("Brands"),
        columns=(
            "slug",
            "name_zh",
            "name_en",
            "registration_number",
            "nice_class",
            "kind",
            "owner_id",
            "holder_zh",
            "holder_en",
            "description_zh",
            "description_en",
        ),
        collections={"product_ids": ("products", Product)},
        scope_of_values=lambda v: (
            _enterprise_county(v.get("owner_id")) | _product_counties(v.get("product_ids") or [])
        ),
        scope_clause=lambda mine: or_(
            Brand.owner_id.in_(_enterprises_in(mine)),
            Brand.id.in_(
                select(brand_products.c.brand_id).where(
                    brand_products.c.product_id.in_(_products_in(mine))
                )
            ),
        ),
        title=lambda o: o.name_zh,
        unique=("slug",),
    )
)
_register(
    ListingKind(
        key="enterprises",
        model=Enterprise,
        label=_l("Enterprise"),
        plural=_l("Enterprises"),
        columns=(
            "slug",
            "name_zh",
            "name_en",
            "credit_code",
            "county_id",
            "address_zh",
            "address_en",
            "phone",
            "email",
            "website",
            "description_zh",
            "description_en",
        ),
        collections={},
        scope_of_values=lambda v: {v["county_id"]} if v.get("county_id") else set(),
        scope_clause=lambda mine: Enterprise.county_id.in_(mine),
        title=lambda o: o.name_zh,
        unique=("slug", "credit_code"),
    )
)
_register(
    ListingKind(
        key="authorizations",
        model=Authorization,
        label=_l("Authorization"),
        plural=_l("Authorizations"),
        columns=("enterprise_id", "sign_id", "number", "valid_from", "valid_to", "auth_status"),
        collections={},
        scope_of_values=lambda v: _enterprise_county(v.get("enterprise_id")),
        scope_clause=lambda mine: Authorization.enterprise_id.in_(_enterprises_in(mine)),
        title=lambda o: f"{o.enterprise.name_zh} · {o.sign.official_name_zh}",
    )
)
_register(
    ListingKind(
        key="industry-facts",
        model=IndustryFact,
        label=_l("Industry fact"),
        plural=_l("Industry facts"),
        columns=(
            "product_id",
            "year",
            "planted_area_mu",
            "herd_size",
            "output_tonnes",
            "output_value_cny_10k",
            "employment",
            "enterprises_count",
            "source",
            "source_url",
        ),
        collections={},
        scope_of_values=lambda v: _product_counties(
            [v["product_id"]] if v.get("product_id") else []
        ),
        scope_clause=lambda mine: IndustryFact.product_id.in_(_products_in(mine)),
        title=lambda o: f"{o.product.name_zh} · {o.year}",
    )
)


# --- plain values <-> model attributes -----------------------------------------------------


def _to_plain(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _from_plain(model, name: str, value):
    column = model.__table__.columns[name]
    if value is None or value == "":
        return None if column.nullable else ("" if _is_text(column) else None)
    kind = column.type
    if isinstance(kind, SAEnum):
        return kind.enum_class(value)
    if isinstance(kind, Boolean):
        return bool(value)
    if isinstance(kind, Numeric):
        return Decimal(str(value))
    if isinstance(kind, Integer):
        return int(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    return str(value)


def _is_text(column) -> bool:
    return column.type.python_type is str


def apply_values(kind: ListingKind, obj, values: dict) -> None:
    """Write the values onto the row; keys that are not editable fields are ignored."""
    for name in kind.columns:
        if name in values:
            setattr(obj, name, _from_plain(kind.model, name, values[name]))
    for key, (attr, model) in kind.collections.items():
        if key in values:
            ids = [int(i) for i in values[key] or []]
            items = list(db.session.scalars(select(model).where(model.id.in_(ids)))) if ids else []
            setattr(obj, attr, items)
    for name in kind.plain_lists:
        if name in values:
            setattr(obj, name, [int(m) for m in values[name] or []])


def changed_fields(before: dict, after: dict) -> dict:
    return {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}


# --- revisions and the version token --------------------------------------------------------


def pending_revision(kind: ListingKind, obj) -> ListingRevision | None:
    return db.session.scalar(
        select(ListingRevision)
        .where(
            ListingRevision.listing_type == kind.key,
            ListingRevision.listing_id == obj.id,
            ListingRevision.state.in_(PENDING),
        )
        .order_by(ListingRevision.id.desc())
        .limit(1)
    )


def working_values(kind: ListingKind, obj) -> dict:
    """What the editing form shows: the pending revision if there is one, else the row."""
    revision = pending_revision(kind, obj)
    if revision is not None:
        return json.loads(revision.data)
    return kind.current_values(obj)


def edit_token(kind: ListingKind, obj) -> str:
    """The version a form was loaded at: the row's, plus its pending revision's."""
    revision = pending_revision(kind, obj)
    return f"{obj.version}.{revision.version}" if revision else str(obj.version)


# --- saving ---------------------------------------------------------------------------------


def canonical_values(kind: ListingKind, values: dict) -> dict:
    """Only the kind's fields, each in the form current_values() gives (an empty optional
    text is None, numbers and dates normalised), so comparing values compares meaning."""
    clean = {}
    for key, value in values.items():
        if key in kind.columns:
            clean[key] = _to_plain(_from_plain(kind.model, key, value))
        elif key in kind.collections or key in kind.plain_lists:
            clean[key] = sorted(int(i) for i in value or [])
    return clean


def _keep_reviewer_fields(kind: ListingKind, actor: User, values: dict, old: dict | None) -> dict:
    values = canonical_values(kind, values)
    if actor.can_review:
        return values
    for name in kind.reviewer_only:
        if old is not None:
            values[name] = old.get(name)
        else:
            values.pop(name, None)
    if kind.key == "products" and old is not None:
        # An editor only adds or removes their own counties; the others' stay as they were.
        mine = actor.county_ids
        kept = {c for c in old.get("county_ids") or () if c not in mine}
        chosen = {c for c in values.get("county_ids") or () if c in mine}
        values["county_ids"] = sorted(kept | chosen)
    return values


def _check_unique(kind: ListingKind, obj, values: dict) -> None:
    errors = {}
    for name in kind.unique:
        column = getattr(kind.model, name)
        stmt = select(kind.model.id).where(column == values.get(name))
        if obj is not None:
            stmt = stmt.where(kind.model.id != obj.id)
        if values.get(name) and db.session.scalar(stmt.limit(1)) is not None:
            errors[name] = str(_l("This value is already used by another listing."))
    if kind.key == "industry-facts":
        stmt = select(IndustryFact.id).where(
            IndustryFact.product_id == values.get("product_id"),
            IndustryFact.year == values.get("year"),
        )
        if obj is not None:
            stmt = stmt.where(IndustryFact.id != obj.id)
        if db.session.scalar(stmt.limit(1)) is not None:
            errors["year"] = str(_l("This product already has figures for this year."))
    if errors:
        raise FieldErrors(errors)


def slug_for(kind: ListingKind, name_zh: str, name_en: str | None) -> str:
    """A readable, unique address name: the English name, else the pinyin of the Chinese."""
    source = name_en or " ".join(romanize(name_zh or ""))
    base = re.sub(r"[^a-z0-9]+", "-", source.lower()).strip("-")[:80] or kind.key.rstrip("s")
    slug, n = base, 1
    while db.session.scalar(select(kind.model.id).where(kind.model.slug == slug).limit(1)):
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_listing(kind: ListingKind, values: dict, actor: User):
    values = _keep_reviewer_fields(kind, actor, values, None)
    if "slug" in kind.columns and not values.get("slug"):
        values["slug"] = slug_for(kind, values.get("name_zh", ""), values.get("name_en"))
    access.ensure_values_in_scope(actor, kind, values)
    _check_unique(kind, None, values)
    obj = kind.model()
    apply_values(kind, obj, values)
    obj.status = PublicationStatus.DRAFT
    obj.created_by_id = obj.updated_by_id = actor.id
    db.session.add(obj)
    db.session.flush()
    audit.record(
        "create",
        actor,
        object_type=kind.key,
        object_id=obj.id,
        summary=kind.title(obj),
        details=changed_fields(
            {}, {k: v for k, v in kind.current_values(obj).items() if v not in (None, "", [])}
        ),
    )
    return obj


def save_listing(kind: ListingKind, obj, values: dict, actor: User, token: str):
    """Save an edit. An unpublished row is changed in place; a published one gets a private
    revision. A token older than the stored version raises EditConflict, writing nothing."""
    access.ensure_can_edit(actor, kind, obj)
    current = working_values(kind, obj)
    values = _keep_reviewer_fields(kind, actor, values, current)
    if token != edit_token(kind, obj):
        raise EditConflict(mine={**current, **values}, theirs=current)
    access.ensure_values_in_scope(actor, kind, values)
    _check_unique(kind, obj, values)
    changes = changed_fields(current, values)
    if not changes:
        return obj
    try:
        if obj.status == PublicationStatus.PUBLISHED:
            _save_revision(kind, obj, {**current, **values}, actor)
            action = "revise"
        else:
            apply_values(kind, obj, values)
            obj.updated_by_id = actor.id
            action = "update"
        db.session.flush()
    except StaleDataError as race:  # another request won between our read and this write
        raise EditConflict(mine={**current, **values}, theirs=current) from race
    audit.record(
        action,
        actor,
        object_type=kind.key,
        object_id=obj.id,
        summary=kind.title(obj),
        details=changes,
    )
    return obj


def _save_revision(kind: ListingKind, obj, values: dict, actor: User) -> ListingRevision:
    revision = pending_revision(kind, obj)
    if revision is None:
        revision = ListingRevision(
            listing_type=kind.key,
            listing_id=obj.id,
            base_version=obj.version,
            state=RevisionState.DRAFT,
        )
        db.session.add(revision)
    revision.data = json.dumps(values, ensure_ascii=False, sort_keys=True)
    revision.author_id = actor.id
    return revision


# --- reading --------------------------------------------------------------------------------


def get_listing(kind: ListingKind, listing_id: int):
    return db.session.get(kind.model, listing_id)


def listing_page(
    kind: ListingKind, user: User, page: int, status: str = "", per_page: int = 25
) -> Page:
    stmt = select(kind.model).order_by(kind.model.updated_at.desc(), kind.model.id.desc())
    clause = access.scope_clause(user, kind)
    if clause is not None:
        stmt = stmt.where(clause)
    if status in set(PublicationStatus):
        stmt = stmt.where(kind.model.status == PublicationStatus(status))
    return paginate(stmt, page, per_page)


def pending_ids(kind: ListingKind, ids: list[int]) -> dict[int, ListingRevision]:
    """Pending revisions of the listed rows, for the list's status column."""
    if not ids:
        return {}
    revisions = db.session.scalars(
        select(ListingRevision).where(
            ListingRevision.listing_type == kind.key,
            ListingRevision.listing_id.in_(ids),
            ListingRevision.state.in_(PENDING),
        )
    )
    return {r.listing_id: r for r in revisions}
