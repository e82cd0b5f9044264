"""Editing listings: the six kinds and their editable fields, declared once (the admin form
layout and labels, and the columns of bulk files, follow from them); the fields' values as
plain JSON-able values; checking and saving them (directly on an unpublished row, or as a
private revision of a published one) with optimistic locking, for the form and bulk import
alike; and the lists the back office shows."""

import enum
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ColumnElement, Date, Integer, Numeric, Select, or_, select
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm.exc import StaleDataError

from app.db import db
from app.models.brands import Brand, brand_products
from app.models.enterprises import Authorization, Enterprise
from app.models.industry import IndustryFact
from app.models.listing import PublicationStatus
from app.models.places import County
from app.models.products import Category, Product, product_counties
from app.models.revisions import ListingRevision, RevisionState
from app.models.signs import GISign
from app.models.users import User
from app.search.text import romanize
from app.services import access, audit
from app.services.catalogue import Page, paginate

PENDING = (RevisionState.DRAFT, RevisionState.SUBMITTED)

# The rows a kind edits, and the rows its choice fields point at.
ListingRow = Product | GISign | Brand | Enterprise | Authorization | IndustryFact
ChoiceRow = Category | County | Product | Enterprise | GISign


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


# --- how a field is edited ------------------------------------------------------------------
#
# Each kind declares its fields once, in the order the form shows them. The form layout, the
# columns of bulk files (template, import, export) and the values saved all follow from it.

TEXT = "text"  # a line of text
AREA = "area"  # several lines of text
SLUG = "slug"  # the address name: lower-case letters, digits, hyphens
CHOICE = "choice"  # one value: a related row's id (`related` gives its model) or an enum
CHOICES = "choices"  # several related rows, as a list of ids (`related`: attribute, model)
FLAG = "flag"  # yes or no
NUMBER = "number"  # a whole number
DECIMAL = "decimal"  # a decimal number
DATE = "date"
MONTHS = "months"  # a list of month numbers 1-12
CREDIT_CODE = "credit_code"  # unified social credit code (GB 32100-2015)
PHONE = "phone"
EMAIL = "email"
URL = "url"  # an http(s) address
REFERENCE = "reference"  # an announcement, registration or authorization number (normalize_code)


@dataclass(frozen=True)
class ListingField:
    """One editable field of a listing kind; `name` is its key in the plain values."""

    name: str
    label: object  # lazy translation, shown by the form
    widget: str = TEXT
    # CHOICE: the related model; CHOICES: (relationship attribute, related model).
    related: type[ChoiceRow] | tuple[str, type[ChoiceRow]] | None = None
    # Bulk files: the column's name (None: not in files), whether a new row needs it, help.
    column: str | None = None
    required: bool = False
    help: object = None
    bounds: tuple[int, int] | None = None  # NUMBER: the lowest and highest value accepted

    @property
    def stored_as_column(self) -> bool:
        return self.widget not in (CHOICES, MONTHS)

    @property
    def related_model(self) -> type[ChoiceRow] | None:
        return self.related[1] if isinstance(self.related, tuple) else self.related


def _f(name: str, label: object, widget: str = TEXT, **kwargs: Any) -> ListingField:
    return ListingField(name, label, widget, **kwargs)


def _in_files(name: str, label: object, widget: str = TEXT, **kwargs: Any) -> ListingField:
    """A field that is also a column of bulk files, under its own name."""
    return ListingField(name, label, widget, column=name, **kwargs)


