"""Bulk import and export of listings as CSV or XLSX, for county officials: the import plan.

    template(kind, fmt)                           -> BulkFile   (empty file + help sheet)
    export_listings(kind, actor, fmt)             -> BulkFile   (what the actor may edit)
    dry_run(kind, data, actor)                    -> ImportPlan (nothing written)
    import_listings(kind, data, actor)            -> ImportPlan
        (all rows or none: raises ImportRefused carrying the plan when any row is wrong)

`kind` is a listing kind with bulk files (all six: `bulk_key` in the registry); its columns
are the registry's fields that name a file column. `fmt` is "csv" or "xlsx". Reading and
writing the files is app/services/spreadsheets.py.

Rules: rows are matched on the kind's natural key (product slug, enterprise credit code, a
sign's product, regime and number, an authorization's number, a brand's slug, an industry
fact's product and year) and only differing fields are written, so importing the same file
twice, or an export, changes nothing. Every row is checked and written by the listing
services, as a form save is: the same access check, audit and revision rules (new rows are
drafts). A change to a published listing is refused unless `revise_published` is set, in
which case it becomes the listing's pending revision: nothing goes public by import.
Columns left out of a file are left alone. A row names other listings only once they are
saved (see "reference data" below; the template's notes say so); codes and numbers are
normalised as /verify reads them (app/text_input.normalize_code).
Row numbers are the spreadsheet's (the header is row 1). Plain functions: no request; import
flushes inside a savepoint and the caller commits.
"""

import enum
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from app.db import db
from app.labels import TABLES as LABELS
from app.models import Category, County, Enterprise, GISign, Product, PublicationStatus
from app.models.enterprises import is_valid_credit_code, normalize_credit_code
from app.models.partial_date import PartialDate
from app.models.users import User
from app.params import SLUG_PATTERN
from app.services import access, listings
from app.services.listings import ListingField, ListingKind
from app.services.spreadsheets import (
    CHOICE,
    CODE,
    CONTROL,
    DATE,
    FORMATS,
    MIMETYPES,
    MONTHS,
    PHONE,
    REFERENCE,
    TEXT,
    BulkError,
    FieldError,
    SheetColumn,
    Table,
    csv_bytes,
    excel_damage,
    file_error,
    read_table,
    xlsx_bytes,
)
from app.text_input import CodeKind, UnstorableText, check_storable, normalize_code

MAX_TEXT = 20000  # a Text column: still bounded, as in the form
_SLUG = re.compile(SLUG_PATTERN)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LIST_SEPARATORS = re.compile(r"\s*[;,；，、\n]\s*")
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
# Exported for information (so officials see drafts), ignored on import: status only
# changes through review.
STATUS_COLUMN = "status"

KINDS: dict[str, ListingKind] = {k: kind for k, kind in listings.KINDS.items() if kind.bulk_key}


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row number (header = 1)
    field: str | None  # column name, None for the row as a whole
    message: Any  # lazy translation


@dataclass
class RowPlan:
    row: int
    key: str
    action: str  # "create", "update" or "unchanged"
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # column: (old, new)
    published: bool = False  # an update becomes a revision for review


@dataclass
class ImportPlan:
    kind: str
    rows: list[RowPlan] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)


class ImportRefused(BulkError):
    """Some rows are wrong: nothing was imported. `plan.errors` lists them."""

    def __init__(self, plan: ImportPlan) -> None:
        super().__init__(
            "rows_invalid",
            _l("Nothing was imported: correct the rows listed and upload the file again."),
        )
        self.plan = plan


@dataclass(frozen=True)
class BulkFile:
    data: bytes
    mimetype: str
    filename: str


# --- reference data and cell parsers ----------------------------------------------------------
#
# A row names other listings the way officials read them: a product by its address name or
# name, an enterprise by its credit code, a GI sign by its number (or product|regime where the
# number is missing or shared). Only listings already saved can be named (drafts included): a
# file holds one kind, so the listing a row names is always in another file, imported before
# (products and enterprises, then signs, then authorizations, brands and industry facts).

AMBIGUOUS = object()  # an index entry that several rows share
SIGN_REFERENCE_SEPARATOR = "|"
_SIGN_REFERENCE_PARTS = re.compile(r"\s*[|｜]\s*")


