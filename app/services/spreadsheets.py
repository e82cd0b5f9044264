"""Spreadsheet files, without the database: reading CSV (the encodings Excel writes) and
XLSX into a table of text cells, recognising what Excel did to a cell, and writing CSV and
XLSX files whose cells cannot run as formulas.

    read_table(data)                     -> Table       (raises BulkError)
    excel_damage(kind, raw, text)        -> str         (raises FieldError)
    csv_bytes(header, rows)              -> bytes
    xlsx_bytes(sheet, header, rows, columns, lists, help_rows) -> bytes

What the columns mean (listings, counties, categories) is the import plan's business:
app/services/bulk.py. Messages are lazy translations, shown in the user's language."""

import csv
import io
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, NamedTuple

from flask_babel import lazy_gettext as _l

from app.models.enterprises import is_valid_credit_code
from app.refusals import Refusal

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2000
MAX_XLSX_UNCOMPRESSED = 60 * 1024 * 1024  # a zip bomb stops here, before XML parsing
FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv",  # werkzeug adds "; charset=utf-8" (given here, it came twice)
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection), so
# exports prefix an apostrophe; the apostrophe is itself escaped so the encoding reverses.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --- errors ---------------------------------------------------------------------------------


class BulkError(Refusal):
    """The file as a whole cannot be used; `user_message` says why, in the user's language."""


class FieldError(ValueError):
    def __init__(self, message) -> None:
        super().__init__("field")
        self.message = message


