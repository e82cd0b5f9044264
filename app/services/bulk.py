"""Bulk import and export of listings as CSV or XLSX, for county officials.

    template(kind, fmt)                          -> BulkFile      (empty file + help sheet)
    export_listings(kind, county_ids, fmt)       -> BulkFile      (same columns)
    dry_run(kind, data, allowed_county_ids)      -> ImportPlan    (nothing written)
    import_listings(kind, data, allowed_county_ids, user_id=...) -> ImportPlan
        (all rows or none: raises ImportRefused carrying the plan when any row is wrong)

`kind` is "products" or "enterprises"; `fmt` is "csv" or "xlsx"; `allowed_county_ids` is
the set of county ids the user may edit, or None for the provincial office (all counties).
Plain functions: no request; import flushes inside a savepoint and the caller commits.

Rules: rows are matched on natural keys (product slug, enterprise credit code) and only
differing fields are written, so importing the same file twice, or an export, changes
nothing. New rows start as drafts. A change to a published listing is refused unless the
caller passes `on_published` (e.g. to make a revision for review): nothing goes public by
import. Columns left out of a file are left alone. Messages are lazy translations, shown
in the user's language; row numbers are the spreadsheet's (the header is row 1).
"""
import csv
import io
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.db import db
from app.models import Category, County, Enterprise, Product, PublicationStatus, product_counties
from app.models.enterprises import is_valid_credit_code, normalize_credit_code
from app.text_input import UnstorableText, check_storable

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2000
MAX_XLSX_UNCOMPRESSED = 60 * 1024 * 1024  # a zip bomb stops here, before XML parsing
MAX_TEXT = 20000
FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv",  # werkzeug adds "; charset=utf-8" (given here, it came twice)
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection), so
# exports prefix an apostrophe; the apostrophe is itself escaped so the encoding reverses.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LIST_SEPARATORS = re.compile(r"\s*[;,；，、\n]\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --- results and errors -----------------------------------------------------------------


class BulkError(ValueError):
    """The file as a whole cannot be used; `user_message` says why, in the user's language."""

    def __init__(self, code: str, user_message) -> None:
        super().__init__(code)
        self.code = code
        self.user_message = user_message


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
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field: (old, new)


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
        super().__init__("rows_invalid", _l("Nothing was imported: correct the rows listed and upload the file again."))
        self.plan = plan


@dataclass(frozen=True)
class BulkFile:
    data: bytes
    mimetype: str
    filename: str


class FieldError(ValueError):
    def __init__(self, message) -> None:
        super().__init__("field")
        self.message = message


def _file_error(code: str, **params) -> BulkError:
    messages = {
        "empty": _l("The file is empty."),
        "too_large": _l("The file is larger than %(limit)s MB.", **params),
        "too_many_rows": _l(
            "The file has more than %(limit)s rows. Split it into smaller files.", **params
        ),
        "xls": _l("Old Excel files (.xls) are not supported. Save the file as .xlsx or as CSV UTF-8."),
        "damaged": _l("The file could not be read. Save it again as .xlsx or as CSV UTF-8."),
        "encoding": _l(
            "The file's text encoding was not recognised. Save it as CSV UTF-8 (or as .xlsx)."
        ),
        "unknown_columns": _l(
            "Unknown columns: %(columns)s. Use the column names of the template.", **params
        ),
        "missing_columns": _l("Required columns are missing: %(columns)s.", **params),
        "duplicate_columns": _l("These columns appear more than once: %(columns)s.", **params),
        "no_rows": _l("The file has no rows to import."),
    }
    return BulkError(code, messages[code])


# --- reading files -------------------------------------------------------------------------


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (spreadsheet row number, column -> text)
    # What each cell held before it became text (a float, a datetime, or the CSV text):
    # the evidence of Excel's damage, which the text alone no longer shows.
    raw: dict[int, dict[str, Any]] = field(default_factory=dict)


