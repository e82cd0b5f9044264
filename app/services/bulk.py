"""Bulk import and export of listings as CSV or XLSX, for county officials: the import plan.

    template(kind, fmt)                           -> BulkFile   (empty file + help sheet)
    export_listings(kind, actor, fmt)             -> BulkFile   (what the actor may edit)
    dry_run(kind, data, actor)                    -> ImportPlan (nothing written)
    import_listings(kind, data, actor)            -> ImportPlan
        (all rows or none: raises ImportRefused carrying the plan when any row is wrong)

`kind` is a listing kind with bulk files (products, enterprises: `bulk_key` in the
registry); its columns are the registry's fields that name a file column. `fmt` is "csv"
or "xlsx". Reading and writing the files is app/services/spreadsheets.py.

Rules: rows are matched on the kind's natural key (product slug, enterprise credit code) and
only differing fields are written, so importing the same file twice, or an export, changes
nothing. Every row is checked and written by the listing services, as a form save is: the
same access check, audit and revision rules (new rows are drafts). A change to a published
listing is refused unless `revise_published` is set, in which case it becomes the listing's
pending revision: nothing goes public by import. Columns left out of a file are left alone.
Row numbers are the spreadsheet's (the header is row 1). Plain functions: no request; import
flushes inside a savepoint and the caller commits.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from app.db import db
from app.models import Category, County, PublicationStatus
from app.models.enterprises import is_valid_credit_code, normalize_credit_code
from app.models.users import User
from app.params import SLUG_PATTERN
from app.services import access, listings
from app.services.listings import ListingField, ListingKind
from app.services.spreadsheets import (
    CHOICE,
    CODE,
    CONTROL,
    FORMATS,
    MIMETYPES,
    MONTHS,
    PHONE,
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
from app.text_input import UnstorableText, check_storable

MAX_TEXT = 20000  # a Text column: still bounded, as in the form
_SLUG = re.compile(SLUG_PATTERN)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LIST_SEPARATORS = re.compile(r"\s*[;,；，、\n]\s*")
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


class Lookups:
    """Reference data, loaded once per file: rows name categories and counties."""

    def __init__(self) -> None:
        self.category_rows: list[Category] = sorted(
            db.session.scalars(select(Category)), key=lambda c: c.sort_order
        )
        self.county_rows: list[County] = sorted(
            db.session.scalars(select(County)), key=lambda c: c.sort_order
        )
        self.categories = _index(self.category_rows, ("slug", "name_zh", "name_en"))
        self.counties = _index(self.county_rows, ("slug", "code", "name_zh", "name_en"))
        self.slugs: dict[type | None, dict[int, str]] = {
            Category: {c.id: c.slug for c in self.category_rows},
            County: {c.id: c.slug for c in self.county_rows},
        }


def _index(objects, fields) -> dict[str, Any]:
    index: dict[str, Any] = {}
    for obj in objects:
        for name in fields:
            value = getattr(obj, name)
            if value:
                index.setdefault(str(value).strip().lower(), obj)
    return index


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
    if not value:
        raise FieldError(_l("This field is required."))
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


# --- columns: derived from the listing kind's fields -----------------------------------------

_EXCEL_KIND = {
    listings.CREDIT_CODE: CODE,
    listings.PHONE: PHONE,
    listings.MONTHS: MONTHS,
    listings.CHOICE: CHOICE,
    listings.CHOICES: CHOICE,
    listings.FLAG: CHOICE,
}
_CHOICE_LISTS: dict[type | None, str] = {Category: "categories", County: "counties"}


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
        return self.field.required

    @property
    def help(self):
        return self.field.help

    @property
    def excel_kind(self) -> str:
        """How Excel treats it: the template's cell format and the import's damage checks."""
        return _EXCEL_KIND.get(self.field.widget, TEXT)

    @property
    def choices(self) -> str | None:
        """CHOICE: the list a template cell offers (several values: no list)."""
        if self.field.widget == listings.FLAG:
            return "yes_no"
        if self.field.widget == listings.CHOICE:
            return _CHOICE_LISTS.get(self.field.related_model)
        return None

    def parse(self, value: str, lookups: Lookups) -> Any:
        """Cell text -> the field's plain value; raises FieldError."""
        widget = self.field.widget
        if widget == listings.SLUG:
            return slug(value, lookups)
        if widget == listings.FLAG:
            return boolean(value, lookups)
        if widget == listings.MONTHS:
            return months(value, lookups)
        if widget == listings.CREDIT_CODE:
            return credit_code(value, lookups)
        if widget == listings.CHOICES:
            return county_list(value, lookups)
        if widget == listings.CHOICE:
            return (category if self.field.related is Category else one_county)(value, lookups)
        column = self.kind.model.__mapper__.columns[self.field.name]
        length = getattr(column.type, "length", None) or MAX_TEXT
        value = text(length, self.field.required, bool(column.nullable))(value, lookups)
        if widget == listings.URL:
            return website(value)
        if widget == listings.EMAIL:
            return email(value)
        return value

    def export(self, value: Any, lookups: Lookups) -> str:
        """A plain value -> cell text (what parse reads back)."""
        if value is None:
            return ""
        widget = self.field.widget
        if widget == listings.FLAG:
            return "yes" if value else "no"
        if widget == listings.MONTHS:
            return ";".join(str(m) for m in value)
        if widget == listings.CHOICES:
            return ";".join(lookups.slugs[County][i] for i in value)
        if widget == listings.CHOICE:
            return lookups.slugs[self.field.related_model][value]
        return str(value)


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