class Lookups:
    """Reference data, loaded once per file (listings only when the kind's columns name
    them): rows name categories, counties, products, enterprises and GI signs."""

    def __init__(self) -> None:
        self.category_rows: list[Category] = sorted(
            db.session.scalars(select(Category)), key=lambda c: c.sort_order
        )
        self.county_rows: list[County] = sorted(
            db.session.scalars(select(County)), key=lambda c: c.sort_order
        )
        self.categories = _index(self.category_rows, ("slug", "name_zh", "name_en"))
        self.counties = _index(self.county_rows, ("slug", "code", "name_zh", "name_en"))
        self._by_id: dict[type | None, dict[int, str]] = {}

    @cached_property
    def product_rows(self) -> list[Product]:
        return list(db.session.scalars(select(Product).order_by(Product.slug)))

    @cached_property
    def product_slugs(self) -> dict[str, Product]:
        return {p.slug: p for p in self.product_rows}

    @cached_property
    def product_names(self) -> dict[str, Any]:
        """Chinese or English name (lower case) -> product, or AMBIGUOUS for a name two
        products share."""
        return _index(self.product_rows, ("name_zh", "name_en"), unique=True)

    @cached_property
    def enterprises(self) -> dict[str, Enterprise]:
        return {e.credit_code: e for e in db.session.scalars(select(Enterprise))}

    @cached_property
    def sign_rows(self) -> list[GISign]:
        query = select(GISign).options(selectinload(GISign.product)).order_by(GISign.id)
        return list(db.session.scalars(query))

    @cached_property
    def sign_references(self) -> dict[int, str]:
        """sign id -> the shortest text that names it alone: its number, else
        product|regime, else product|regime|number (what an export writes)."""
        numbers = Counter(_number(s.number) for s in self.sign_rows)
        pairs = Counter((s.product_id, str(s.regime)) for s in self.sign_rows)
        references = {}
        for sign in self.sign_rows:
            number = _number(sign.number)
            parts = [sign.product.slug, str(sign.regime)]
            if number and numbers[number] == 1:
                parts = [number]
            elif number and pairs[(sign.product_id, str(sign.regime))] > 1:
                parts.append(number)
            references[sign.id] = SIGN_REFERENCE_SEPARATOR.join(parts)
        return references

    @cached_property
    def _names(self) -> dict[type | None, Callable[[], dict[int, str]]]:
        return {
            Category: lambda: {c.id: c.slug for c in self.category_rows},
            County: lambda: {c.id: c.slug for c in self.county_rows},
            Product: lambda: {p.id: p.slug for p in self.product_rows},
            Enterprise: lambda: {e.id: code for code, e in self.enterprises.items()},
            GISign: lambda: self.sign_references,
        }

    def refer(self, model: type | None, row_id: int) -> str:
        """How a file names the row `row_id` of `model` (what the column's parser reads)."""
        if model not in self._by_id:
            self._by_id[model] = self._names[model]()
        return self._by_id[model][row_id]


def _index(objects, fields, unique: bool = False) -> dict[str, Any]:
    index: dict[str, Any] = {}
    for obj in objects:
        for name in fields:
            value = getattr(obj, name)
            if value:
                key = str(value).strip().lower()
                if unique and index.get(key, obj) is not obj:
                    index[key] = AMBIGUOUS
                index.setdefault(key, obj)
    return index


def _number(value: str | None) -> str | None:
    """A printed number as /verify reads it (app/text_input.normalize_code); None if empty."""
    return normalize_code(value, CodeKind.REFERENCE) or None if value else None


def text(max_length: int, required: bool = False, nullable: bool = True):
    def parse(value: str, _lookups) -> str | None:
        value = CONTROL.sub("", value)
        if not value:
            if required:
                raise FieldError(_l("This field is required."))
            return None if nullable else ""
        if len(value) > max_length:
            raise FieldError(_l("Too long: at most %(max)s characters.", max=max_length))
        return value

    return parse


def slug(value: str, _lookups) -> str:
    if not value:
        raise FieldError(_l("This field is required."))
    value = value.lower()
    if not _SLUG.match(value) or len(value) > 96:
        raise FieldError(_l("Use lower-case letters, digits and hyphens, e.g. wenchang-chicken."))
    return value


def boolean(value: str, _lookups) -> bool:
    lowered = value.lower()
    if lowered in ("", "no", "n", "false", "0", "否", "不是"):
        return False
    if lowered in ("yes", "y", "true", "1", "是"):
        return True
    raise FieldError(_l("Write yes or no."))


def months(value: str, _lookups) -> list[int]:
    chosen: set[int] = set()
    for part in filter(None, _LIST_SEPARATORS.split(value)):
        bounds = part.split("-", 1)
        try:
            first, last = int(bounds[0]), int(bounds[-1])
        except ValueError:
            first = last = 0
        if not 1 <= first <= last <= 12:
            raise FieldError(_l("Months are numbers from 1 to 12, e.g. 3;4;5 or 3-5."))
        for month in range(first, last + 1):
            chosen.add(month)
    return sorted(chosen)