@dataclass(frozen=True)
class ListingKind:
    key: str  # URL segment and the audit log's object type
    model: type[ListingRow]
    label: object
    plural: object
    fields: tuple[ListingField, ...]
    scope_of_values: Callable[[dict], set[int]]
    # The rows whose counties are among these ids (an editor's reach).
    scope_clause: Callable[[set[int]], ColumnElement[bool]]
    # The listing's name in the audit log; called with a row of `model`.
    title: Callable[[Any], str]
    # Only reviewers set these; an editor's save keeps the stored value whatever is posted.
    reviewer_only: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()
    # Bulk files: the fields rows are matched on, together (empty: the kind has no bulk files).
    bulk_key: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> ListingField:
        return next(f for f in self.fields if f.name == name)

    @property
    def columns(self) -> tuple[str, ...]:
        """Fields stored in the row's own columns."""
        return tuple(f.name for f in self.fields if f.stored_as_column)

    @property
    def collections(self) -> dict[str, tuple[str, type[ChoiceRow]]]:
        """values key -> (relationship attribute, related model): lists of ids."""
        return {
            f.name: f.related
            for f in self.fields
            if f.widget == CHOICES and isinstance(f.related, tuple)
        }

    @property
    def plain_lists(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.widget == MONTHS)

    @property
    def form_layout(self) -> tuple[str | tuple[str, str], ...]:
        """The form's rows: a Chinese field and its English twin share a row."""
        rows: list[str | tuple[str, str]] = []
        for name in self.names:
            if name.endswith("_en") and rows and rows[-1] == name[:-3] + "_zh":
                rows[-1] = (name[:-3] + "_zh", name)
            else:
                rows.append(name)
        return tuple(rows)

    @property
    def bulk_fields(self) -> tuple[ListingField, ...]:
        """The columns of bulk files: the matching key first, then in the form's order."""
        in_files = [f for f in self.fields if f.column]
        first = {name: place for place, name in enumerate(self.bulk_key)}
        return tuple(sorted(in_files, key=lambda f: first.get(f.name, len(first))))

    def select_rows(self) -> Select[tuple[ListingRow]]:
        """SELECT of this kind's rows (select() alone would type them as the declarative base:
        it widens a union of models to their common class)."""
        return cast(Select[tuple[ListingRow]], select(self.model))

    def column(self, name: str) -> InstrumentedAttribute[Any]:
        """The model's mapped attribute for a field stored as a column (for queries)."""
        return getattr(self.model, name)

    def current_values(self, obj: ListingRow) -> dict:
        values = {name: _to_plain(getattr(obj, name)) for name in self.columns}
        for key, (attr, _model) in self.collections.items():
            values[key] = sorted(item.id for item in getattr(obj, attr))
        for name in self.plain_lists:
            values[name] = list(getattr(obj, name))
        return values


KINDS: dict[str, ListingKind] = {}


def _register(kind: ListingKind) -> None:
    KINDS[kind.key] = kind


NAME_ZH, NAME_EN = _l("Name (Chinese)"), _l("Name (English)")
DESCRIPTION_ZH, DESCRIPTION_EN = _l("Description (Chinese)"), _l("Description (English)")
# Products and enterprises: the same name and description fields, in forms and in files.
NAMES_IN_FILES = (
    _in_files("name_zh", NAME_ZH, required=True, help=_l("Name in Chinese.")),
    _in_files("name_en", NAME_EN, help=_l("Name in English.")),
)
DESCRIPTIONS_IN_FILES = (
    _in_files("description_zh", DESCRIPTION_ZH, AREA, help=_l("Description in Chinese.")),
    _in_files("description_en", DESCRIPTION_EN, AREA, help=_l("Description in English.")),
)
HOLDER_ZH, HOLDER_EN = _l("Holder (Chinese)"), _l("Holder (English)")
SLUG_LABEL = _l("Address name (slug)")
# Bulk files name other listings by what officials read on them; the listing must be saved
# already (app/services/bulk.py explains why rows cannot name rows of the same file).
PRODUCT_REFERENCE_HELP = _l(
    "The product: its address name (slug) or its name; it must be saved already."
)
ENTERPRISE_REFERENCE_HELP = _l(
    "The enterprise's unified social credit code; it must be saved already."
)
DATE_HELP = _l("A date as YYYY-MM-DD, e.g. 2024-01-15.")
COUNT_BOUNDS = (0, 2_000_000_000)

