"""Spreadsheets Excel has damaged (issue 8, kind 11): real XLSX files written with openpyxl
the way Excel stores damaged cells (numeric cells holding floats, dates with date number
formats) and real CSV files as Excel saves them (UTF-8 with BOM, GBK, CRLF, semicolons),
through the import service and the back office. Damage is explained per row and column
and never stored; where the original is certain it is repaired. The template and the
export keep every column Text, with notes and validations."""

import csv
import html
import io
from datetime import date, datetime, time

import pytest
from flask_babel import force_locale
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.db import db
from app.models import Enterprise
from app.models.enterprises import credit_code_check_char
from app.services import bulk, spreadsheets
from app.services.bulk import ImportRefused, dry_run, export_listings, import_listings, template
from app.services.spreadsheets import read_table
from tests.admin_support import csrf_token, login, make_users, provincial
from tests.sheet_files import HEADER


def code(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


CODE = code("91469005MA5T1234X")
ENTERPRISE_HEADER = ["credit_code", "slug", "name_zh", "county", "phone"]
ENTERPRISE_ROW = [CODE, "wenchang-excel-co", "文昌表格公司", "wenchang", "0898-65321234"]
PRODUCT_ROW = [
    "wenchang-excel-candy",
    "文昌表格糖",
    "Candy",
    "processed-food",
    "wenchang",
    "3-5",
    "糖",
]
AUTHORIZATION_HEADER = ["number", "enterprise", "sign", "valid_from", "valid_to"]
AUTHORIZATION_ROW = [
    "DEMO-AUTH-2026-301",
    "91469005000000019U",  # the seed's Wenchang enterprise
    "wenchang-chicken|cnipa_gi_product",
    "2025-01-15",
    "2030-01-14",
]
SIGN_HEADER = ["product", "regime", "number", "official_name_zh"]
SIGN_ROW = ["wenchang-chicken", "gi_trademark", "31000009", "文昌鸡（商标）"]
ROWS = {
    "enterprises": (ENTERPRISE_HEADER, ENTERPRISE_ROW),
    "products": (HEADER, PRODUCT_ROW),
    "authorizations": (AUTHORIZATION_HEADER, AUTHORIZATION_ROW),
    "signs": (SIGN_HEADER, SIGN_ROW),
}
# How a test finds the listing a base row creates: its attribute and value.
CREATED = {
    "enterprises": ("slug", "wenchang-excel-co"),
    "products": ("slug", "wenchang-excel-candy"),
    "authorizations": ("number", "DEMO-AUTH-2026-301"),
    "signs": ("official_name_zh", "文昌鸡（商标）"),
}


def xlsx_cell(kind: str, column: str, value, number_format: str = "General") -> bytes:
    """The base row with one cell as Excel stores it: its type and its number format."""
    header, row = ROWS[kind]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    sheet.append(row)
    cell = sheet.cell(row=2, column=header.index(column) + 1, value=value)
    cell.number_format = number_format
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_cell(
    kind: str, column: str, value: str, encoding="utf-8-sig", delimiter=",", rows=None
) -> bytes:
    """The base row with one cell as Excel writes it on "Save as CSV" (CRLF line ends)."""
    header, row = ROWS[kind]
    row = list(row)
    row[header.index(column)] = value
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows or [row])
    return buffer.getvalue().encode(encoding)