def category(value: str, lookups: Lookups) -> int:
    found = lookups.categories.get(value.lower())
    if found is None:
        raise FieldError(_l("Unknown category “%(value)s”.", value=value[:60]))
    return found.id


def county_list(value: str, lookups: Lookups) -> list[int]:
    counties = []
    for part in filter(None, _LIST_SEPARATORS.split(value)):
        found = lookups.counties.get(part.lower())
        if found is None:
            raise FieldError(_l("Unknown county “%(value)s”.", value=part[:60]))
        if found.id not in counties:
            counties.append(found.id)
    return counties


def one_county(value: str, lookups: Lookups) -> int:
    counties = county_list(value, lookups)
    if len(counties) != 1:
        raise FieldError(_l("Give exactly one county."))
    return counties[0]


def credit_code(value: str, _lookups) -> str:
    code = normalize_credit_code(value)
    if not code:
        raise FieldError(_l("This field is required."))
    if not is_valid_credit_code(code):
        raise FieldError(
            _l(
                "This is not a valid unified social credit code "
                "(18 characters, with a check character)."
            )
        )
    return code


def website(value: str | None) -> str | None:
    if value and not re.match(r"^https?://[^\s/]+\.[^\s]+$", value, re.IGNORECASE):
        raise FieldError(_l("A website address starts with http:// or https://."))
    return value


def email(value: str | None) -> str | None:
    if value and not _EMAIL.match(value):
        raise FieldError(_l("This is not a valid e-mail address."))
    return value


def product(value: str, lookups: Lookups) -> int:
    """A product by its slug, else by its Chinese or English name."""
    found = lookups.product_slugs.get(value.lower()) or lookups.product_names.get(value.lower())
    if found is AMBIGUOUS:
        raise FieldError(
            _l("Several products are called “%(value)s”: give the address name.", value=value[:60])
        )
    if found is None:
        raise FieldError(
            _l(
                "No product “%(value)s”. Name a saved product by its address name or name "
                "(import the products first).",
                value=value[:60],
            )
        )
    return found.id


def product_list(value: str, lookups: Lookups) -> list[int]:
    chosen = [product(part, lookups) for part in filter(None, _LIST_SEPARATORS.split(value))]
    return list(dict.fromkeys(chosen))


def enterprise(value: str, lookups: Lookups) -> int:
    code = credit_code(value, lookups)
    found = lookups.enterprises.get(code)
    if found is None:
        raise FieldError(
            _l(
                "No enterprise with the credit code %(code)s (import the enterprises first).",
                code=code,
            )
        )
    return found.id


def sign(value: str, lookups: Lookups) -> int:
    """A GI sign by its number, by product|regime, or by product|regime|number (also by a
    product alone, when it has one sign)."""
    parts = [p for p in _SIGN_REFERENCE_PARTS.split(value) if p]
    candidates = lookups.sign_rows
    if len(parts) == 1 and any(_number(s.number) == _number(parts[0]) for s in candidates):
        candidates = [s for s in candidates if _number(s.number) == _number(parts[0])]
    elif parts:
        try:
            product_id = product(parts[0], lookups)
        except FieldError:
            product_id = None
        candidates = [s for s in candidates if s.product_id == product_id]
        for part in parts[1:]:
            candidates = [s for s in candidates if _names_sign(s, part)]
    if len(candidates) == 1:
        return candidates[0].id
    if not candidates or not parts:
        raise FieldError(
            _l(
                "No GI sign “%(value)s”. Name a saved sign by its number, or by product|regime "
                "(e.g. wenchang-chicken|cnipa_gi_product).",
                value=value[:80],
            )
        )
    raise FieldError(
        _l(
            "“%(value)s” names %(count)s GI signs: write one of %(choices)s.",
            value=value[:80],
            count=len(candidates),
            choices=", ".join(lookups.sign_references[s.id] for s in candidates[:5]),
        )
    )


def _names_sign(candidate: GISign, part: str) -> bool:
    return part.lower() == str(candidate.regime) or _number(part) == _number(candidate.number)


def option(enum_class: type[enum.Enum]) -> Callable[[str, Lookups], str]:
    """One value of an enum: its value, or its label in Chinese or English."""

    def parse(value: str, _lookups) -> str:
        for member in enum_class:
            if value.lower() in _option_names(member):
                return str(member.value)
        raise FieldError(
            _l(
                "Unknown value “%(value)s”: use one of %(choices)s.",
                value=value[:60],
                choices=", ".join(str(m.value) for m in enum_class),
            )
        )

    return parse