_register(
    ListingKind(
        key="products",
        model=Product,
        label=_l("Product"),
        plural=_l("Products"),
        fields=(
            *NAMES_IN_FILES,
            _in_files(
                "slug",
                SLUG_LABEL,
                SLUG,
                required=True,
                help=_l(
                    "Identifier in the address: lower-case letters, digits, hyphens. "
                    "Rows are matched on it."
                ),
            ),
            _f(
                "category_id",
                _l("Category"),
                CHOICE,
                related=Category,
                column="category",
                required=True,
                help=_l("Category (identifier or name): see the list below."),
            ),
            _f(
                "county_ids",
                _l("Counties"),
                CHOICES,
                related=("counties", County),
                column="counties",
                help=_l("Counties (identifiers or names), separated by semicolons."),
            ),
            _in_files(
                "province_wide",
                _l("Province-wide"),
                FLAG,
                help=_l("yes or no: produced across the province."),
            ),
            _f("featured", _l("Featured on the home page"), FLAG),
            _in_files(
                "summary_zh", _l("Summary (Chinese)"), AREA, help=_l("One-line summary in Chinese.")
            ),
            _in_files(
                "summary_en", _l("Summary (English)"), AREA, help=_l("One-line summary in English.")
            ),
            *DESCRIPTIONS_IN_FILES,
            _in_files(
                "characteristics_zh",
                _l("Characteristics (Chinese)"),
                AREA,
                help=_l("What makes it special, in Chinese."),
            ),
            _in_files(
                "characteristics_en",
                _l("Characteristics (English)"),
                AREA,
                help=_l("What makes it special, in English."),
            ),
            _f(
                "season_months",
                _l("Season (months)"),
                MONTHS,
                column="season",
                help=_l("Months of the season, e.g. 3;4;5 or 3-5 (empty: unknown)."),
            ),
            # "How to recognise the genuine product" (issue 11), on the product page, the
            # passport and booth posters; a product without any shows no such section.
            _f("cue_packaging_zh", _l("Genuine product: packaging (Chinese)"), AREA),
            _f("cue_packaging_en", _l("Genuine product: packaging (English)"), AREA),
            _f("cue_mark_zh", _l("Genuine product: the official GI mark (Chinese)"), AREA),
            _f("cue_mark_en", _l("Genuine product: the official GI mark (English)"), AREA),
            _f(
                "cue_number_zh",
                _l("Genuine product: where the authorization number is (Chinese)"),
                AREA,
            ),
            _f(
                "cue_number_en",
                _l("Genuine product: where the authorization number is (English)"),
                AREA,
            ),
            _f("cues_demo", _l("These cues are demonstration text"), FLAG),
        ),
        scope_of_values=lambda v: set(v.get("county_ids") or ()),
        scope_clause=lambda mine: Product.id.in_(_products_in(mine)),
        title=lambda o: o.name_zh,
        reviewer_only=("province_wide", "featured"),
        unique=("slug",),
        bulk_key=("slug",),
    )
)
_register(
    ListingKind(
        key="signs",
        model=GISign,
        label=_l("GI sign"),
        plural=_l("GI signs"),
        fields=(
            _f(
                "product_id",
                _l("Product"),
                CHOICE,
                related=Product,
                column="product",
                required=True,
                help=PRODUCT_REFERENCE_HELP,
            ),
            _in_files(
                "regime",
                _l("Regime"),
                CHOICE,
                required=True,
                help=_l("The kind of registration: see the list below."),
            ),
            _in_files("official_name_zh", _l("Official name (Chinese)"), required=True),
            _in_files("official_name_en", _l("Official name (English)")),
            _in_files(
                "number",
                _l("Announcement or registration number"),
                REFERENCE,
                help=_l(
                    "As printed; empty when none has been found. Rows are matched on "
                    "product, regime and number together."
                ),
            ),
            _in_files("approval_year", _l("Approval year"), NUMBER, bounds=(1980, 2100)),
            _in_files("approval_month", _l("Approval month"), NUMBER, bounds=(1, 12)),
            _in_files("approval_day", _l("Approval day"), NUMBER, bounds=(1, 31)),
            _in_files("approval_note", _l("Note on the approval date (officials only)")),
            _in_files("issuing_body_zh", _l("Issuing body (Chinese)")),
            _in_files("issuing_body_en", _l("Issuing body (English)")),
            _in_files("holder_zh", HOLDER_ZH),
            _in_files("holder_en", HOLDER_EN),
            _in_files("protected_area_zh", _l("Protected area (Chinese)"), AREA),
            _in_files("protected_area_en", _l("Protected area (English)"), AREA),
            _f(
                "protected_county_ids",
                _l("Protected counties"),
                CHOICES,
                related=("protected_counties", County),
                column="protected_counties",
                help=_l("Counties (identifiers or names), separated by semicolons."),
            ),
            _in_files("standard", _l("Standard")),
            _in_files("nice_classes", _l("Nice classes")),
            _in_files("sign_status", _l("Status of the sign"), CHOICE),
            _in_files("source", _l("Research sources (officials only)"), AREA),
            _in_files("source_url", _l("Public source address"), URL),
            _in_files("notes", _l("Notes (officials only)"), AREA),
            _f("verified", _l("Details verified"), FLAG),
        ),
        scope_of_values=lambda v: _product_counties(
            [v["product_id"]] if v.get("product_id") else []
        ),
        scope_clause=lambda mine: GISign.product_id.in_(_products_in(mine)),
        title=lambda o: o.official_name_zh,
        reviewer_only=("verified",),
        bulk_key=("product_id", "regime", "number"),
    )
)
_register(
    ListingKind(
        key="brands",
        model=Brand,
        label=_l("Brand"),
        plural=_l("Brands"),
        fields=(
            *NAMES_IN_FILES,
            _in_files(
                "slug",
                SLUG_LABEL,
                SLUG,
                required=True,
                help=_l(
                    "Identifier in the address: lower-case letters, digits, hyphens. "
                    "Rows are matched on it."
                ),
            ),
            _in_files("registration_number", _l("Trademark registration number"), REFERENCE),
            _in_files("nice_class", _l("Nice class"), NUMBER, bounds=(1, 45)),
            _in_files("kind", _l("Kind of brand"), CHOICE, required=True),
            _f(
                "owner_id",
                _l("Owner"),
                CHOICE,
                related=Enterprise,
                column="owner",
                help=ENTERPRISE_REFERENCE_HELP,
            ),
            _in_files("holder_zh", HOLDER_ZH),
            _in_files("holder_en", HOLDER_EN),
            *DESCRIPTIONS_IN_FILES,
            _f(
                "product_ids",
                _l("Products"),
                CHOICES,
                related=("products", Product),
                column="products",
                help=_l(
                    "Products (address names or names), separated by semicolons; each must "
                    "be saved already."
                ),
            ),
        ),
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
        bulk_key=("slug",),
    )
)
_register(
    ListingKind(
        key="enterprises",
        model=Enterprise,
        label=_l("Enterprise"),
        plural=_l("Enterprises"),
        fields=(
            *NAMES_IN_FILES,
            _in_files(
                "slug",
                SLUG_LABEL,
                SLUG,
                required=True,
                help=_l("Identifier in the address: lower-case letters, digits, hyphens."),
            ),
            _in_files(
                "credit_code",
                _l("Unified social credit code"),
                CREDIT_CODE,
                required=True,
                help=_l("Unified social credit code (18 characters). Rows are matched on it."),
            ),
            _f(
                "county_id",
                _l("County"),
                CHOICE,
                related=County,
                column="county",
                required=True,
                help=_l("County (identifier or name)."),
            ),
            _in_files("address_zh", _l("Address (Chinese)"), help=_l("Address in Chinese.")),
            _in_files("address_en", _l("Address (English)"), help=_l("Address in English.")),
            _in_files("phone", _l("Phone"), PHONE, help=_l("Telephone.")),
            _in_files("email", _l("E-mail"), EMAIL, help=_l("E-mail address.")),
            _in_files(
                "website",
                _l("Website"),
                URL,
                help=_l("Website, starting with https:// or http://."),
            ),
            *DESCRIPTIONS_IN_FILES,
        ),
        scope_of_values=lambda v: {v["county_id"]} if v.get("county_id") else set(),
        scope_clause=lambda mine: Enterprise.county_id.in_(mine),
        title=lambda o: o.name_zh,
        unique=("slug", "credit_code"),
        bulk_key=("credit_code",),
    )
)
_register(
    ListingKind(
        key="authorizations",
        model=Authorization,
        label=_l("Authorization"),
        plural=_l("Authorizations"),
        fields=(
            _f(
                "enterprise_id",
                _l("Enterprise"),
                CHOICE,
                related=Enterprise,
                column="enterprise",
                required=True,
                help=ENTERPRISE_REFERENCE_HELP,
            ),
            _f(
                "sign_id",
                _l("GI sign"),
                CHOICE,
                related=GISign,
                column="sign",
                required=True,
                help=_l(
                    "The GI sign: its number, or product|regime (e.g. "
                    "wenchang-chicken|cnipa_gi_product) where the number is missing or shared. "
                    "An export of the signs shows each one's reference; it must be saved "
                    "already."
                ),
            ),
            _in_files(
                "number",
                _l("Authorization number"),
                REFERENCE,
                required=True,
                help=_l("The authorization's number, as printed. Rows are matched on it."),
            ),
            _in_files("valid_from", _l("Valid from"), DATE, help=DATE_HELP),
            _in_files("valid_to", _l("Valid until"), DATE, help=DATE_HELP),
            _in_files("auth_status", _l("Status"), CHOICE),
        ),
        scope_of_values=lambda v: _enterprise_county(v.get("enterprise_id")),
        scope_clause=lambda mine: Authorization.enterprise_id.in_(_enterprises_in(mine)),
        title=lambda o: f"{o.enterprise.name_zh} · {o.sign.official_name_zh}",
        unique=("number",),
        bulk_key=("number",),
    )
)
_register(
    ListingKind(
        key="industry-facts",
        model=IndustryFact,
        label=_l("Industry fact"),
        plural=_l("Industry facts"),
        fields=(
            _f(
                "product_id",
                _l("Product"),
                CHOICE,
                related=Product,
                column="product",
                required=True,
                help=PRODUCT_REFERENCE_HELP,
            ),
            _in_files(
                "year",
                _l("Year"),
                NUMBER,
                required=True,
                bounds=(1950, 2100),
                help=_l("Rows are matched on product and year together."),
            ),
            _in_files("planted_area_mu", _l("Planted area (mu)"), DECIMAL),
            _in_files("herd_size", _l("Herd size"), NUMBER, bounds=COUNT_BOUNDS),
            _in_files("output_tonnes", _l("Output (tonnes)"), DECIMAL),
            _in_files("output_value_cny_10k", _l("Output value (10,000 CNY)"), DECIMAL),
            _in_files("employment", _l("Employment"), NUMBER, bounds=COUNT_BOUNDS),
            _in_files(
                "enterprises_count", _l("Number of enterprises"), NUMBER, bounds=COUNT_BOUNDS
            ),
            _in_files("source", _l("Source"), AREA, required=True),
            _in_files("source_url", _l("Source address"), URL),
        ),
        scope_of_values=lambda v: _product_counties(
            [v["product_id"]] if v.get("product_id") else []
        ),
        scope_clause=lambda mine: IndustryFact.product_id.in_(_products_in(mine)),
        title=lambda o: f"{o.product.name_zh} · {o.year}",
        bulk_key=("product_id", "year"),
    )
)