# (case id, listing kind, column, file bytes, words of the English explanation)
DAMAGED = [
    (
        "code-float",
        "enterprises",
        "credit_code",
        lambda: xlsx_cell("enterprises", "credit_code", 9.1469005e17),
        "stored this code as a number",
    ),
    (
        "code-float-scientific-format",
        "enterprises",
        "credit_code",
        lambda: xlsx_cell("enterprises", "credit_code", 9.14690050000001e17, "0.00E+00"),
        "stored this code as a number",
    ),
    (
        "code-int",
        "enterprises",
        "credit_code",
        lambda: xlsx_cell("enterprises", "credit_code", 914690050000000000),
        "stored this code as a number",
    ),
    (
        "code-short-int-cell",
        "enterprises",
        "credit_code",
        lambda: xlsx_cell("enterprises", "credit_code", 91469005123),
        "stored this code as a number",
    ),
    (
        "code-date-cell",
        "enterprises",
        "credit_code",
        lambda: xlsx_cell("enterprises", "credit_code", datetime(2026, 3, 12), "yyyy/m/d"),
        "turned this value into a date",
    ),
    (
        "code-csv-scientific",
        "enterprises",
        "credit_code",
        lambda: csv_cell("enterprises", "credit_code", "9.1469E+17"),
        "scientific notation",
    ),
    (
        "code-csv-scientific-long",
        "enterprises",
        "credit_code",
        lambda: csv_cell("enterprises", "credit_code", "9.14690050000001E+17"),
        "scientific notation",
    ),
    (
        "code-csv-scientific-lower",
        "enterprises",
        "credit_code",
        lambda: csv_cell("enterprises", "credit_code", "9.1469e+17", "gbk"),
        "scientific notation",
    ),
    (
        "code-csv-rounded",
        "enterprises",
        "credit_code",
        lambda: csv_cell("enterprises", "credit_code", "914690050000000000"),
        "rounded it to 15 digits",
    ),
    (
        "code-csv-point-zero",
        "enterprises",
        "credit_code",
        lambda: csv_cell("enterprises", "credit_code", "914690050000000000.0"),
        "stored this code as a number",
    ),
    (
        "code-csv-thousands",
        "enterprises",
        "credit_code",
        lambda: csv_cell("enterprises", "credit_code", "914,690,050,000,000,000"),
        "stored this code as a number",
    ),
    (
        "code-csv-short-integer",
        "enterprises",
        "credit_code",
        lambda: csv_cell("enterprises", "credit_code", "91469005123"),
        "this one has 11 digits",
    ),
    (
        "phone-int-lost-zero",
        "enterprises",
        "phone",
        lambda: xlsx_cell("enterprises", "phone", 89865321234),
        "dropped the leading 0",
    ),
    (
        "phone-float-lost-zero",
        "enterprises",
        "phone",
        lambda: xlsx_cell("enterprises", "phone", 89865321234.0),
        "0898653212",
    ),
    (
        "phone-csv-lost-zero",
        "enterprises",
        "phone",
        lambda: csv_cell("enterprises", "phone", "89865321234"),
        "dropped the leading 0",
    ),
    (
        "phone-csv-beijing-lost-zero",
        "enterprises",
        "phone",
        lambda: csv_cell("enterprises", "phone", "1012345678", "gbk", ";"),
        "dropped the leading 0",
    ),
    (
        "phone-csv-lost-zero-point-zero",
        "enterprises",
        "phone",
        lambda: csv_cell("enterprises", "phone", "89865321234.0"),
        "dropped the leading 0",
    ),
    (
        "phone-csv-lost-zero-thousands",
        "enterprises",
        "phone",
        lambda: csv_cell("enterprises", "phone", "898,653,212"),
        "dropped the leading 0",
    ),
    (
        "phone-csv-scientific",
        "enterprises",
        "phone",
        lambda: csv_cell("enterprises", "phone", "8.98653E+10"),
        "scientific notation",
    ),
    (
        "phone-csv-scientific-mobile",
        "enterprises",
        "phone",
        lambda: csv_cell("enterprises", "phone", "1.38001E+10"),
        "scientific notation",
    ),
    (
        "phone-int-lost-plus",
        "enterprises",
        "phone",
        lambda: xlsx_cell("enterprises", "phone", 8613800138000),
        "dropped the +",
    ),
    (
        "phone-fraction",
        "enterprises",
        "phone",
        lambda: xlsx_cell("enterprises", "phone", 6532123.4),
        "with decimals",
    ),
    (
        "phone-date-cell",
        "enterprises",
        "phone",
        lambda: xlsx_cell("enterprises", "phone", datetime(2026, 6, 5), "m/d/yy"),
        "turned this value into a date",
    ),
    (
        "phone-time-cell",
        "enterprises",
        "phone",
        lambda: xlsx_cell("enterprises", "phone", time(8, 30), "h:mm"),
        "into a date or time (08:30:00)",
    ),
    (
        "season-date-cell",
        "products",
        "season",
        lambda: xlsx_cell("products", "season", datetime(2026, 3, 12), "m月d日"),
        "probably “3-12”",
    ),
    (
        "season-date-cell-iso",
        "products",
        "season",
        lambda: xlsx_cell("products", "season", datetime(2026, 3, 5), "yyyy-mm-dd"),
        "month range into a date",
    ),
    (
        "season-serial",
        "products",
        "season",
        lambda: xlsx_cell("products", "season", 45678),
        "serial number (45678 = 2025-01-21)",
    ),
    (
        "season-csv-serial",
        "products",
        "season",
        lambda: csv_cell("products", "season", "46093"),
        "serial number",
    ),
    (
        "season-csv-day-month",
        "products",
        "season",
        lambda: csv_cell("products", "season", "12-Mar"),
        "month range into a date",
    ),
    (
        "season-csv-slashes",
        "products",
        "season",
        lambda: csv_cell("products", "season", "2026/3/12", "gbk"),
        "month range into a date",
    ),
    (
        "season-csv-chinese",
        "products",
        "season",
        lambda: csv_cell("products", "season", "3月12日", "gbk", ";"),
        "month range into a date",
    ),
    (
        "season-csv-month-day-short",
        "products",
        "season",
        lambda: csv_cell("products", "season", "3/12"),
        "month range into a date",
    ),
    (
        "slug-date-cell",
        "products",
        "slug",
        lambda: xlsx_cell("products", "slug", datetime(2026, 1, 2), "yyyy/m/d"),
        "turned this value into a date",
    ),
    (
        "name-long-number",
        "products",
        "name_en",
        lambda: xlsx_cell("products", "name_en", 1234567890123456789),
        "first 15 digits",
    ),
]