def _option_names(member: enum.Enum) -> set[str]:
    names = {str(member.value).lower()}
    label = LABELS.get(type(member).__name__, {}).get(member.value)
    if label is not None:
        for locale in current_app.config["LANGUAGES"]:
            with force_locale(locale):
                names.add(str(label).strip().lower())
    return names


def whole_number(bounds: tuple[int, int] | None):
    def parse(value: str, _lookups) -> int:
        digits = value.replace(",", "").replace(" ", "")
        if not re.fullmatch(r"[+-]?\d+", digits):
            raise FieldError(_l("Write a whole number."))
        number = int(digits)
        if bounds and not bounds[0] <= number <= bounds[1]:
            raise FieldError(
                _l("Enter a number between %(min)s and %(max)s.", min=bounds[0], max=bounds[1])
            )
        return number

    return parse


MAX_DECIMAL = Decimal("999999999999.99")  # Numeric(14, 2), as the form's limit


def decimal_number(value: str, _lookups) -> str:
    digits = value.replace(" ", "")
    if _GROUPED.match(digits):  # 1,234.5: grouping only
        digits = digits.replace(",", "")
    try:
        number = Decimal(digits)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise FieldError(_l("Write a number, e.g. 1234.5."))
    if not 0 <= number <= MAX_DECIMAL:
        raise FieldError(_l("Enter a number between %(min)s and %(max)s.", min=0, max=MAX_DECIMAL))
    if number != number.quantize(Decimal("0.01")):
        raise FieldError(_l("At most two decimal places."))
    return str(number)


def calendar_date(value: str, _lookups) -> str:
    """2024-01-15, 2024/1/15, 2024.1.15 or 2024年1月15日 -> 2024-01-15."""
    match = _DATE.match(value)
    try:
        if match is None:
            raise ValueError(value)
        return date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        raise FieldError(_l("Write the date as YYYY-MM-DD, e.g. 2024-01-15.")) from None


def reference(max_length: int):
    def parse(value: str, lookups) -> str | None:
        return _number(text(max_length)(value, lookups))

    return parse


# --- columns: derived from the listing kind's fields -----------------------------------------

_EXCEL_KIND = {
    listings.CREDIT_CODE: CODE,
    listings.PHONE: PHONE,
    listings.MONTHS: MONTHS,
    listings.CHOICE: CHOICE,
    listings.CHOICES: CHOICE,
    listings.FLAG: CHOICE,
    listings.REFERENCE: REFERENCE,
    listings.DATE: DATE,
}
# How Excel treats a column naming another listing: by its code, its number or a list value.
_EXCEL_KIND_OF_REFERENCE: dict[type | None, str] = {Enterprise: CODE, GISign: REFERENCE}
_CHOICE_LISTS: dict[type | None, str] = {
    Category: "categories",
    County: "counties",
    Product: "products",
}
_PARSE_REFERENCE: dict[type | None, Callable[[str, Lookups], Any]] = {
    Category: category,
    County: one_county,
    Product: product,
    Enterprise: enterprise,
    GISign: sign,
}
_PARSE_REFERENCES: dict[type | None, Callable[[str, Lookups], Any]] = {
    County: county_list,
    Product: product_list,
}