# --- plain values <-> model attributes -----------------------------------------------------


def _to_plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _from_plain(model: type[ListingRow], name: str, value: Any) -> object:
    column = model.__table__.columns[name]
    if value is None or value == "":
        return None if column.nullable else ("" if _is_text(column) else None)
    kind = column.type
    if isinstance(kind, SAEnum) and kind.enum_class is not None:
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


def _is_text(column: ColumnElement[Any]) -> bool:
    return column.type.python_type is str


def apply_values(kind: ListingKind, obj: ListingRow, values: dict) -> None:
    """Write the values onto the row; keys that are not editable fields are ignored."""
    for name in kind.columns:
        if name in values:
            setattr(obj, name, _from_plain(kind.model, name, values[name]))
    for key, (attr, model) in kind.collections.items():
        if key in values:
            ids = [int(i) for i in values[key] or []]
            items: list[ChoiceRow] = []
            if ids:
                items = list(db.session.scalars(select(model).where(model.id.in_(ids))))
            setattr(obj, attr, items)
    for name in kind.plain_lists:
        if name in values:
            setattr(obj, name, [int(m) for m in values[name] or []])


def changed_fields(before: dict, after: dict) -> dict:
    return {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}


# --- revisions and the version token --------------------------------------------------------


def pending_revision(kind: ListingKind, obj: ListingRow) -> ListingRevision | None:
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