# The columns of the other kinds: credit codes naming an enterprise, printed numbers, dates.
DAMAGED += [
    (
        "enterprise-code-float",
        "authorizations",
        "enterprise",
        lambda: xlsx_cell("authorizations", "enterprise", 9.1469005e17),
        "stored this code as a number",
    ),
    (
        "enterprise-code-csv-scientific",
        "authorizations",
        "enterprise",
        lambda: csv_cell("authorizations", "enterprise", "9.1469E+17", "gbk"),
        "scientific notation",
    ),
    (
        "enterprise-code-csv-rounded",
        "authorizations",
        "enterprise",
        lambda: csv_cell("authorizations", "enterprise", "914690050000000000"),
        "rounded it to 15 digits",
    ),
    (
        "authorization-number-date-cell",
        "authorizations",
        "number",
        lambda: xlsx_cell("authorizations", "number", datetime(2023, 1, 1), "yyyy/m/d"),
        "turned this value into a date",
    ),
    (
        "authorization-number-csv-scientific",
        "authorizations",
        "number",
        lambda: csv_cell("authorizations", "number", "2.02301E+11"),
        "scientific notation",
    ),
    (
        "valid-from-serial",
        "authorizations",
        "valid_from",
        lambda: xlsx_cell("authorizations", "valid_from", 45672),
        "serial number (45672 = 2025-01-15)",
    ),
    (
        "valid-from-csv-serial",
        "authorizations",
        "valid_from",
        lambda: csv_cell("authorizations", "valid_from", "45672"),
        "serial number",
    ),
    (
        "valid-from-time-cell",
        "authorizations",
        "valid_from",
        lambda: xlsx_cell("authorizations", "valid_from", time(9, 30), "h:mm"),
        "turned this value into a date or time",
    ),
    (
        "sign-number-long",
        "signs",
        "number",
        lambda: xlsx_cell("signs", "number", 31363028000000000001),
        "first 15 digits",
    ),
    (
        "sign-number-csv-scientific",
        "signs",
        "number",
        lambda: csv_cell("signs", "number", "3.1363E+07"),
        "scientific notation",
    ),
]