@dataclass(frozen=True)
class Column:
    """A file column: a listing field that names one (`ListingField.column`)."""

    kind: ListingKind
    field: ListingField

    @property
    def name(self) -> str:
        return self.field.column or ""

    @property
    def required(self) -> bool:
        return self.field.required or self.field.name in self.kind.bulk_key

    @property
    def help(self):
        return self.field.help or self.field.label

    @property
    def enum_class(self) -> type[enum.Enum] | None:
        """A CHOICE of fixed values (regime, status…): the column's enum."""
        if self.field.widget != listings.CHOICE or self.field.related is not None:
            return None
        kind = self.kind.model.__table__.columns[self.field.name].type
        return getattr(kind, "enum_class", None)

    @property
    def excel_kind(self) -> str:
        """How Excel treats it: the template's cell format and the import's damage checks."""
        by_reference = _EXCEL_KIND_OF_REFERENCE.get(self.field.related_model)
        return by_reference or _EXCEL_KIND.get(self.field.widget, TEXT)

    @property
    def choices(self) -> str | None:
        """CHOICE: the list a template cell offers (several values: no list)."""
        if self.field.widget == listings.FLAG:
            return "yes_no"
        if self.enum_class is not None:
            return self.enum_class.__name__
        if self.field.widget == listings.CHOICE:
            return _CHOICE_LISTS.get(self.field.related_model)
        return None

    def parse(self, value: str, lookups: Lookups) -> Any:
        """Cell text -> the field's plain value; raises FieldError."""
        widget, related = self.field.widget, self.field.related_model
        if widget == listings.SLUG:
            return slug(value, lookups)
        if widget == listings.FLAG:
            return boolean(value, lookups)
        if widget == listings.MONTHS:
            return months(value, lookups)
        if widget == listings.CREDIT_CODE:
            return credit_code(value, lookups)
        if widget == listings.CHOICES:
            return _PARSE_REFERENCES[related](value, lookups)
        if not value and widget in _NOT_TEXT:
            return self._empty()
        if widget == listings.CHOICE:
            enum_class = self.enum_class
            parse = option(enum_class) if enum_class else _PARSE_REFERENCE[related]
            return parse(value, lookups)
        if widget == listings.NUMBER:
            return whole_number(self.field.bounds)(value, lookups)
        if widget == listings.DECIMAL:
            return decimal_number(value, lookups)
        if widget == listings.DATE:
            return calendar_date(value, lookups)
        column = self.kind.model.__mapper__.columns[self.field.name]
        length = getattr(column.type, "length", None) or MAX_TEXT
        if widget == listings.REFERENCE:
            return self._required(reference(length)(value, lookups))
        value = text(length, self.field.required, bool(column.nullable))(value, lookups)
        if widget == listings.URL:
            return website(value)
        if widget == listings.EMAIL:
            return email(value)
        return value

    def _empty(self) -> Any:
        """An empty cell of a column that is not text: refused when required, else the
        column's default (a new sign is valid unless the file says otherwise) or None."""
        if self.field.required:
            raise FieldError(_l("This field is required."))
        default = self.kind.model.__table__.columns[self.field.name].default
        value = getattr(default, "arg", None)
        return listings._to_plain(value) if value is not None and not callable(value) else None

    def _required(self, value: Any) -> Any:
        if value is None and self.field.required:
            raise FieldError(_l("This field is required."))
        return value

    def export(self, value: Any, lookups: Lookups) -> str:
        """A plain value -> cell text (what parse reads back)."""
        if value is None:
            return ""
        widget, related = self.field.widget, self.field.related_model
        if widget == listings.FLAG:
            return "yes" if value else "no"
        if widget == listings.MONTHS:
            return ";".join(str(m) for m in value)
        if widget == listings.CHOICES:
            return ";".join(lookups.refer(related, i) for i in value)
        if widget == listings.CHOICE and self.enum_class is None:
            return lookups.refer(related, value)
        if widget == listings.DECIMAL:  # 18000, not the plain value's 1.8E+4
            return format(Decimal(value), "f")
        return str(value)


_NOT_TEXT = (listings.CHOICE, listings.NUMBER, listings.DECIMAL, listings.DATE)


def columns(kind: ListingKind) -> tuple[Column, ...]:
    """The kind's file columns, the matching key first."""
    return tuple(Column(kind, f) for f in kind.bulk_fields)


def sheet_columns(kind: ListingKind) -> list[SheetColumn]:
    """(name, kind, choices) of every column of the file, status included."""
    return [SheetColumn(c.name, c.excel_kind, c.choices) for c in columns(kind)] + [
        SheetColumn(STATUS_COLUMN, CHOICE, "statuses")
    ]


def _kind(name: str) -> ListingKind:
    if name not in KINDS:
        raise ValueError(f"unknown bulk kind: {name}")
    return KINDS[name]


def _column_of(kind: ListingKind, name: str) -> str | None:
    """The file column of a field (None: the field is not in files)."""
    return next((f.column for f in kind.fields if f.name == name), None)


_OWNERS = (County, Product, Enterprise)  # what a listing's counties come from


def _scope_column(kind: ListingKind, values: dict | None = None, actor: User | None = None):
    """The column naming what a row belongs to (its counties, its product, its enterprise),
    where access errors are shown: the first that names something outside the actor's
    counties (a brand's owner or its products), else the first there is."""
    owners = [f for f in kind.bulk_fields if f.related_model in _OWNERS]
    if values is not None and actor is not None:
        for f in owners:
            if f.name in values:
                if kind.scope_of_values({f.name: values[f.name]}) - actor.county_ids:
                    return f.column
    return owners[0].column if owners else None


# --- planning (the dry run) ----------------------------------------------------------------


@dataclass
class _ParsedRow:
    row: int
    values: dict[str, Any]  # field name -> plain value, only for columns present in the file
    existing: Any = None
    changed: tuple[str, ...] = ()  # the fields that differ from the listing

    def key(self, kind: ListingKind) -> tuple:
        """The row's matching key, in the form stored values compare with."""
        return _canonical_key(kind, {name: self.values.get(name) for name in kind.bulk_key})