@dataclass(frozen=True)
class EditState:
    """What editing a listing starts from, read once: its pending revision (if any), the
    values the form shows (the revision's, else the row's) and the version token."""

    revision: ListingRevision | None
    values: dict
    token: str


def edit_state(kind: ListingKind, obj: ListingRow) -> EditState:
    revision = pending_revision(kind, obj)
    if revision is None:
        return EditState(None, kind.current_values(obj), str(obj.version))
    return EditState(revision, json.loads(revision.data), f"{obj.version}.{revision.version}")


def working_values(kind: ListingKind, obj: ListingRow) -> dict:
    """What the editing form shows: the pending revision if there is one, else the row."""
    return edit_state(kind, obj).values


def edit_token(kind: ListingKind, obj: ListingRow) -> str:
    """The version a form was loaded at: the row's, plus its pending revision's."""
    return edit_state(kind, obj).token


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


def _check_unique(kind: ListingKind, obj: ListingRow | None, values: dict) -> None:
    errors = {}
    for name in kind.unique:
        column = kind.column(name)
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
    while db.session.scalar(select(kind.model.id).where(kind.column("slug") == slug).limit(1)):
        n += 1
        slug = f"{base}-{n}"
    return slug


def check_new(kind: ListingKind, values: dict, actor: User) -> dict:
    """The values create_listing would store, after the same checks; writes nothing.
    Raises AccessDenied (outside the actor's counties) or FieldErrors."""
    values = _keep_reviewer_fields(kind, actor, values, None)
    if "slug" in kind.columns and not values.get("slug"):
        values["slug"] = slug_for(kind, values.get("name_zh", ""), values.get("name_en"))
    access.ensure_values_in_scope(actor, kind, values)
    _check_unique(kind, None, values)
    return values