# (case id, listing kind, column, file bytes, attribute, value stored)
REPAIRED = [
    (
        "phone-float-mobile",
        "enterprises",
        "phone",
        lambda: xlsx_cell("enterprises", "phone", 13800138000.0),
        "phone",
        "13800138000",
    ),
    (
        "phone-int-mobile",
        "enterprises",
        "phone",
        lambda: xlsx_cell("enterprises", "phone", 13800138000),
        "phone",
        "13800138000",
    ),
    (
        "phone-csv-point-zero",
        "enterprises",
        "phone",
        lambda: csv_cell("enterprises", "phone", "13800138000.0"),
        "phone",
        "13800138000",
    ),
    (
        "phone-csv-thousands",
        "enterprises",
        "phone",
        lambda: csv_cell("enterprises", "phone", "13,800,138,000"),
        "phone",
        "13800138000",
    ),
    (
        "phone-csv-formula-text",
        "enterprises",
        "phone",
        lambda: csv_cell("enterprises", "phone", '="089865321234"'),
        "phone",
        "089865321234",
    ),
    (
        "phone-int-local",
        "enterprises",
        "phone",
        lambda: xlsx_cell("enterprises", "phone", 65321234),
        "phone",
        "65321234",
    ),
    (
        "phone-csv-400",
        "enterprises",
        "phone",
        lambda: csv_cell("enterprises", "phone", "4008123123", "gbk", ";"),
        "phone",
        "4008123123",
    ),
    (
        "phone-csv-trailing-spaces",
        "enterprises",
        "phone",
        lambda: csv_cell("enterprises", "phone", "0898-65321234   "),
        "phone",
        "0898-65321234",
    ),
    (
        "phone-csv-with-zero",
        "enterprises",
        "phone",
        lambda: csv_cell("enterprises", "phone", "089865321234"),
        "phone",
        "089865321234",
    ),
    (
        "code-csv-formula-text",
        "enterprises",
        "credit_code",
        lambda: csv_cell("enterprises", "credit_code", f'="{CODE}"', "gbk"),
        "credit_code",
        CODE,
    ),
    (
        "code-text-cell",
        "enterprises",
        "credit_code",
        lambda: xlsx_cell("enterprises", "credit_code", CODE, "@"),
        "credit_code",
        CODE,
    ),
    (
        "valid-from-date-cell",  # a date cell holds the date itself: nothing is lost
        "authorizations",
        "valid_from",
        lambda: xlsx_cell("authorizations", "valid_from", datetime(2025, 1, 15), "yyyy/m/d"),
        "valid_from",
        date(2025, 1, 15),
    ),
    (
        "valid-to-csv-chinese-date",
        "authorizations",
        "valid_to",
        lambda: csv_cell("authorizations", "valid_to", "2030年1月14日", "gbk"),
        "valid_to",
        date(2030, 1, 14),
    ),
    (
        "enterprise-code-formula-text",
        "authorizations",
        "enterprise",
        lambda: csv_cell("authorizations", "enterprise", '="91469005000000019U"'),
        "number",
        "DEMO-AUTH-2026-301",
    ),
    (
        "sign-number-int-cell",  # whole and short: Excel kept every digit
        "signs",
        "number",
        lambda: xlsx_cell("signs", "number", 31000009),
        "number",
        "31000009",
    ),
    (
        "season-int-cell",
        "products",
        "season",
        lambda: xlsx_cell("products", "season", 3),
        "season_mask",
        0b100,
    ),
    (
        "season-range-text",
        "products",
        "season",
        lambda: csv_cell("products", "season", "3-5", "gbk", ";"),
        "season_mask",
        0b11100,
    ),
]


@pytest.fixture
def in_a_request(app):
    with app.test_request_context("/?lang=en"):
        yield


def listing_count(kind: str) -> int:
    model = bulk.KINDS[kind].model
    return db.session.scalar(select(func.count(model.id)))


@pytest.mark.parametrize("case, kind, column, build, words", DAMAGED, ids=[c[0] for c in DAMAGED])
def test_excel_damage_is_explained_and_nothing_is_stored(
    app, in_a_request, case, kind, column, build, words
):
    data = build()
    plan = dry_run(kind, data, provincial())
    assert [(e.row, e.field) for e in plan.errors] == [(2, column)]
    with force_locale("en"):
        english = str(plan.errors[0].message)
    assert words in english and "Excel" in english
    with force_locale("zh"):
        assert str(plan.errors[0].message) != english  # translated
    before = listing_count(kind)
    with pytest.raises(ImportRefused):
        import_listings(kind, data, provincial())
    assert listing_count(kind) == before


@pytest.mark.parametrize(
    "case, kind, column, build, attr, stored", REPAIRED, ids=[c[0] for c in REPAIRED]
)
def test_certain_excel_damage_is_repaired(
    app, in_a_request, case, kind, column, build, attr, stored
):
    plan = import_listings(kind, build(), provincial())
    assert plan.ok and [r.action for r in plan.rows] == ["create"]
    key, value = CREATED[kind]
    created = db.session.scalar(select(bulk.KINDS[kind].model).filter_by(**{key: value}))
    assert getattr(created, attr) == stored