def _canonical_key(kind: ListingKind, values: dict) -> tuple:
    plain = listings.canonical_values(kind, values)
    return tuple(
        _number(plain[name]) if kind.field(name).widget == listings.REFERENCE else plain[name]
        for name in kind.bulk_key
    )


def dry_run(kind: str, data: bytes, actor: User, *, revise_published: bool = False) -> ImportPlan:
    """Check every row and say what an import would do; writes nothing. Raises BulkError
    when the file itself is unusable."""
    return _plan(_kind(kind), read_table(data), actor, revise_published)[0]


def _plan(kind: ListingKind, table: Table, actor: User, revise_published: bool):
    file_columns = columns(kind)
    known = {c.name for c in file_columns} | {STATUS_COLUMN}
    unknown = [h for h in table.headers if h not in known]
    if unknown:
        raise file_error("unknown_columns", columns=", ".join(unknown[:10]))
    missing = [c.name for c in file_columns if c.required and c.name not in table.headers]
    if missing:
        raise file_error("missing_columns", columns=", ".join(missing))
    present = [c for c in file_columns if c.name in table.headers]
    plan, parsed = ImportPlan(kind.key), []
    lookups = Lookups()
    with db.session.no_autoflush:
        for number, cells in table.rows:
            row = _ParsedRow(number, {})
            raw = table.raw.get(number, {})
            for column in present:
                try:
                    text = check_storable(cells.get(column.name, ""))
                    cell = excel_damage(column.excel_kind, raw.get(column.name), text)
                    row.values[column.field.name] = column.parse(cell, lookups)
                except (FieldError, UnstorableText) as error:
                    plan.errors.append(RowError(number, column.name, error.message))
            parsed.append(row)
        plan.errors.extend(_twice_in_file(kind, parsed, lookups))
        _attach_existing(kind, parsed)
        for row in parsed:
            if any(e.row == row.row for e in plan.errors):
                continue
            row_plan = _diff(kind, row, lookups)
            # A row that changes nothing needs no permission: an export of a county that
            # includes a product shared with another county imports cleanly.
            errors = (
                []
                if row_plan.action == "unchanged"
                else _check_row(kind, row, actor, revise_published)
            )
            if errors:
                plan.errors.extend(errors)
            else:
                plan.rows.append(row_plan)
    plan.errors.sort(key=lambda e: e.row)
    return plan, parsed


def _twice_in_file(kind: ListingKind, rows: list[_ParsedRow], lookups: Lookups) -> list[RowError]:
    """A key or another unique value given on two rows of the file."""
    errors = []
    shown = {c.field.name: c for c in columns(kind)}
    checks = [kind.bulk_key] + [(name,) for name in kind.unique if (name,) != kind.bulk_key]
    for names in checks:
        seen: dict[Any, int] = {}
        for row in rows:
            if any(name not in row.values for name in names):
                continue  # not read (a cell error), or not in the file
            value = row.key(kind) if names == kind.bulk_key else row.values[names[0]]
            if value is None:
                continue
            if value in seen:
                cells = [shown[n].export(row.values[n], lookups) for n in names]
                message = _l(
                    "“%(value)s” appears twice in this file (also row %(row)s).",
                    value=" · ".join(c for c in cells if c),
                    row=seen[value],
                )
                errors.append(RowError(row.row, _column_of(kind, names[-1]), message))
            seen.setdefault(value, row.row)
    return errors


def _attach_existing(kind: ListingKind, rows: list[_ParsedRow]) -> None:
    query: Select = kind.select_rows()
    first = kind.field(kind.bulk_key[0])
    if first.widget != listings.REFERENCE:  # stored numbers are compared normalised
        wanted = {row.values[first.name] for row in rows if row.values.get(first.name)}
        query = query.where(kind.column(first.name).in_(wanted))
    for attr, _model in kind.collections.values():
        query = query.options(selectinload(getattr(kind.model, attr)))
    found: dict[tuple, Any] = {}
    for obj in db.session.scalars(query):
        found.setdefault(_canonical_key(kind, kind.current_values(obj)), obj)
    for row in rows:
        row.existing = found.get(row.key(kind))


def _diff(kind: ListingKind, row: _ParsedRow, lookups: Lookups) -> RowPlan:
    shown = {c.field.name: c for c in columns(kind)}
    key = " · ".join(
        filter(None, (shown[n].export(row.values.get(n), lookups) for n in kind.bulk_key))
    )

    def show(name: str, value: Any) -> Any:
        column = shown[name]
        is_text = column.field.widget in (listings.CHOICE, listings.CHOICES, listings.MONTHS)
        return column.export(value, lookups) if is_text and value is not None else value

    if row.existing is None:
        changes = {shown[n].name: (None, show(n, v)) for n, v in row.values.items()}
        return RowPlan(row.row, key, "create", changes)
    current = kind.current_values(row.existing)
    wanted = listings.canonical_values(kind, row.values)
    row.changed = tuple(n for n, v in wanted.items() if current.get(n) != v)
    changes = {shown[n].name: (show(n, current.get(n)), show(n, wanted[n])) for n in row.changed}
    action = "update" if changes else "unchanged"
    return RowPlan(row.row, key, action, changes, row.existing.is_published)