def _key(kind: ListingKind) -> str:
    """The field rows are matched on."""
    assert kind.bulk_key is not None, "only kinds with bulk files reach here"
    return kind.bulk_key


def _column_of(kind: ListingKind, name: str) -> str | None:
    """The file column of a field (None: the field is not in files)."""
    return next((f.column for f in kind.fields if f.name == name), None)


def _scope_column(kind: ListingKind) -> str | None:
    """The column naming the counties a row belongs to: where access errors are shown."""
    return next((f.column for f in kind.bulk_fields if f.related_model is County), None)


# --- planning (the dry run) ----------------------------------------------------------------


@dataclass
class _ParsedRow:
    row: int
    values: dict[str, Any]  # field name -> plain value, only for columns present in the file
    existing: Any = None
    changed: tuple[str, ...] = ()  # the fields that differ from the listing


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
        plan.errors.extend(_twice_in_file(kind, parsed))
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


def _twice_in_file(kind: ListingKind, rows: list[_ParsedRow]) -> list[RowError]:
    """A key or another unique value given on two rows of the file."""
    errors = []
    for name in dict.fromkeys((_key(kind), *kind.unique)):
        seen: dict[Any, int] = {}
        for row in rows:
            value = row.values.get(name)
            if value is None:
                continue
            if value in seen:
                message = _l(
                    "“%(value)s” appears twice in this file (also row %(row)s).",
                    value=value,
                    row=seen[value],
                )
                errors.append(RowError(row.row, _column_of(kind, name), message))
            seen.setdefault(value, row.row)
    return errors


def _attach_existing(kind: ListingKind, rows: list[_ParsedRow]) -> None:
    key = _key(kind)
    keys = [row.values[key] for row in rows if row.values.get(key) is not None]
    query: Select = select(kind.model).where(getattr(kind.model, key).in_(keys))
    for attr, _model in kind.collections.values():
        query = query.options(selectinload(getattr(kind.model, attr)))
    found = {getattr(obj, key): obj for obj in db.session.scalars(query)}
    for row in rows:
        row.existing = found.get(row.values.get(key))


def _diff(kind: ListingKind, row: _ParsedRow, lookups: Lookups) -> RowPlan:
    key = str(row.values[_key(kind)])
    shown = {c.field.name: c for c in columns(kind)}

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
    return RowPlan(row.row, key, "update" if changes else "unchanged", changes)


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
    if actor.can_review:
        return errors
    if wide or before.get("province_wide"):
        message = _l("Province-wide listings are managed by the provincial office.")
        errors.append(RowError(row.row, "province_wide", message))
    elif counties - kind.scope_of_values(before) - actor.county_ids:
        message = _l("You can only import listings of the counties you manage.")
        errors.append(RowError(row.row, _scope_column(kind), message))
    return errors


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
    query: Select = select(model).order_by(getattr(model, _key(listing_kind)))
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
            kind.key, rows, sheet_columns(kind), _choice_values(lookups), _help_rows(kind, lookups)
        )
    return BulkFile(data, MIMETYPES[fmt], f"{stem}.{fmt}")


def _choice_values(lookups: Lookups) -> dict[str, list[str]]:
    return {
        "categories": [c.slug for c in lookups.category_rows],
        "counties": [c.slug for c in lookups.county_rows],
        "yes_no": ["yes", "no"],
        "statuses": [status.value for status in PublicationStatus],
    }


def _help_rows(kind: ListingKind, lookups: Lookups) -> list[list[str]]:
    rows = [[str(_l("Column")), str(_l("Required")), str(_l("What to enter"))]]
    for column in columns(kind):
        rows.append([column.name, str(_l("yes")) if column.required else "", str(column.help)])
    status_help = _l(
        "Publication status, for information: ignored on import. New rows start as drafts."
    )
    rows += [[STATUS_COLUMN, "", str(status_help)], []]
    if any(c.choices == "categories" for c in columns(kind)):
        rows.append([str(_l("Categories"))])
        rows += [[c.slug, c.name_zh, c.name_en or ""] for c in lookups.category_rows]
        rows.append([])
    rows.append([str(_l("Counties"))])
    rows += [[c.slug, c.name_zh, c.name_en or ""] for c in lookups.county_rows]
    return rows