def read_table(data: bytes) -> Table:
    """CSV (UTF-8 with or without BOM, UTF-16, or GBK/GB18030 as Excel saves it in China)
    or XLSX, detected from the content; cells come back as stripped text."""
    if not data:
        raise _file_error("empty")
    if len(data) > MAX_BYTES:
        raise _file_error("too_large", limit=MAX_BYTES // (1024 * 1024))
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _file_error("xls")
    records = _xlsx_records(data) if data.startswith(b"PK\x03\x04") else _csv_records(data)
    header = next(records, None)
    if header is None:
        raise _file_error("no_rows")
    headers = [_unescape(str(h or "").strip()).lower() for h in header]
    rows, raw = [], {}
    for index, record in enumerate(records, start=2):
        record = [_unwrap_formula_text(value) for value in record]
        cells = [_cell_text(value) for value in record]
        if not any(cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise _file_error("too_many_rows", limit=MAX_ROWS)
        rows.append((index, {h: cells[i] if i < len(cells) else "" for i, h in enumerate(headers) if h}))
        raw[index] = {h: record[i] if i < len(record) else None for i, h in enumerate(headers) if h}
    named = [h for h in headers if h]
    duplicates = sorted({h for h in named if named.count(h) > 1})
    if duplicates:
        raise _file_error("duplicate_columns", columns=", ".join(duplicates))
    if not rows:
        raise _file_error("no_rows")
    return Table(named, rows, raw)


def _csv_records(data: bytes) -> Iterable[list[str]]:
    text = _decode(data)
    if "\x00" in text:
        raise _file_error("damaged")
    first_line = text.split("\n", 1)[0]
    delimiter = max(("\t", ",", ";"), key=first_line.count) if first_line else ","
    if first_line.count(delimiter) == 0:
        delimiter = ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        raise _file_error("damaged") from None
    return iter(records)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ("utf-8-sig",)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)  # Excel's "Unicode text"
    else:
        encodings = ("utf-8", "gb18030")  # GB18030 is a superset of GBK and GB2312
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _file_error("encoding")


def _xlsx_records(data: bytes) -> Iterable[tuple]:
    from openpyxl import load_workbook  # imported here: only bulk files need it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_XLSX_UNCOMPRESSED:
                raise _file_error("too_large", limit=MAX_BYTES // (1024 * 1024))
        with warnings.catch_warnings():
            # openpyxl warns about features it drops (data validation, styles): harmless
            warnings.simplefilter("ignore", UserWarning)
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                records = []
                for record in sheet.iter_rows(values_only=True):
                    records.append(record)
                    if len(records) > MAX_ROWS + 1 and any(v not in (None, "") for v in record):
                        raise _file_error("too_many_rows", limit=MAX_ROWS)
            finally:
                workbook.close()
    except BulkError:
        raise
    except Exception:  # openpyxl raises many kinds (zip, XML, KeyError) for broken files
        raise _file_error("damaged") from None
    return iter(records)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return _unescape(str(value).strip())


_FORMULA_TEXT = re.compile(r'^="((?:[^"]|"")*)"$')


def _unwrap_formula_text(value):
    """`="0898..."` is how people (and some exporters) keep digits as text in a CSV for
    Excel: the formula's value is the text, so reading it back is certain."""
    if isinstance(value, str):
        match = _FORMULA_TEXT.match(value.strip())
        if match:
            return match.group(1).replace('""', '"')
    return value


def _unescape(text: str) -> str:
    if text.startswith("'") and text[1:2] and text[1] in FORMULA_TRIGGERS:
        return text[1:]
    return text


def escape_formula(text: str) -> str:
    """Make a cell inert in spreadsheets: '=1+1' is written as \"'=1+1\"."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


# --- column kinds, and what Excel does to them ----------------------------------------------
#
# Excel reads a General cell as a number or a date whenever it can: an 18-digit credit code
# becomes 9.1469E+17 (a number keeps 15 significant digits, the rest are lost), a telephone
# number loses its leading 0, a month range 3-12 becomes 12 March. Each column declares its
# kind once (Column.kind); the template's cell formats and validations and the import's
# damage checks both derive from it.

TEXT = "text"  # free text
CODE = "code"  # a fixed-length identifier of digits and letters (the credit code)
PHONE = "phone"  # telephone numbers: digits whose leading 0 or + matters
MONTHS = "months"  # month lists and ranges (3;4;5, 3-5): Excel reads 3-5 as a date
CHOICE = "choice"  # one value of a list (category, county, yes/no, status)
KEEP_AS_TEXT = (CODE, PHONE, MONTHS)  # kinds Excel damages: the header carries a note

EXCEL_DIGITS = 15  # significant digits an Excel number keeps (IEEE 754 double, as shown)
CREDIT_CODE_LENGTH = 18  # GB 32100-2015
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
_POINT_ZERO = re.compile(r"^(\d+)[.,]0+$")
_THOUSANDS = re.compile(r"^\d{1,3}(?:[,\u00a0 '’]\d{3})+$")  # 13,800,138,000 (and locale variants)
_MOBILE = re.compile(r"^1[3-9]\d{9}$")  # mainland mobile numbers: 11 digits starting with 1
_SERVICE = re.compile(r"^[48]00\d{7}$")  # 400/800 numbers have no leading 0
_TEXT_DATE = re.compile(  # how a re-saved CSV writes a cell Excel turned into a date
    r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?: \d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}/\d{1,2}(?:/\d{2,4})?"
    r"|\d{1,2}[- ][A-Za-z]{3,9}|[A-Za-z]{3,9}[- ]\d{1,2}|\d{1,2}月\d{1,2}日)$"
)
# Excel serial numbers of 1990-01-01 .. 2099-12-31: a month range typed as 3-12 becomes a
# date of the current year; smaller numbers are more likely mistyped months than dates.
_SERIAL_DATES = range(32874, 73051)


def excel_damage(kind: str, raw: Any, text: str) -> str:
    """Undo or refuse what Excel did to a cell of a column of this kind.

    `raw` is what the file stored (float, int, datetime from XLSX; text from CSV), `text`
    the cell as text. Returns the text to parse, repaired where the original is certain
    (13800138000.0 -> 13800138000); raises FieldError saying what Excel did and how to
    fix it where it is not (digits lost in 9.1469E+17, a dropped leading 0)."""
    if isinstance(raw, bool) or raw is None:
        return text
    if isinstance(raw, (datetime, date, time)):
        raise FieldError(_date_damage(kind, raw))
    if isinstance(raw, (int, float)):
        return _number_damage(kind, raw, text)
    return _text_damage(kind, text)


def _date_damage(kind: str, value: date | time):
    shown = value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
    if kind == MONTHS and isinstance(value, date):
        return _l(
            "Excel turned this month range into a date (%(date)s; probably “%(guess)s”). "
            "Write the months with semicolons, e.g. 3;4;5, or format the column as Text and type the range again.",
            date=shown, guess=f"{value.month}-{value.day}",
        )
    return _l(
        "Excel turned this value into a date or time (%(date)s): the original text is lost. "
        "Format the column as Text and type the value again.", date=shown,
    )


def _number_damage(kind: str, number: float, text: str) -> str:
    shown = f"{number:.6G}" if abs(number) >= 10**EXCEL_DIGITS else text
    if kind == CODE:
        raise FieldError(_code_is_number(shown))
    if isinstance(number, float) and not number.is_integer():
        if kind == PHONE:
            raise FieldError(_l("Excel stored this telephone number as a number with decimals (%(shown)s). Format the column as Text and type the number again.", shown=text))
        return text
    if len(str(abs(int(number)))) > EXCEL_DIGITS:
        raise FieldError(_l(
            "Excel stored this as a number (%(shown)s) and kept only its first 15 digits: the rest are lost. "
            "Format the column as Text and type or paste the value again.", shown=shown,
        ))
    if kind == PHONE:
        return _phone_digits(str(int(number)))
    if kind == MONTHS and int(number) in _SERIAL_DATES:
        raise FieldError(_serial_date(int(number)))
    return text


def _text_damage(kind: str, text: str) -> str:
    if kind in (CODE, PHONE) and _SCIENTIFIC.match(text):
        raise FieldError(_l(
            "Excel showed this number in scientific notation (%(shown)s) and saved it that way: its digits are lost. "
            "Format the column as Text and type or paste the value again.", shown=text,
        ))
    if kind == CODE:
        return _code_damage(text)
    if kind == PHONE:
        match = _POINT_ZERO.match(text)
        if match:  # 13800138000.0: the number was whole, nothing was lost
            return _phone_digits(match.group(1))
        if _THOUSANDS.match(text):  # 13,800,138,000: grouping only, digits intact
            return _phone_digits(re.sub(r"\D", "", text))
        return _phone_digits(text) if _ascii_digits(text) else text
    if kind == MONTHS:
        if _TEXT_DATE.match(text):
            raise FieldError(_l(
                "Excel turned this month range into a date (%(date)s). Write the months with semicolons, "
                "e.g. 3;4;5, or format the column as Text and type the range again.", date=text,
            ))
        if _ascii_digits(text) and int(text) in _SERIAL_DATES:
            raise FieldError(_serial_date(int(text)))
    return text


def _code_damage(text: str) -> str:
    if _POINT_ZERO.match(text) or _THOUSANDS.match(text):
        raise FieldError(_code_is_number(text))
    if _ascii_digits(text) and len(text) != CREDIT_CODE_LENGTH:
        raise FieldError(_l(
            "A unified social credit code has 18 characters; this one has %(count)s digits. If Excel "
            "showed it as a number, format the column as Text and type the code again.", count=len(text),
        ))
    if _ascii_digits(text) and text.endswith("000") and not is_valid_credit_code(text):
        raise FieldError(_l(
            "This code ends in zeros and its check character does not match: Excel probably rounded it "
            "to 15 digits. Format the column as Text and paste the code again.",
        ))
    return text


def _ascii_digits(text: str) -> bool:
    """Digits as Excel writes them; full-width digits are typed by people, not by Excel
    (their normalisation is the code normaliser's job, in parse)."""
    return text.isascii() and text.isdigit()


def _code_is_number(shown: str):
    return _l(
        "Excel stored this code as a number (%(shown)s): a number keeps only 15 digits and no letters, "
        "so the code cannot be recovered. Format the column as Text (the XLSX template already is) and "
        "paste the code again.", shown=shown,
    )


def _phone_digits(digits: str) -> str:
    """A telephone number of digits only, refused when Excel evidently dropped its leading
    0 (0898-6532 1234 -> 89865321234) or + (+86 ...): mobile (1xx, 11 digits), 400/800
    and local numbers (at most 8 digits) never start with 0."""
    if digits.startswith("0") or len(digits) <= 8 or _MOBILE.match(digits) or _SERVICE.match(digits):
        return digits
    if len(digits) in (12, 13) and digits.startswith("86"):
        raise FieldError(_l(
            "Excel dropped the + of this international number (probably +%(guess)s). "
            "Format the column as Text and type the number again with its +.", guess=digits,
        ))
    if len(digits) <= 11:
        raise FieldError(_l(
            "Excel dropped the leading 0 of this telephone number (probably 0%(guess)s). "
            "Format the column as Text and type the number again with its 0.", guess=digits,
        ))
    return digits


def _serial_date(number: int):
    from openpyxl.utils.datetime import from_excel

    return _l(
        "This looks like a date Excel stored as its serial number (%(number)s = %(date)s). "
        "Format the column as Text and type the value again.",
        number=number, date=from_excel(number).date().isoformat(),
    )


# --- columns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    attr: str
    parse: Callable[[str, "Lookups"], Any]  # text -> model value, raises FieldError
    export: Callable[[Any], str]  # listing -> text
    help: Any
    required: bool = False
    kind: str = TEXT  # how Excel treats it: template format and import damage checks
    choices: str | None = None  # CHOICE: the list a template cell offers (see _choice_lists)


class Lookups:
    """Reference data, loaded once per file: rows name categories and counties."""

    def __init__(self) -> None:
        self.categories = _index(db.session.scalars(select(Category)), ("slug", "name_zh", "name_en"))
        self.counties = _index(db.session.scalars(select(County)), ("slug", "code", "name_zh", "name_en"))


def _index(objects, fields) -> dict[str, Any]:
    index = {}
    for obj in objects:
        for name in fields:
            value = getattr(obj, name)
            if value:
                index.setdefault(str(value).strip().lower(), obj)
    return index


def text(max_length: int, required: bool = False, nullable: bool = True):
    def parse(value: str, _lookups) -> str | None:
        value = _CONTROL.sub("", value)
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


def months(value: str, _lookups) -> int:
    mask = 0
    for part in filter(None, _LIST_SEPARATORS.split(value)):
        bounds = part.split("-", 1)
        try:
            first, last = int(bounds[0]), int(bounds[-1])
        except ValueError:
            first = last = 0
        if not 1 <= first <= last <= 12:
            raise FieldError(_l("Months are numbers from 1 to 12, e.g. 3;4;5 or 3-5."))
        for month in range(first, last + 1):
            mask |= 1 << (month - 1)
    return mask


def category(value: str, lookups: Lookups) -> int:
    if not value:
        raise FieldError(_l("This field is required."))
    found = lookups.categories.get(value.lower())
    if found is None:
        raise FieldError(_l("Unknown category “%(value)s”.", value=value[:60]))
    return found.id


def county_list(value: str, lookups: Lookups) -> list[County]:
    counties = []
    for part in filter(None, _LIST_SEPARATORS.split(value)):
        found = lookups.counties.get(part.lower())
        if found is None:
            raise FieldError(_l("Unknown county “%(value)s”.", value=part[:60]))
        if found not in counties:
            counties.append(found)
    return counties


def one_county(value: str, lookups: Lookups) -> int:
    counties = county_list(value, lookups)
    if len(counties) != 1:
        raise FieldError(_l("Give exactly one county."))
    return counties[0].id


def credit_code(value: str, _lookups) -> str:
    code = normalize_credit_code(value)
    if not code:
        raise FieldError(_l("This field is required."))
    if not is_valid_credit_code(code):
        raise FieldError(_l("This is not a valid unified social credit code (18 characters, with a check character)."))
    return code


def website(value: str, lookups) -> str | None:
    value = text(300)(value, lookups)
    if value and not re.match(r"^https?://[^\s/]+\.[^\s]+$", value, re.IGNORECASE):
        raise FieldError(_l("A website address starts with http:// or https://."))
    return value


def email(value: str, lookups) -> str | None:
    value = text(200)(value, lookups)
    if value and not _EMAIL.match(value):
        raise FieldError(_l("This is not a valid e-mail address."))
    return value


def _plain(attr: str) -> Callable[[Any], str]:
    return lambda obj: "" if getattr(obj, attr) is None else str(getattr(obj, attr))


def _yes_no(attr: str) -> Callable[[Any], str]:
    return lambda obj: "yes" if getattr(obj, attr) else "no"


def _month_list(obj: Product) -> str:
    return ";".join(str(m) for m in obj.season_months)


PRODUCT_COLUMNS = (
    Column("slug", "slug", slug, _plain("slug"), _l("Identifier in the address: lower-case letters, digits, hyphens. Rows are matched on it."), True),
    Column("name_zh", "name_zh", text(128, required=True), _plain("name_zh"), _l("Name in Chinese."), True),
    Column("name_en", "name_en", text(200), _plain("name_en"), _l("Name in English.")),
    Column("category", "category_id", category, lambda p: p.category.slug, _l("Category (identifier or name): see the list below."), True, CHOICE, "categories"),
    Column("counties", "counties", county_list, lambda p: ";".join(c.slug for c in p.counties), _l("Counties (identifiers or names), separated by semicolons."), kind=CHOICE),
    Column("province_wide", "province_wide", boolean, _yes_no("province_wide"), _l("yes or no: produced across the province."), kind=CHOICE, choices="yes_no"),
    Column("season", "season_mask", months, _month_list, _l("Months of the season, e.g. 3;4;5 or 3-5 (empty: unknown)."), kind=MONTHS),
    Column("summary_zh", "summary_zh", text(300, nullable=False), _plain("summary_zh"), _l("One-line summary in Chinese.")),
    Column("summary_en", "summary_en", text(500), _plain("summary_en"), _l("One-line summary in English.")),
    Column("description_zh", "description_zh", text(MAX_TEXT, nullable=False), _plain("description_zh"), _l("Description in Chinese.")),
    Column("description_en", "description_en", text(MAX_TEXT), _plain("description_en"), _l("Description in English.")),
    Column("characteristics_zh", "characteristics_zh", text(MAX_TEXT, nullable=False), _plain("characteristics_zh"), _l("What makes it special, in Chinese.")),
    Column("characteristics_en", "characteristics_en", text(MAX_TEXT), _plain("characteristics_en"), _l("What makes it special, in English.")),
)

ENTERPRISE_COLUMNS = (
    Column("credit_code", "credit_code", credit_code, _plain("credit_code"), _l("Unified social credit code (18 characters). Rows are matched on it."), True, CODE),
    Column("slug", "slug", slug, _plain("slug"), _l("Identifier in the address: lower-case letters, digits, hyphens."), True),
    Column("name_zh", "name_zh", text(200, required=True), _plain("name_zh"), _l("Name in Chinese."), True),
    Column("name_en", "name_en", text(300), _plain("name_en"), _l("Name in English.")),
    Column("county", "county_id", one_county, lambda e: e.county.slug, _l("County (identifier or name)."), True, CHOICE, "counties"),
    Column("address_zh", "address_zh", text(300), _plain("address_zh"), _l("Address in Chinese.")),
    Column("address_en", "address_en", text(400), _plain("address_en"), _l("Address in English.")),
    Column("phone", "phone", text(64), _plain("phone"), _l("Telephone."), kind=PHONE),
    Column("email", "email", email, _plain("email"), _l("E-mail address.")),
    Column("website", "website", website, _plain("website"), _l("Website, starting with https:// or http://.")),
    Column("description_zh", "description_zh", text(MAX_TEXT), _plain("description_zh"), _l("Description in Chinese.")),
    Column("description_en", "description_en", text(MAX_TEXT), _plain("description_en"), _l("Description in English.")),
)

# Exported for information (so officials see drafts), ignored on import: status only
# changes through review.
STATUS_COLUMN = "status"


@dataclass(frozen=True)
class Kind:
    name: str
    model: type
    columns: tuple[Column, ...]
    key: str  # natural-key column

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


KINDS = {
    "products": Kind("products", Product, PRODUCT_COLUMNS, "slug"),
    "enterprises": Kind("enterprises", Enterprise, ENTERPRISE_COLUMNS, "credit_code"),
}


def _kind(name: str) -> Kind:
    if name not in KINDS:
        raise ValueError(f"unknown bulk kind: {name}")
    return KINDS[name]


# --- planning (the dry run) ----------------------------------------------------------------


@dataclass
class _ParsedRow:
    row: int
    values: dict[str, Any]  # attr -> parsed value, only for columns present in the file
    existing: Any = None


def dry_run(
    kind: str,
    data: bytes,
    allowed_county_ids: set[int] | None,
    on_published: Callable[[Any, dict], None] | None = None,
) -> ImportPlan:
    """Check every row and say what an import would do; writes nothing. Raises BulkError
    when the file itself is unusable."""
    return _plan(_kind(kind), read_table(data), allowed_county_ids, on_published is not None)[0]


def _plan(spec: Kind, table: Table, allowed: set[int] | None, published_ok: bool):
    known = {c.name for c in spec.columns} | {STATUS_COLUMN}
    unknown = [h for h in table.headers if h not in known]
    if unknown:
        raise _file_error("unknown_columns", columns=", ".join(unknown[:10]))
    missing = [c.name for c in spec.columns if c.required and c.name not in table.headers]
    if missing:
        raise _file_error("missing_columns", columns=", ".join(missing))
    columns = [c for c in spec.columns if c.name in table.headers]
    plan, parsed = ImportPlan(spec.name), []
    lookups = Lookups()
    seen: dict[str, int] = {}
    seen_slugs: dict[str, int] = {}  # enterprises: a second unique column besides the key
    with db.session.no_autoflush:
        for number, cells in table.rows:
            values, errors = {}, []
            raw = table.raw.get(number, {})
            for column in columns:
                try:
                    cell = check_storable(cells.get(column.name, ""))
                    cell = excel_damage(column.kind, raw.get(column.name), cell)
                    values[column.attr] = column.parse(cell, lookups)
                except (FieldError, UnstorableText) as error:
                    errors.append(RowError(number, column.name, error.message))
            key_attr = spec.column(spec.key).attr
            key = values.get(key_attr)
            if key is not None:
                if key in seen:
                    errors.append(RowError(number, spec.key, _l("“%(value)s” appears twice in this file (also row %(row)s).", value=key, row=seen[key])))
                seen.setdefault(key, number)
            other_slug = values.get("slug") if spec.key != "slug" else None
            if other_slug is not None:
                if other_slug in seen_slugs:
                    errors.append(RowError(number, "slug", _l("“%(value)s” appears twice in this file (also row %(row)s).", value=other_slug, row=seen_slugs[other_slug])))
                seen_slugs.setdefault(other_slug, number)
            parsed.append(_ParsedRow(number, values))
            plan.errors.extend(errors)
        _attach_existing(spec, parsed)
        for row in parsed:
            if any(e.row == row.row for e in plan.errors):
                continue
            row_plan = _diff(spec, row)
            # A row that changes nothing needs no permission: an export of a county that
            # includes a product shared with another county imports cleanly.
            errors = [] if row_plan.action == "unchanged" else _check_row(spec, row, allowed)
            if not errors and row_plan.action == "update" and row.existing.is_published and not published_ok:
                errors = [RowError(row.row, None, _l("This listing is published: change it in the back office, where changes are reviewed before they go public."))]
            if errors:
                plan.errors.extend(errors)
            else:
                plan.rows.append(row_plan)
    plan.errors.sort(key=lambda e: e.row)
    return plan, parsed


def _attach_existing(spec: Kind, rows: list[_ParsedRow]) -> None:
    key_attr = spec.column(spec.key).attr
    keys = [row.values[key_attr] for row in rows if row.values.get(key_attr) is not None]
    query = select(spec.model).where(getattr(spec.model, key_attr).in_(keys))
    if spec.model is Product:
        query = query.options(selectinload(Product.counties))
    found = {getattr(obj, key_attr): obj for obj in db.session.scalars(query)}
    for row in rows:
        row.existing = found.get(row.values.get(key_attr))


def _county_ids(spec: Kind, values: dict, existing) -> tuple[set[int], bool]:
    """The counties a row (or the listing it changes) belongs to, and province-wide."""
    if spec.model is Product:
        counties = values.get("counties")
        if counties is None:
            counties = existing.counties if existing is not None else []
        wide = values.get("province_wide", existing.province_wide if existing is not None else False)
        return {c.id for c in counties}, bool(wide)
    county_id = values.get("county_id", existing.county_id if existing is not None else None)
    return ({county_id} if county_id else set()), False


def _check_row(spec: Kind, row: _ParsedRow, allowed: set[int] | None) -> list[RowError]:
    errors = []
    counties, wide = _county_ids(spec, row.values, row.existing)
    if spec.model is Product and not counties and not wide:
        errors.append(RowError(row.row, "counties", _l("Give at least one county, or mark the product province-wide.")))
    if allowed is not None:
        before = _county_ids(spec, {}, row.existing) if row.existing is not None else (set(), False)
        if wide or before[1]:
            errors.append(RowError(row.row, "province_wide", _l("Province-wide listings are managed by the provincial office.")))
        elif not counties <= allowed or not before[0] <= allowed:
            errors.append(RowError(row.row, "counties" if spec.model is Product else "county", _l("You can only import listings of the counties you manage.")))
    if spec.model is Enterprise:
        slug_owner = db.session.scalar(select(Enterprise).filter_by(slug=row.values.get("slug")))
        if slug_owner is not None and slug_owner is not row.existing:
            errors.append(RowError(row.row, "slug", _l("Another listing already uses this identifier.")))
    return errors


def _diff(spec: Kind, row: _ParsedRow) -> RowPlan:
    key = str(row.values[spec.column(spec.key).attr])
    if row.existing is None:
        return RowPlan(row.row, key, "create", {a: (None, _shown(v)) for a, v in row.values.items()})
    changes = {}
    for attr, new in row.values.items():
        old = getattr(row.existing, attr)
        if not _same(old, new):
            changes[attr] = (_shown(old), _shown(new))
    return RowPlan(row.row, key, "update" if changes else "unchanged", changes)


def _same(old, new) -> bool:
    if isinstance(new, list):
        return {o.id for o in old} == {n.id for n in new}
    return old == new


def _shown(value):
    if isinstance(value, list):
        return ";".join(getattr(v, "slug", str(v)) for v in value)
    return value


# --- importing ----------------------------------------------------------------------------


def import_listings(
    kind: str,
    data: bytes,
    allowed_county_ids: set[int] | None,
    *,
    user_id: int | None = None,
    initial_status: PublicationStatus = PublicationStatus.DRAFT,
    on_published: Callable[[Any, dict], None] | None = None,
) -> ImportPlan:
    """Apply every row or none. `on_published(listing, {attr: new value})` receives the
    changes to published listings (without it they are refused); new listings start as
    `initial_status` (draft or submitted, never published)."""
    if initial_status not in (PublicationStatus.DRAFT, PublicationStatus.SUBMITTED):
        raise ValueError("imported listings start as draft or submitted")
    spec = _kind(kind)
    plan, parsed = _plan(spec, read_table(data), allowed_county_ids, on_published is not None)
    if not plan.ok:
        raise ImportRefused(plan)
    actions = {row.row: row for row in plan.rows}
    with db.session.begin_nested():  # a failure half-way leaves no row behind
        for row in parsed:
            action = actions[row.row]
            if action.action == "create":
                listing = spec.model(status=initial_status, created_by_id=user_id, updated_by_id=user_id)
                _write(listing, row.values)
                db.session.add(listing)
            elif action.action == "update":
                changed = {a: row.values[a] for a in action.changes}
                if row.existing.is_published:
                    on_published(row.existing, changed)
                else:
                    _write(row.existing, changed)
                    row.existing.updated_by_id = user_id
        db.session.flush()
    return plan


def _write(listing, values: dict) -> None:
    for attr, value in values.items():
        if listing.id is None or not _same(getattr(listing, attr), value):
            setattr(listing, attr, value)


# --- templates and exports ------------------------------------------------------------------


def template(kind: str, fmt: str) -> BulkFile:
    """An empty file with the columns (and, in XLSX, a help sheet in the user's language)."""
    return _file(_kind(kind), fmt, [], f"{kind}-template")


def export_listings(kind: str, county_ids: set[int] | None, fmt: str) -> BulkFile:
    """The listings of these counties (None: all) in the import format, by key."""
    spec = _kind(kind)
    query = select(spec.model)
    if spec.model is Product:
        query = query.options(selectinload(Product.counties), selectinload(Product.category))
        if county_ids is not None:
            query = query.where(Product.id.in_(select(product_counties.c.product_id).where(product_counties.c.county_id.in_(county_ids))))
        query = query.order_by(Product.slug)
    else:
        query = query.options(selectinload(Enterprise.county)).order_by(Enterprise.credit_code)
        if county_ids is not None:
            query = query.where(Enterprise.county_id.in_(county_ids))
    listings = db.session.scalars(query).all()
    return _file(spec, fmt, listings, f"{kind}-{date.today().isoformat()}")


def _file(spec: Kind, fmt: str, listings, stem: str) -> BulkFile:
    if fmt not in FORMATS:
        raise ValueError(f"unknown bulk format: {fmt}")
    header = [c.name for c in spec.columns] + [STATUS_COLUMN]
    rows = [[c.export(obj) for c in spec.columns] + [obj.status.value] for obj in listings]
    rows = [[escape_formula(_CONTROL.sub("", cell)) for cell in row] for row in rows]
    data = _csv_bytes(header, rows) if fmt == "csv" else _xlsx_bytes(spec, header, rows)
    return BulkFile(data, MIMETYPES[fmt], f"{stem}.{fmt}")


def _csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def _xlsx_bytes(spec: Kind, header: list[str], rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = spec.name
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    _help_sheet(workbook.create_sheet(str(_l("Help"))), spec)
    _format_columns(workbook, sheet, spec)  # after the help sheet: the lists sheet is last
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


LISTS_SHEET = "lists"  # hidden sheet holding the values the CHOICE columns offer


def sheet_columns(spec: Kind) -> list[tuple[str, str, str | None]]:
    """(name, kind, choices) of every column of the file, status included."""
    return [(c.name, c.kind, c.choices) for c in spec.columns] + [(STATUS_COLUMN, CHOICE, "statuses")]


def _format_columns(workbook, sheet, spec: Kind) -> None:
    """Every column is Text ('@') as a whole, so rows typed or pasted later stay text too
    (Excel applies a column's style to new cells); the columns Excel damages carry a note
    on their header; validations follow each column's kind."""
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    lists = _choice_lists(workbook, spec)
    for index, (name, kind, choices) in enumerate(sheet_columns(spec), start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].number_format = "@"
        sheet.column_dimensions[letter].width = 18
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.number_format = "@"
        header = sheet.cell(row=1, column=index)
        header.font = Font(bold=True)
        if kind in KEEP_AS_TEXT:
            header.comment = Comment(str(_keep_as_text_note(kind)), "GI Hainan", width=300, height=110)
        validation = _validation(kind, lists.get(choices))
        if validation is not None:
            validation.add(f"{letter}2:{letter}1048576")
            sheet.add_data_validation(validation)


def _keep_as_text_note(kind: str):
    examples = {CODE: "91469005MA5T1234XY", PHONE: "0898-65321234", MONTHS: "3-5"}
    return _l(
        "Keep this column as Text: Excel turns values like %(example)s into numbers or dates "
        "and loses digits, leading zeros or the value itself. Paste with “Match destination "
        "formatting” (or as values) so the Text format stays.", example=examples[kind],
    )


def _validation(kind: str, choice_range: str | None):
    from openpyxl.worksheet.datavalidation import DataValidation

    if kind == CODE:
        return DataValidation(
            type="textLength", operator="equal", formula1=str(CREDIT_CODE_LENGTH), allow_blank=True,
            showErrorMessage=True, errorStyle="stop", errorTitle=str(_l("Credit code")),
            error=str(_l("A unified social credit code has exactly 18 characters, typed as text.")),
        )
    if kind == CHOICE and choice_range:
        # A warning, not a stop: names in either language are accepted too.
        return DataValidation(
            type="list", formula1=choice_range, allow_blank=True, showErrorMessage=True,
            errorStyle="warning", error=str(_l("Choose a value from the list (names are accepted too).")),
        )
    return None


def _choice_lists(workbook, spec: Kind) -> dict[str, str]:
    """The values CHOICE columns offer, one column each on a hidden sheet -> list ranges."""
    lookups = Lookups()
    values = {
        "categories": [c.slug for c in sorted(set(lookups.categories.values()), key=lambda c: c.sort_order)],
        "counties": [c.slug for c in sorted(set(lookups.counties.values()), key=lambda c: c.sort_order)],
        "yes_no": ["yes", "no"],
        "statuses": [status.value for status in PublicationStatus],
    }
    wanted = [choices for _, _, choices in sheet_columns(spec) if choices]
    sheet = workbook.create_sheet(LISTS_SHEET)
    sheet.sheet_state = "hidden"
    ranges = {}
    for index, name in enumerate(wanted, start=1):
        letter = chr(ord("A") + index - 1)
        for row, value in enumerate(values[name] or [""], start=1):
            sheet.cell(row=row, column=index, value=value)
        ranges[name] = f"{LISTS_SHEET}!${letter}$1:${letter}${max(len(values[name]), 1)}"
    return ranges


def _help_sheet(sheet, spec: Kind) -> None:
    from openpyxl.styles import Font

    sheet.append([str(_l("Column")), str(_l("Required")), str(_l("What to enter"))])
    for column in spec.columns:
        sheet.append([column.name, str(_l("yes")) if column.required else "", str(column.help)])
    sheet.append([STATUS_COLUMN, "", str(_l("Publication status, for information: ignored on import. New rows start as drafts."))])
    sheet.append([])
    lookups = Lookups()
    if spec.model is Product:
        sheet.append([str(_l("Categories"))])
        for cat in sorted(set(lookups.categories.values()), key=lambda c: c.sort_order):
            sheet.append([cat.slug, cat.name_zh, cat.name_en or ""])
        sheet.append([])
    sheet.append([str(_l("Counties"))])
    for county in sorted(set(lookups.counties.values()), key=lambda c: c.sort_order):
        sheet.append([county.slug, county.name_zh, county.name_en or ""])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["C"].width = 70