def _check_row(
    kind: ListingKind, row: _ParsedRow, actor: User, revise_published: bool
) -> list[RowError]:
    """The row's own rules, then the listing services' checks (access, uniqueness)."""
    errors = _row_rules(kind, row, actor)
    if not errors and row.existing is not None and row.existing.is_published:
        if not revise_published:
            message = _l(
                "This listing is published: change it in the back office, where changes "
                "are reviewed before they go public."
            )
            errors = [RowError(row.row, None, message)]
    if errors:
        return errors
    try:
        if row.existing is None:
            listings.check_new(kind, row.values, actor)
        else:
            current = listings.working_values(kind, row.existing)
            listings.check_edit(kind, row.existing, {**current, **_changed(row)}, actor, current)
    except access.AccessDenied as denied:
        return [RowError(row.row, _scope_column(kind), denied.user_message)]
    except listings.FieldErrors as refused:
        return [RowError(row.row, _column_of(kind, n), m) for n, m in refused.errors.items()]
    return []


def _row_rules(kind: ListingKind, row: _ParsedRow, actor: User) -> list[RowError]:
    """What a file can say that the form cannot: counties the form would not offer the
    actor, a province-wide listing from an editor, a product of no county."""
    before = kind.current_values(row.existing) if row.existing is not None else {}
    after = {**before, **row.values}
    counties = kind.scope_of_values(after)
    wide = bool(after.get("province_wide"))
    errors = []
    if kind.key == "products" and not counties and not wide:
        message = _l("Give at least one county, or mark the product province-wide.")
        errors.append(RowError(row.row, "counties", message))
    errors += [RowError(row.row, name, message) for name, message in _dates_disagree(kind, after)]
    if actor.can_review:
        return errors
    if wide or before.get("province_wide"):
        message = _l("Province-wide listings are managed by the provincial office.")
        errors.append(RowError(row.row, "province_wide", message))
    elif counties - kind.scope_of_values(before) - actor.county_ids:
        message = _l("You can only import listings of the counties you manage.")
        errors.append(RowError(row.row, _scope_column(kind, row.values, actor), message))
    return errors


def _dates_disagree(kind: ListingKind, values: dict) -> list[tuple[str, Any]]:
    """Dates that cannot be, as the form refuses them: a sign's approval date (a partial
    date: app/models/partial_date.py), an authorization ending before it starts."""
    if kind.key == "signs":
        try:
            PartialDate(*(values.get(f"approval_{part}") for part in ("year", "month", "day")))
        except ValueError:
            message = _l("This approval date does not exist (a day needs a month, a month a year).")
            return [("approval_day" if values.get("approval_day") else "approval_month", message)]
    if kind.key == "authorizations" and values.get("valid_from") and values.get("valid_to"):
        if values["valid_to"] < values["valid_from"]:
            return [("valid_to", _l("The end date is before the start date."))]
    return []


def _changed(row: _ParsedRow) -> dict:
    return {name: row.values[name] for name in row.changed}


# --- importing ----------------------------------------------------------------------------


def import_listings(
    kind: str, data: bytes, actor: User, *, revise_published: bool = False
) -> ImportPlan:
    """Apply every row or none, each through the listing services as a form save: new rows
    are created as drafts, changes are saved (on a published listing: as its pending
    revision, when `revise_published`). Raises ImportRefused when any row is wrong."""
    listing_kind = _kind(kind)
    plan, parsed = _plan(listing_kind, read_table(data), actor, revise_published)
    if not plan.ok:
        raise ImportRefused(plan)
    actions = {row.row: row.action for row in plan.rows}
    with db.session.begin_nested():  # a failure half-way leaves no row behind
        for row in parsed:
            if actions[row.row] == "create":
                listings.create_listing(listing_kind, row.values, actor)
            elif actions[row.row] == "update":
                state = listings.edit_state(listing_kind, row.existing)
                values = {**state.values, **_changed(row)}
                listings.save_listing(listing_kind, row.existing, values, actor, state.token)
        db.session.flush()
    return plan


# --- templates and exports ------------------------------------------------------------------


def template(kind: str, fmt: str) -> BulkFile:
    """An empty file with the columns (and, in XLSX, a help sheet in the user's language)."""
    return _file(_kind(kind), fmt, [], f"{kind}-template")