def check_edit(
    kind: ListingKind, obj: ListingRow, values: dict, actor: User, current: dict
) -> dict:
    """The values save_listing would store over `current` (the listing's working values),
    after the same checks; writes nothing. Raises AccessDenied or FieldErrors."""
    access.ensure_can_edit(actor, kind, obj)
    values = _keep_reviewer_fields(kind, actor, values, current)
    access.ensure_values_in_scope(actor, kind, values)
    _check_unique(kind, obj, values)
    return values


def create_listing(kind: ListingKind, values: dict, actor: User) -> ListingRow:
    values = check_new(kind, values, actor)
    obj = kind.model()
    apply_values(kind, obj, values)
    obj.status = PublicationStatus.DRAFT
    obj.created_by_id = obj.updated_by_id = actor.id
    db.session.add(obj)
    db.session.flush()
    filled = {k: v for k, v in kind.current_values(obj).items() if v not in (None, "", [])}
    audit.record_listing("create", actor, kind, obj, changed_fields({}, filled))
    return obj


def save_listing(
    kind: ListingKind, obj: ListingRow, values: dict, actor: User, token: str
) -> ListingRow:
    """Save an edit. An unpublished row is changed in place; a published one gets a private
    revision. A token older than the stored version raises EditConflict, writing nothing."""
    access.ensure_can_edit(actor, kind, obj)
    state = edit_state(kind, obj)
    current = state.values
    if token != state.token:
        mine = {**current, **_keep_reviewer_fields(kind, actor, values, current)}
        raise EditConflict(mine=mine, theirs=current)
    values = check_edit(kind, obj, values, actor, current)
    changes = changed_fields(current, values)
    if not changes:
        return obj
    try:
        if obj.status == PublicationStatus.PUBLISHED:
            _save_revision(kind, obj, state.revision, {**current, **values}, actor)
            action = "revise"
        else:
            apply_values(kind, obj, values)
            obj.updated_by_id = actor.id
            action = "update"
        db.session.flush()
    except StaleDataError as race:  # another request won between our read and this write
        raise EditConflict(mine={**current, **values}, theirs=current) from race
    audit.record_listing(action, actor, kind, obj, changes)
    return obj


def _save_revision(
    kind: ListingKind, obj: ListingRow, revision: ListingRevision | None, values: dict, actor: User
) -> ListingRevision:
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


def get_listing(kind: ListingKind, listing_id: int) -> ListingRow | None:
    # session.get() widens the union of models to their common class (as select() does).
    return cast(ListingRow | None, db.session.get(kind.model, listing_id))