def file_error(code: str, **params) -> BulkError:
    messages = {
        "empty": _l("The file is empty."),
        "too_large": _l("The file is larger than %(limit)s MB.", **params),
        "too_many_rows": _l(
            "The file has more than %(limit)s rows. Split it into smaller files.", **params
        ),
        "xls": _l(
            "Old Excel files (.xls) are not supported. Save the file as .xlsx or as CSV UTF-8."
        ),
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
        raise file_error("empty")
    if len(data) > MAX_BYTES:
        raise file_error("too_large", limit=MAX_BYTES // (1024 * 1024))
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise file_error("xls")
    records = _xlsx_records(data) if data.startswith(b"PK\x03\x04") else _csv_records(data)
    header = next(records, None)
    if header is None:
        raise file_error("no_rows")
    headers = [_unescape(str(h or "").strip()).lower() for h in header]
    rows: list[tuple[int, dict[str, str]]] = []
    raw: dict[int, dict[str, Any]] = {}
    for index, record in enumerate(records, start=2):
        record = [_unwrap_formula_text(value) for value in record]
        cells = [_cell_text(value) for value in record]
        if not any(cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise file_error("too_many_rows", limit=MAX_ROWS)
        rows.append(
            (index, {h: cells[i] if i < len(cells) else "" for i, h in enumerate(headers) if h})
        )
        raw[index] = {h: record[i] if i < len(record) else None for i, h in enumerate(headers) if h}
    named = [h for h in headers if h]
    duplicates = sorted({h for h in named if named.count(h) > 1})
    if duplicates:
        raise file_error("duplicate_columns", columns=", ".join(duplicates))
    if not rows:
        raise file_error("no_rows")
    return Table(named, rows, raw)


def _csv_records(data: bytes) -> Iterator[list[str]]:
    text = _decode(data)
    # Many NULs: a binary or mis-decoded file (UTF-16 read as 8-bit). A stray one inside a
    # cell is that cell's problem: the plan reports it by row and column (issue 8, kind 13).
    if text.count("\x00") > max(8, len(text) // 100):
        raise file_error("damaged")
    first_line = text.split("\n", 1)[0]
    delimiter = max(("\t", ",", ";"), key=first_line.count) if first_line else ","
    if first_line.count(delimiter) == 0:
        delimiter = ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        raise file_error("damaged") from None
    return iter(records)


def _decode(data: bytes) -> str:
    encodings: tuple[str, ...]
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
    raise file_error("encoding")


def _xlsx_records(data: bytes) -> Iterator[tuple]:
    from openpyxl import load_workbook  # imported here: only bulk files need it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_XLSX_UNCOMPRESSED:
                raise file_error("too_large", limit=MAX_BYTES // (1024 * 1024))
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
                        raise file_error("too_many_rows", limit=MAX_ROWS)
            finally:
                workbook.close()
    except BulkError:
        raise
    except Exception:  # openpyxl raises many kinds (zip, XML, KeyError) for broken files
        raise file_error("damaged") from None
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
REFERENCE = "reference"  # a printed number (announcement, authorization): 2023-01 is no date
DATE = "date"  # a calendar day: a date cell is the value itself, a bare number is not
KEEP_AS_TEXT = (CODE, PHONE, MONTHS, REFERENCE, DATE)  # Excel damages them: the header has a note

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
    if kind == DATE and isinstance(raw, date):  # a datetime is a date too
        return (raw.date() if isinstance(raw, datetime) else raw).isoformat()
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
            "Write the months with semicolons, e.g. 3;4;5, or format the column as Text and "
            "type the range again.",
            date=shown,
            guess=f"{value.month}-{value.day}",
        )
    return _l(
        "Excel turned this value into a date or time (%(date)s): the original text is lost. "
        "Format the column as Text and type the value again.",
        date=shown,
    )


def _number_damage(kind: str, number: float, text: str) -> str:
    shown = f"{number:.6G}" if abs(number) >= 10**EXCEL_DIGITS else text
    if kind == CODE:
        raise FieldError(_code_is_number(shown))
    if isinstance(number, float) and not number.is_integer():
        if kind == PHONE:
            raise FieldError(
                _l(
                    "Excel stored this telephone number as a number with decimals (%(shown)s). "
                    "Format the column as Text and type the number again.",
                    shown=text,
                )
            )
        return text
    if len(str(abs(int(number)))) > EXCEL_DIGITS:
        raise FieldError(
            _l(
                "Excel stored this as a number (%(shown)s) and kept only its first 15 digits: "
                "the rest are lost. Format the column as Text and type or paste the value again.",
                shown=shown,
            )
        )
    if kind == PHONE:
        return _phone_digits(str(int(number)))
    if kind in (MONTHS, DATE) and int(number) in _SERIAL_DATES:
        raise FieldError(_serial_date(int(number)))
    return text


def _text_damage(kind: str, text: str) -> str:
    if kind in (CODE, PHONE, REFERENCE) and _SCIENTIFIC.match(text):
        raise FieldError(
            _l(
                "Excel showed this number in scientific notation (%(shown)s) and saved it "
                "that way: "
                "its digits are lost. Format the column as Text and type or paste the value again.",
                shown=text,
            )
        )
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
            raise FieldError(
                _l(
                    "Excel turned this month range into a date (%(date)s). Write the months with "
                    "semicolons, e.g. 3;4;5, or format the column as Text and type the range "
                    "again.",
                    date=text,
                )
            )
        if _ascii_digits(text) and int(text) in _SERIAL_DATES:
            raise FieldError(_serial_date(int(text)))
    if kind == DATE and _ascii_digits(text) and int(text) in _SERIAL_DATES:
        raise FieldError(_serial_date(int(text)))
    return text


def _code_damage(text: str) -> str:
    if _POINT_ZERO.match(text) or _THOUSANDS.match(text):
        raise FieldError(_code_is_number(text))
    if _ascii_digits(text) and len(text) != CREDIT_CODE_LENGTH:
        raise FieldError(
            _l(
                "A unified social credit code has 18 characters; this one has %(count)s digits. "
                "If Excel showed it as a number, format the column as Text and type the code "
                "again.",
                count=len(text),
            )
        )
    if _ascii_digits(text) and text.endswith("000") and not is_valid_credit_code(text):
        raise FieldError(
            _l(
                "This code ends in zeros and its check character does not match: Excel probably "
                "rounded it to 15 digits. Format the column as Text and paste the code again.",
            )
        )
    return text


def _ascii_digits(text: str) -> bool:
    """Digits as Excel writes them; full-width digits are typed by people, not by Excel
    (their normalisation is the code normaliser's job, in parse)."""
    return text.isascii() and text.isdigit()


def _code_is_number(shown: str):
    return _l(
        "Excel stored this code as a number (%(shown)s): a number keeps only 15 digits and "
        "no letters, so the code cannot be recovered. Format the column as Text (the XLSX "
        "template already is) and paste the code again.",
        shown=shown,
    )


def _phone_digits(digits: str) -> str:
    """A telephone number of digits only, refused when Excel evidently dropped its leading
    0 (0898-6532 1234 -> 89865321234) or + (+86 ...): mobile (1xx, 11 digits), 400/800
    and local numbers (at most 8 digits) never start with 0."""
    if (
        digits.startswith("0")
        or len(digits) <= 8
        or _MOBILE.match(digits)
        or _SERVICE.match(digits)
    ):
        return digits
    if len(digits) in (12, 13) and digits.startswith("86"):
        raise FieldError(
            _l(
                "Excel dropped the + of this international number (probably +%(guess)s). "
                "Format the column as Text and type the number again with its +.",
                guess=digits,
            )
        )
    if len(digits) <= 11:
        raise FieldError(
            _l(
                "Excel dropped the leading 0 of this telephone number (probably 0%(guess)s). "
                "Format the column as Text and type the number again with its 0.",
                guess=digits,
            )
        )
    return digits


def _serial_date(number: int):
    from openpyxl.utils.datetime import from_excel

    return _l(
        "This looks like a date Excel stored as its serial number (%(number)s = %(date)s). "
        "Format the column as Text and type the value again.",
        number=number,
        date=from_excel(number).date().isoformat(),
    )


# --- writing files --------------------------------------------------------------------------


class SheetColumn(NamedTuple):
    name: str
    kind: str  # TEXT, CODE, PHONE, MONTHS, REFERENCE, DATE or CHOICE: format, note, validation
    choices: str | None = None  # CHOICE: the name of the list its cells offer


def inert(cell: str) -> str:
    """A cell as written to a file: no control characters, no formula."""
    return escape_formula(CONTROL.sub("", cell))


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([[inert(cell) for cell in row] for row in rows])
    return buffer.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def xlsx_bytes(
    sheet_name: str,
    rows: list[list[str]],
    columns: list[SheetColumn],
    lists: dict[str, list[str]],
    help_rows: list[list[str]],
) -> bytes:
    """A workbook: the data sheet (header = the columns' names), a help sheet of
    `help_rows` (the first is its header) and a hidden sheet of the CHOICE lists."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_name
    sheet.append([c.name for c in columns])
    for row in rows:
        sheet.append([inert(cell) for cell in row])
    _help_sheet(workbook.create_sheet(str(_l("Help"))), help_rows)
    _format_columns(workbook, sheet, columns, lists)  # after the help sheet: lists go last
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


LISTS_SHEET = "lists"  # hidden sheet holding the values the CHOICE columns offer


def _format_columns(workbook, sheet, columns: list[SheetColumn], lists: dict) -> None:
    """Every column is Text ('@') as a whole, so rows typed or pasted later stay text too
    (Excel applies a column's style to new cells); the columns Excel damages carry a note
    on their header; validations follow each column's kind."""
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ranges = _choice_lists(workbook, columns, lists)
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].number_format = "@"
        sheet.column_dimensions[letter].width = 18
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.number_format = "@"
        header = sheet.cell(row=1, column=index)
        header.font = Font(bold=True)
        if column.kind in KEEP_AS_TEXT:
            note = str(_keep_as_text_note(column.kind))
            header.comment = Comment(note, "GI Hainan", width=300, height=110)
        validation = _validation(column.kind, ranges.get(column.choices or ""))
        if validation is not None:
            validation.add(f"{letter}2:{letter}1048576")
            sheet.add_data_validation(validation)


def _keep_as_text_note(kind: str):
    examples = {
        CODE: "91469005MA5T1234XY",
        PHONE: "0898-65321234",
        MONTHS: "3-5",
        REFERENCE: "2023-01",
        DATE: "2024-01-15",
    }
    return _l(
        "Keep this column as Text: Excel turns values like %(example)s into numbers or dates "
        "and loses digits, leading zeros or the value itself. Paste with “Match destination "
        "formatting” (or as values) so the Text format stays.",
        example=examples[kind],
    )


def _validation(kind: str, choice_range: str | None):
    from openpyxl.worksheet.datavalidation import DataValidation

    if kind == CODE:
        return DataValidation(
            type="textLength",
            operator="equal",
            formula1=str(CREDIT_CODE_LENGTH),
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="stop",
            errorTitle=str(_l("Credit code")),
            error=str(_l("A unified social credit code has exactly 18 characters, typed as text.")),
        )
    if kind == CHOICE and choice_range:
        # A warning, not a stop: names in either language are accepted too.
        return DataValidation(
            type="list",
            formula1=choice_range,
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="warning",
            error=str(_l("Choose a value from the list (names are accepted too).")),
        )
    return None


def _choice_lists(workbook, columns: list[SheetColumn], lists: dict) -> dict[str, str]:
    """The values CHOICE columns offer, one column each on a hidden sheet -> list ranges."""
    wanted = [c.choices for c in columns if c.choices]
    sheet = workbook.create_sheet(LISTS_SHEET)
    sheet.sheet_state = "hidden"
    ranges = {}
    for index, name in enumerate(wanted, start=1):
        letter = chr(ord("A") + index - 1)
        for row, value in enumerate(lists[name] or [""], start=1):
            sheet.cell(row=row, column=index, value=value)
        ranges[name] = f"{LISTS_SHEET}!${letter}$1:${letter}${max(len(lists[name]), 1)}"
    return ranges


def _help_sheet(sheet, rows: list[list[str]]) -> None:
    from openpyxl.styles import Font

    for row in rows:
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["C"].width = 70