def export_listings(kind: str, actor: User, fmt: str) -> BulkFile:
    """The listings the actor may edit, in the import format, by key."""
    listing_kind = _kind(kind)
    model = listing_kind.model
    keys = [listing_kind.column(name) for name in listing_kind.bulk_key]
    query: Select = listing_kind.select_rows().order_by(*keys, model.id)
    for attr, _model in listing_kind.collections.values():
        query = query.options(selectinload(getattr(model, attr)))
    clause = access.scope_clause(actor, listing_kind)
    if clause is not None:
        query = query.where(clause)
    found = db.session.scalars(query).all()
    return _file(listing_kind, fmt, found, f"{kind}-{date.today().isoformat()}")


def _file(kind: ListingKind, fmt: str, found, stem: str) -> BulkFile:
    if fmt not in FORMATS:
        raise ValueError(f"unknown bulk format: {fmt}")
    lookups = Lookups()
    file_columns = columns(kind)
    rows = []
    for obj in found:
        values = kind.current_values(obj)
        cells = [c.export(values[c.field.name], lookups) for c in file_columns]
        rows.append(cells + [obj.status.value])
    if fmt == "csv":
        data = csv_bytes([c.name for c in sheet_columns(kind)], rows)
    else:
        data = xlsx_bytes(
            kind.key,
            rows,
            sheet_columns(kind),
            _choice_values(kind, lookups),
            _help_rows(kind, lookups),
        )
    return BulkFile(data, MIMETYPES[fmt], f"{stem}.{fmt}")


def _choice_values(kind: ListingKind, lookups: Lookups) -> dict[str, list[str]]:
    """The values each list a template cell offers (only the lists the kind's columns use)."""
    lists = {
        "categories": lambda: [c.slug for c in lookups.category_rows],
        "counties": lambda: [c.slug for c in lookups.county_rows],
        "products": lambda: [p.slug for p in lookups.product_rows],
        "yes_no": lambda: ["yes", "no"],
        "statuses": lambda: [status.value for status in PublicationStatus],
    }
    wanted = {c.choices: c.enum_class for c in columns(kind) if c.choices}
    wanted["statuses"] = None  # the status column's
    return {
        name: [str(m.value) for m in enum_class] if enum_class else lists[name]()
        for name, enum_class in wanted.items()
    }


def _help_rows(kind: ListingKind, lookups: Lookups) -> list[list[str]]:
    """The help sheet: each column, the values of the lists, and how rows are matched and
    name other listings."""
    rows = [[str(_l("Column")), str(_l("Required")), str(_l("What to enter"))]]
    for column in columns(kind):
        rows.append([column.name, str(_l("yes")) if column.required else "", str(column.help)])
    status_help = _l(
        "Publication status, for information: ignored on import. New rows start as drafts."
    )
    rows += [[STATUS_COLUMN, "", str(status_help)], []]
    related = {c.field.related_model for c in columns(kind)}
    if Category in related:
        rows.append([str(_l("Categories"))])
        rows += [[c.slug, c.name_zh, c.name_en or ""] for c in lookups.category_rows]
        rows.append([])
    for column in columns(kind):
        if column.enum_class is not None:
            rows.append([column.name, str(column.field.label)])
            labels = LABELS.get(column.enum_class.__name__, {})
            rows += [[str(m.value), str(labels.get(m.value, ""))] for m in column.enum_class]
            rows.append([])
    if Product in related:
        rows.append([str(_l("Products"))])
        rows += [[p.slug, p.name_zh, p.name_en or ""] for p in lookups.product_rows]
        rows.append([])
    rows.append([str(_l("Counties"))])
    rows += [[c.slug, c.name_zh, c.name_en or ""] for c in lookups.county_rows]
    keys = ", ".join(_column_of(kind, name) or name for name in kind.bulk_key)
    rows += [[], [str(_l("Notes"))]] + [[str(note)] for note in _notes(keys)]
    return rows


def _notes(keys: str) -> list[Any]:
    return [
        _l(
            "Rows are matched on %(columns)s: a row matching a saved listing changes only the "
            "cells that differ; any other row creates a draft. All rows are imported, or none.",
            columns=keys,
        ),
        _l(
            "A row names other listings (products, enterprises, GI signs) that are saved "
            "already, drafts included; it cannot name a listing another row of the same file "
            "creates. Import products and enterprises first, then GI signs, then "
            "authorizations, brands and industry facts."
        ),
        _l(
            "Codes and numbers are read as the verification page reads them: full-width "
            "characters, spaces and dash forms are normalised."
        ),
    ]