def test_one_damaged_row_stops_the_whole_file(app, in_a_request):
    good = list(ENTERPRISE_ROW)
    damaged = [code("91469005MA5T9999X"), "wenchang-excel-two", "二号", "wenchang", "89865321234"]
    data = csv_cell("enterprises", "phone", good[4], rows=[good, damaged])
    with pytest.raises(ImportRefused) as refused:
        import_listings("enterprises", data, provincial())
    assert [(e.row, e.field) for e in refused.value.plan.errors] == [(3, "phone")]
    assert db.session.scalar(select(Enterprise).filter_by(slug="wenchang-excel-co")) is None


# --- through the back office ------------------------------------------------------------------


def upload(client, kind: str, data: bytes, name: str):
    token = csrf_token(client, f"/admin/{kind}/import?lang=en")
    response = client.post(
        f"/admin/{kind}/import?lang=en",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    return response.headers["Location"]


@pytest.mark.parametrize("case, kind, column, build, words", DAMAGED, ids=[c[0] for c in DAMAGED])
def test_admin_dry_run_explains_excel_damage_and_confirm_imports_nothing(
    app_ctx, app, case, kind, column, build, words
):
    make_users()
    client = app.test_client()
    assert login(client, "editor_a").status_code == 302
    data = build()
    url = upload(client, kind, data, "file.xlsx" if data.startswith(b"PK") else "file.csv")
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert f'<tr class="row-error"><td>2</td><td>{column}</td><td>' in page
    assert html.escape(words, quote=True) in page
    assert 'class="confirm"' not in page
    before = listing_count(kind)
    response = client.post(url, data={"csrf_token": csrf_token(client, "/admin/")})
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    db.session.expire_all()
    assert listing_count(kind) == before


# --- template and export ----------------------------------------------------------------------


def _workbook(data: bytes):
    return load_workbook(io.BytesIO(data))


# kind: a value its template's first list offers (the hidden lists sheet, column A)
FIRST_LIST = {
    "products": "processed-food",
    "enterprises": "wenchang",
    "signs": "wenchang-chicken",
    "brands": "regional_public",
    "authorizations": "valid",
    "industry-facts": "wenchang-chicken",
}


@pytest.mark.parametrize("kind", FIRST_LIST)
def test_template_keeps_every_column_text_with_notes_and_validations(app, in_a_request, kind):
    sheet = _workbook(template(kind, "xlsx").data).worksheets[0]
    columns = bulk.sheet_columns(bulk.KINDS[kind])
    validations = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    for index, (name, column_kind, choices) in enumerate(columns, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        assert sheet.cell(row=1, column=index).value == name
        # the whole column, so rows typed later are text too
        assert sheet.column_dimensions[letter].number_format == "@", name
        note = sheet.cell(row=1, column=index).comment
        if column_kind in spreadsheets.KEEP_AS_TEXT:
            assert note is not None and "Text" in note.text, name
        else:
            assert note is None, name
        validation = validations.get(f"{letter}2:{letter}1048576")
        if column_kind == spreadsheets.CODE:
            assert (validation.type, validation.operator, validation.formula1) == (
                "textLength",
                "equal",
                "18",
            )
        elif choices:
            assert validation.type == "list" and validation.formula1.startswith("lists!$")
        else:
            assert validation is None, name
    assert {n for n, *_ in columns} >= {"status"}
    workbook = _workbook(template(kind, "xlsx").data)
    assert workbook["lists"].sheet_state == "hidden"
    offered = [c.value for c in workbook["lists"]["A"]]
    assert FIRST_LIST[kind] in offered


def test_export_round_trip_keeps_codes_and_phones_as_text(app, in_a_request):
    rows = [
        [code("91469005000123456"), "wenchang-digits-co", "数字公司", "wenchang", "089865321234"],
        [code("91469005MA5T1234X"), "wenchang-mobile-co", "手机公司", "wenchang", "13800138000"],
    ]
    data = csv_cell("enterprises", "phone", "", rows=rows)
    import_listings("enterprises", data, provincial())
    exported = export_listings("enterprises", provincial(), "xlsx")
    sheet = _workbook(exported.data).worksheets[0]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        for name in ("credit_code", "phone"):
            cell = row[header.index(name)]
            assert cell.number_format == "@" and isinstance(cell.value, str)
    table = read_table(exported.data)
    phones = {cells["slug"]: cells["phone"] for _, cells in table.rows}
    assert (
        phones["wenchang-digits-co"] == "089865321234"
        and phones["wenchang-mobile-co"] == "13800138000"
    )
    again = import_listings("enterprises", exported.data, provincial())
    assert {r.key: r.action for r in again.rows}[rows[0][0]] == "unchanged"