def listing_page(
    kind: ListingKind, user: User, page: int, status: str = "", per_page: int = 25
) -> Page:
    stmt = kind.select_rows().order_by(kind.model.updated_at.desc(), kind.model.id.desc())
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


# --- what a public page needs ---------------------------------------------------------------
#
# A listing is submitted and published only once its public page has what it cannot do
# without. The rule is declared here, once per kind, beside the kind registry: the edit
# form's checklist and the refusal of submit and publish (app/services/workflow.py) read it.


def _filled(*names: str) -> Callable[[dict, ListingRow | None], bool]:
    """Met when any of the named values is filled: a text, an id, a non-empty list, a flag
    that is on (ids start at 1; no requirement is a number that may be 0)."""
    return lambda values, _obj: any(bool(values.get(n)) for n in names)


def _has_sign(_values: dict, obj: ListingRow | None) -> bool:
    """A product's page opens with its sign: one that is not archived must exist."""
    if obj is None or obj.id is None:
        return False
    stmt = select(GISign.id).where(
        GISign.product_id == obj.id, GISign.status != PublicationStatus.ARCHIVED
    )
    return db.session.scalar(stmt.limit(1)) is not None


def _number_or_unverified(values: dict, _obj: ListingRow | None) -> bool:
    """The page shows the number, else says it is not yet verified. A sign marked verified
    without a number must name the source it was checked against (many older GI products
    were announced without one: 38 of the 64 seed signs)."""
    return bool(values.get("number") or values.get("source")) or not values.get("verified")


@dataclass(frozen=True)
class Requirement:
    """One thing a kind's public page needs. `field` is the form field the checklist links
    to (None: nothing on this form; `elsewhere` then names the kind whose form provides it)."""

    key: str
    label: object
    met: Callable[[dict, ListingRow | None], bool]
    field: str | None = None
    elsewhere: str | None = None


def _needs(key: str, label: object, *names: str) -> Requirement:
    return Requirement(key, label, _filled(*names), field=names[0])


REQUIREMENTS: dict[str, tuple[Requirement, ...]] = {
    "products": (
        _needs("name", _l("Chinese name"), "name_zh"),
        _needs("description", _l("Chinese description"), "description_zh"),
        _needs("category", _l("Category"), "category_id"),
        _needs("county", _l("A county (or province-wide)"), "county_ids", "province_wide"),
        Requirement("sign", _l("At least one GI sign"), _has_sign, elsewhere="signs"),
    ),
    "signs": (
        _needs("product", _l("Its product"), "product_id"),
        _needs("regime", _l("Regime"), "regime"),
        _needs("name", _l("Official Chinese name"), "official_name_zh"),
        Requirement(
            "number",
            _l("Number, or the source it was verified against, or marked not yet verified"),
            _number_or_unverified,
            field="number",
        ),
    ),
    "brands": (
        _needs("name", _l("Chinese name"), "name_zh"),
        _needs("product", _l("At least one product"), "product_ids"),
        _needs("holder", _l("Holder (or owning enterprise)"), "holder_zh", "owner_id"),
    ),
    "enterprises": (
        _needs("name", _l("Chinese name"), "name_zh"),
        _needs("credit_code", _l("Unified social credit code"), "credit_code"),
        _needs("county", _l("County"), "county_id"),
    ),
    "authorizations": (
        _needs("enterprise", _l("Enterprise"), "enterprise_id"),
        _needs("sign", _l("GI sign"), "sign_id"),
    ),
    "industry-facts": (
        _needs("product", _l("Product"), "product_id"),
        _needs("year", _l("Year"), "year"),
        _needs("source", _l("Source"), "source"),
    ),
}


def checklist(
    kind: ListingKind, values: dict, obj: ListingRow | None
) -> list[tuple[Requirement, bool]]:
    """Each requirement of the kind with whether `values` (the listing's working values;
    `obj` the row, None before it is created) meet it, in declared order."""
    return [(need, need.met(values, obj)) for need in REQUIREMENTS[kind.key]]


def missing_requirements(
    kind: ListingKind, values: dict, obj: ListingRow | None
) -> list[Requirement]:
    """The requirements `values` do not meet (empty: the listing is complete)."""
    return [need for need, met in checklist(kind, values, obj) if not met]
