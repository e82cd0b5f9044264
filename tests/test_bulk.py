"""Bulk import/export on real CSV and XLSX files (written here with csv and openpyxl, in
the encodings Excel produces), against the seeded database."""

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale, gettext
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.db import db
from app.models import (
    Authorization,
    Brand,
    BrandKind,
    Enterprise,
    GISign,
    IndustryFact,
    Product,
    PublicationStatus,
    Regime,
    SignStatus,
)
from app.models.audit import AuditEntry
from app.models.enterprises import credit_code_check_char
from app.models.revisions import ListingRevision
from app.services import listings
from app.services.bulk import (
    KINDS,
    ImportRefused,
    columns,
    dry_run,
    export_listings,
    import_listings,
    template,
)
from app.services.listings import PENDING
from app.services.spreadsheets import MAX_BYTES, MAX_ROWS, BulkError, read_table
from tests.admin_support import editor_of, provincial
from tests.sheet_files import HEADER, NEW_ROWS, csv_file, xlsx_file


@pytest.fixture(autouse=True)
def in_a_request(app):
    """As in the back office: the help sheet is written in the requester's language."""
    with app.test_request_context("/?lang=zh"):
        yield


def product(slug: str) -> Product | None:
    return db.session.scalar(select(Product).filter_by(slug=slug))


def product_count() -> int:
    return db.session.scalar(select(func.count(Product.id)))


def test_template_has_the_columns_and_a_help_sheet(app):
    names = [c.name for c in columns(KINDS["products"])] + ["status"]
    plain = template("products", "csv")
    assert plain.data.startswith(b"\xef\xbb\xbf") and plain.filename.endswith(".csv")
    assert next(csv.reader(io.StringIO(plain.data.decode("utf-8-sig")))) == names

    with force_locale("zh"):
        sheet = template("products", "xlsx")
    workbook = load_workbook(io.BytesIO(sheet.data))
    assert [c.value for c in workbook.worksheets[0][1]] == names
    help_text = " ".join(
        str(c.value) for row in workbook.worksheets[1].iter_rows() for c in row if c.value
    )
    assert "wenchang" in help_text and "文昌市" in help_text and "poultry" in help_text
    assert re.search(r"[\u4e00-\u9fff]{4}", workbook.worksheets[1]["C2"].value)  # help in Chinese


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_import_creates_drafts_all_at_once_and_twice_changes_nothing(app, fmt):
    data = csv_file(NEW_ROWS) if fmt == "csv" else xlsx_file(NEW_ROWS)
    before = product_count()
    plan = dry_run("products", data, editor_of("wenchang"))
    assert plan.ok and [r.action for r in plan.rows] == ["create", "create"]
    assert [r.row for r in plan.rows] == [2, 3]
    assert product_count() == before  # the dry run wrote nothing

    import_listings("products", data, editor_of("wenchang"))
    db.session.commit()
    candy, pepper = product("wenchang-coconut-candy"), product("wenchang-pepper")
    assert candy.status == PublicationStatus.DRAFT and pepper.status == PublicationStatus.DRAFT
    assert candy.season_months == list(range(1, 13)) and pepper.season_months == [9, 10, 11]
    assert [c.slug for c in pepper.counties] == ["wenchang"]  # found by its Chinese name
    assert pepper.name_en is None and pepper.summary_zh == ""
    versions = (candy.version, pepper.version, candy.updated_at)

    again = import_listings("products", data, editor_of("wenchang"))
    db.session.commit()
    assert [r.action for r in again.rows] == ["unchanged", "unchanged"]
    db.session.expire_all()
    candy, pepper = product("wenchang-coconut-candy"), product("wenchang-pepper")
    assert (candy.version, pepper.version, candy.updated_at) == versions
    assert product_count() == before + 2


def test_only_differing_fields_are_written(app):
    import_listings("products", csv_file(NEW_ROWS), editor_of("wenchang"))
    db.session.commit()
    candy = product("wenchang-coconut-candy")
    version = candy.version
    changed = [list(NEW_ROWS[0]), list(NEW_ROWS[1])]
    changed[0][2] = "Wenchang coconut sweets"
    plan = import_listings("products", csv_file(changed), editor_of("wenchang"))
    db.session.commit()
    assert [r.action for r in plan.rows] == ["update", "unchanged"]
    assert plan.rows[0].changes == {
        "name_en": ("Wenchang coconut candy", "Wenchang coconut sweets")
    }
    assert candy.name_en == "Wenchang coconut sweets" and candy.version == version + 1


BAD_ROWS = [
    ["ok-row", "好的", "", "fruit", "wenchang", "", ""],  # row 2: fine on its own
    ["no-name", "", "", "fruit", "wenchang", "", ""],  # 3
    ["bad-cat", "分类", "", "rocks", "wenchang", "", ""],  # 4
    ["bad-county", "县", "", "fruit", "atlantis", "", ""],  # 5
    ["bad-months", "月", "", "fruit", "wenchang", "13", ""],  # 6
    ["sanya-thing", "三亚", "", "fruit", "sanya", "", ""],  # 7: not this editor's county
    ["ok-row", "重复", "", "fruit", "wenchang", "", ""],  # 8: duplicate key
    ["Bad Slug!", "坏", "", "fruit", "wenchang", "", ""],  # 9
    ["no-county", "无县", "", "fruit", "", "", ""],  # 10
    ["long", "长" * 129, "", "fruit", "wenchang", "", ""],  # 11
    ["wenchang-chicken", "文昌鸡（改）", "", "poultry", "wenchang", "", ""],  # 12: published
]


def test_dry_run_lists_each_bad_row_and_import_applies_none(app):
    data = csv_file(BAD_ROWS)
    plan = dry_run("products", data, editor_of("wenchang"))
    found = {(e.row, e.field) for e in plan.errors}
    assert found == {
        (3, "name_zh"),
        (4, "category"),
        (5, "counties"),
        (6, "season"),
        (7, "counties"),
        (8, "slug"),
        (9, "slug"),
        (10, "counties"),
        (11, "name_zh"),
        (12, None),
    }
    with force_locale("zh"):
        chinese = {e.row: str(e.message) for e in plan.errors}
    with force_locale("en"):
        english = {e.row: str(e.message) for e in plan.errors}
    assert "rocks" in english[4] and "rocks" in chinese[4] and chinese[4] != english[4]
    assert all(re.search(r"[\u4e00-\u9fff]", m) for m in chinese.values())
    assert "row 2" in english[8]

    before = product_count()
    chicken_version = product("wenchang-chicken").version
    with pytest.raises(ImportRefused) as refused:
        import_listings("products", data, editor_of("wenchang"))
    assert len(refused.value.plan.errors) == len(plan.errors)
    db.session.commit()
    assert product_count() == before and product("ok-row") is None
    assert product("wenchang-chicken").version == chicken_version


def test_published_changes_become_a_pending_revision_when_asked(app):
    row = ["wenchang-chicken", "文昌鸡", "Wenchang Chicken (new)", "poultry", "wenchang", "1-12"]
    data = csv_file([row], header=HEADER[:6])
    plan = import_listings("products", data, editor_of("wenchang"), revise_published=True)
    db.session.commit()
    assert [r.action for r in plan.rows] == ["update"]
    revision = db.session.scalar(
        select(ListingRevision).where(
            ListingRevision.listing_type == "products",
            ListingRevision.listing_id == product("wenchang-chicken").id,
            ListingRevision.state.in_(PENDING),
        )
    )
    assert json.loads(revision.data)["name_en"] == "Wenchang Chicken (new)"
    assert product("wenchang-chicken").name_en == "Wenchang Chicken"  # nothing went public


def test_province_wide_and_other_counties_need_the_provincial_office(app):
    rows = [["island-salt", "海盐", "", "processed-food", "", "", ""]]
    header = HEADER + ["province_wide"]
    data = csv_file([r + ["yes"] for r in rows], header=header)
    assert {(e.row, e.field) for e in dry_run("products", data, editor_of("wenchang")).errors} == {
        (2, "province_wide")
    }
    assert dry_run("products", data, provincial()).ok  # every county


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_round_trips_without_changes(app, fmt):
    wenchang = editor_of("wenchang")
    import_listings("products", csv_file(NEW_ROWS), wenchang)
    db.session.commit()
    exported = export_listings("products", wenchang, fmt)
    table = read_table(exported.data)
    slugs = [cells["slug"] for _, cells in table.rows]
    assert "wenchang-chicken" in slugs and "wenchang-pepper" in slugs and "hele-crab" not in slugs
    statuses = {cells["slug"]: cells["status"] for _, cells in table.rows}
    assert statuses["wenchang-pepper"] == "draft" and statuses["wenchang-chicken"] == "published"

    plan = import_listings("products", exported.data, wenchang)
    assert {r.action for r in plan.rows} == {"unchanged"}
    assert not db.session.dirty and not db.session.new

    everything = export_listings("products", provincial(), fmt)
    assert {r.action for r in import_listings("products", everything.data, provincial()).rows} == {
        "unchanged"
    }


DANGEROUS = ['=HYPERLINK("http://evil","x")', "+1+2", "-5 °C", "@SUM(A1)", "'=quoted"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_neutralises_formulas_and_still_round_trips(app, fmt):
    rows = [
        [f"risky-{i}", "风险", value, "fruit", "wenchang", "", value]
        for i, value in enumerate(DANGEROUS)
    ]
    import_listings("products", csv_file(rows), editor_of("wenchang"))
    quoted = product("risky-4")  # a file's "'=x" means "=x": put a real apostrophe in directly
    quoted.name_en = quoted.summary_zh = DANGEROUS[4]
    db.session.commit()
    assert product("risky-0").name_en == DANGEROUS[0]
    exported = export_listings("products", editor_of("wenchang"), fmt).data
    if fmt == "csv":
        cells = [c for row in csv.reader(io.StringIO(exported.decode("utf-8-sig"))) for c in row]
    else:
        sheet = load_workbook(io.BytesIO(exported)).worksheets[0]
        cells = [c.value or "" for row in sheet.iter_rows() for c in row]
        assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    for value in DANGEROUS:
        assert "'" + value in cells and value not in cells
    plan = import_listings("products", exported, editor_of("wenchang"))
    assert {r.action for r in plan.rows} == {"unchanged"}


@pytest.mark.parametrize(
    "encoding, delimiter",
    [("utf-8", ","), ("utf-8-sig", ","), ("gbk", ","), ("gb18030", ";"), ("utf-16", "\t")],
)
def test_encodings_excel_writes_are_read(app, encoding, delimiter):
    data = csv_file(NEW_ROWS, encoding=encoding, delimiter=delimiter)
    plan = dry_run("products", data, editor_of("wenchang"))
    assert plan.ok and [r.changes["name_zh"][1] for r in plan.rows] == ["文昌椰子糖", "文昌胡椒"]


FILE_ERRORS = {
    "empty": (lambda: b"", "empty"),
    "unknown encoding": (
        lambda: b"slug,name_zh,category\nx,\xff\xfe\xff\xfe\x80,fruit\n",
        "encoding",
    ),
    "old xls": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "xls"),
    "damaged xlsx": (lambda: b"PK\x03\x04" + b"garbage" * 50, "damaged"),
    "oversized": (lambda: csv_file([["a" * 1000] * 7] * (MAX_BYTES // 7000 + 10)), "too_large"),
    "too many rows": (
        lambda: csv_file(
            [[f"p{i}", "名", "", "fruit", "wenchang", "", ""] for i in range(MAX_ROWS + 1)]
        ),
        "too_many_rows",
    ),
    "header only": (lambda: csv_file([]), "no_rows"),
    "unknown column": (
        lambda: csv_file([["a", "b", "c", "d", "e", "f", "g", "h"]], header=HEADER + ["price"]),
        "unknown_columns",
    ),
    "missing column": (lambda: csv_file([["a"]], header=["slug"]), "missing_columns"),
    "duplicate column": (
        lambda: csv_file([["a", "b", "c"]], header=["slug", "slug", "name_zh"]),
        "duplicate_columns",
    ),
    # Many NULs: binary or mis-decoded (a stray one is a row error: test_unstorable_text).
    "NUL bytes": (lambda: b"slug,name_zh,category\nx," + b"\x00" * 64 + b",fruit\n", "damaged"),
}


@pytest.mark.parametrize("name", FILE_ERRORS)
def test_unusable_files_get_a_clear_message(app, name):
    make, code = FILE_ERRORS[name]
    with pytest.raises(BulkError) as caught:
        dry_run("products", make(), provincial())
    assert caught.value.code == code
    with force_locale("zh"):
        assert re.search(r"[\u4e00-\u9fff]", str(caught.value.user_message))


def test_xlsx_zip_bomb_is_refused_before_parsing(app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/sharedStrings.xml", b"\x00" * (61 * 1024 * 1024))
    assert len(buffer.getvalue()) < MAX_BYTES
    with pytest.raises(BulkError) as caught:
        read_table(buffer.getvalue())
    assert caught.value.code == "too_large"


# --- enterprises ---------------------------------------------------------------------------


def new_credit_code(serial: int) -> str:
    first17 = f"914690050000{serial:05d}"
    return first17 + credit_code_check_char(first17)


ENTERPRISE_HEADER = ["credit_code", "slug", "name_zh", "county", "website", "email"]


def test_enterprises_import_validate_and_round_trip(app):
    good = [
        new_credit_code(901),
        "wenchang-coconut-co",
        "文昌椰子公司",
        "wenchang",
        "https://example.cn",
        "info@example.cn",
    ]
    data = csv_file([good], header=ENTERPRISE_HEADER)
    import_listings("enterprises", data, editor_of("wenchang"))
    db.session.commit()
    created = db.session.scalar(select(Enterprise).filter_by(slug="wenchang-coconut-co"))
    assert created.status == PublicationStatus.DRAFT and created.credit_code == good[0]

    bad = [
        [
            good[0][:17] + "0" if good[0][17] != "0" else good[0][:17] + "1",
            "x-1",
            "甲",
            "wenchang",
            "",
            "",
        ],
        [new_credit_code(902), "x-2", "乙", "wenchang", "javascript:alert(1)", ""],
        [new_credit_code(903), "x-3", "丙", "wenchang", "", "not-an-email"],
        [new_credit_code(904), "wenchang-coconut-co", "丁", "wenchang", "", ""],  # slug taken
        [new_credit_code(905), "x-5", "戊", "sanya", "", ""],
    ]
    plan = dry_run("enterprises", csv_file(bad, header=ENTERPRISE_HEADER), editor_of("wenchang"))
    assert {(e.row, e.field) for e in plan.errors} == {
        (2, "credit_code"),
        (3, "website"),
        (4, "email"),
        (5, "slug"),
        (6, "county"),
    }

    exported = export_listings("enterprises", editor_of("wenchang"), "xlsx")
    codes = [cells["credit_code"] for _, cells in read_table(exported.data).rows]
    assert good[0] in codes and "914690060000000275" not in codes  # Wanning's is not exported
    plan = import_listings("enterprises", exported.data, editor_of("wenchang"))
    assert {r.action for r in plan.rows} == {"unchanged"}


# --- one write path: rows go through the listing services, as a form save does --------------


def _last_audit(action: str) -> dict:
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc())
    )
    return {
        "action": entry.action,
        "actor": entry.actor_id,
        "object": (entry.object_type, entry.object_id),
        "summary": entry.summary,
        "details": json.loads(entry.details) if isinstance(entry.details, str) else entry.details,
    }


def test_an_imported_change_to_a_published_listing_is_revised_and_audited_as_a_form_save(app):
    editor = editor_of("wenchang")
    db.session.commit()
    chicken = product("wenchang-chicken")
    row = [
        "wenchang-chicken",
        "文昌鸡",
        "Wenchang Chicken (imported)",
        "poultry",
        "wenchang",
        "1-12",
    ]
    import_listings("products", csv_file([row], header=HEADER[:6]), editor, revise_published=True)
    imported = _last_audit("revise")
    revision = listings.pending_revision(KINDS["products"], chicken)
    by_import = json.loads(revision.data)
    db.session.rollback()

    # The same change saved through the form's service: the same revision, the same entry.
    state = listings.edit_state(KINDS["products"], chicken)
    values = {**state.values, "name_en": "Wenchang Chicken (imported)"}
    listings.save_listing(KINDS["products"], chicken, values, editor, state.token)
    assert _last_audit("revise") == imported
    assert imported["details"] == {"name_en": ["Wenchang Chicken", "Wenchang Chicken (imported)"]}
    assert json.loads(listings.pending_revision(KINDS["products"], chicken).data) == by_import
    assert product("wenchang-chicken").name_en == "Wenchang Chicken"  # nothing went public


def test_an_editors_import_outside_their_county_is_refused_by_the_access_check(app):
    import_listings("products", csv_file(NEW_ROWS), editor_of("wenchang"))
    db.session.commit()
    # Sanya's editor leaves the counties column out: only the listing's own county decides.
    row = ["wenchang-pepper", "文昌胡椒", "Wenchang pepper, from Sanya", "spice"]
    data = csv_file([row], header=HEADER[:4])
    plan = dry_run("products", data, editor_of("sanya"))
    assert [(e.row, e.field) for e in plan.errors] == [(2, "counties")]
    # The access helper's own words, as the form shows them (in the requester's language).
    assert str(plan.errors[0].message) == gettext(
        "This listing belongs to a county you are not assigned to."
    )
    with pytest.raises(ImportRefused):
        import_listings("products", data, editor_of("sanya"))
    assert product("wenchang-pepper").name_en is None


def test_an_imported_row_is_created_and_audited_as_a_form_create(app):
    editor = editor_of("wenchang")
    import_listings("products", csv_file(NEW_ROWS[:1]), editor)
    created = product("wenchang-coconut-candy")
    entry = _last_audit("create")
    assert entry["object"] == ("products", created.id) and entry["actor"] == editor.id
    assert created.created_by_id == editor.id and created.status == PublicationStatus.DRAFT
    assert entry["details"]["name_zh"] == [None, "文昌椰子糖"]


# --- every listing kind an official enters: signs, brands, authorizations, industry facts ----
#
# One table per kind: the county of the editor who imports, the listing a row of the export
# changes, and a new row (a cell of each kind written the ways officials type it). The tests
# below take each file from the editor's own export, so the columns are the registry's.

WENCHANG_CODE = "91469005000000019U"  # the seed's (demo) Wenchang enterprise
SANYA_CODE = "91460200000000051R"  # the seed's (demo) Sanya enterprise


@dataclass(frozen=True)
class KindCase:
    county: str
    existing: dict[str, str]  # cells that pick the changed listing out of the export
    changed: dict[str, object]  # the same listing, by its attributes
    change: tuple[str, str, str, object]  # column, cell, field, plain value stored
    new: dict[str, str]  # cells of the new row
    stored: tuple[str, object]  # on the new listing: attribute, value (read back normalised)


KIND_CASES = {
    "signs": KindCase(
        county="wenchang",
        existing={"product": "wenchang-chicken", "regime": "cnipa_gi_product", "number": ""},
        changed={"official_name_zh": "文昌鸡", "regime": Regime.CNIPA_GI_PRODUCT},
        change=(
            "official_name_en",
            "Wenchang Chicken (GI product)",
            "official_name_en",
            "Wenchang Chicken (GI product)",
        ),
        new={
            "product": "文昌鸡",  # by its name
            "regime": "gi_trademark",
            "official_name_zh": "文昌鸡（商标）",
            "number": "第 31000001 号",
            "approval_year": "2019",
            "approval_month": "5",
            "protected_counties": "文昌市",
            "sign_status": "",  # empty: valid, as in the form
        },
        stored=("number", "第31000001号"),
    ),
    "brands": KindCase(
        county="wenchang",
        existing={"slug": "demo-brand-wenchang-chicken"},
        changed={"slug": "demo-brand-wenchang-chicken"},
        change=("name_en", "Wenchang Chicken brand", "name_en", "Wenchang Chicken brand"),
        new={
            "slug": "wenchang-pepper-brand",
            "name_zh": "文昌胡椒品牌",
            "kind": "Enterprise brand",  # the label, in English
            "registration_number": "demo tm 0099",
            "nice_class": "30",
            "owner": "9146 9005 0000 0001 9u",  # grouped, lower case
            "products": "wenchang-chicken",
        },
        stored=("registration_number", "DEMO-TM-0099"),
    ),
    "authorizations": KindCase(
        county="wenchang",
        existing={"number": "DEMO-AUTH-2023-001"},
        changed={"number": "DEMO-AUTH-2023-001"},
        change=("valid_to", "2028-12-31", "valid_to", "2028-12-31"),
        new={
            "number": "demo auth 2025 100",
            "enterprise": WENCHANG_CODE,
            "sign": "wenchang-chicken|cnipa_gi_product",
            "valid_from": "2025/1/15",
            "valid_to": "2030年1月14日",
            "auth_status": "valid",
        },
        stored=("number", "DEMO-AUTH-2025-100"),
    ),
    "industry-facts": KindCase(
        county="wenchang",
        existing={"product": "wenchang-chicken", "year": "2024"},
        changed={"year": 2024, "employment": 22000},
        change=("employment", "22500", "employment", 22500),
        new={
            "product": "wenchang-chicken",
            "year": "2025",
            "output_tonnes": "21,000.5",
            "source": "文昌市统计局 2025",
        },
        stored=("year", 2025),
    ),
}


def exported(kind: str, actor) -> tuple[list[str], list[dict[str, str]]]:
    text = export_listings(kind, actor, "csv").data.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def sheet(fmt: str, header: list[str], rows: list[dict[str, str]]) -> bytes:
    cells = [[row.get(name, "") for name in header] for row in rows]
    return csv_file(cells, header=header) if fmt == "csv" else xlsx_file(cells, header=header)


def count_of(kind: str) -> int:
    model = KINDS[kind].model
    return db.session.scalar(select(func.count(model.id)))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", KIND_CASES)
def test_every_kind_dry_run_counts_then_confirm_writes_them(app, kind, fmt):
    case, listing_kind = KIND_CASES[kind], KINDS[kind]
    editor = editor_of(case.county)
    header, rows = exported(kind, editor)
    target = next(r for r in rows if all(r[k] == v for k, v in case.existing.items()))
    column, cell, field_name, plain = case.change
    target[column] = cell
    data = sheet(fmt, header, rows + [case.new])
    before = count_of(kind)

    plan = dry_run(kind, data, editor, revise_published=True)
    assert plan.ok, [(e.row, e.field, str(e.message)) for e in plan.errors]
    assert (plan.count("create"), plan.count("update")) == (1, 1)
    assert plan.count("unchanged") == len(rows) - 1
    assert count_of(kind) == before  # the dry run wrote nothing

    import_listings(kind, data, editor, revise_published=True)
    db.session.commit()
    assert count_of(kind) == before + 1
    attr, value = case.stored
    created = db.session.scalar(select(listing_kind.model).filter_by(**{attr: value}))
    assert created is not None and created.status == PublicationStatus.DRAFT
    changed = next(r for r in plan.rows if r.action == "update")
    assert list(changed.changes) == [column]
    listing = db.session.scalar(select(listing_kind.model).filter_by(**case.changed))
    revision = listings.pending_revision(listing_kind, listing)
    proposed = json.loads(revision.data) if revision else listing_kind.current_values(listing)
    assert proposed[field_name] == plain


def test_what_each_new_row_holds(app):
    """The cells typed the officials' ways are stored as the form would store them."""
    for kind, case in KIND_CASES.items():
        header, _rows = exported(kind, provincial())
        import_listings(kind, sheet("csv", header, [case.new]), editor_of(case.county))
    db.session.commit()
    sign = db.session.scalar(select(GISign).filter_by(number="第31000001号"))
    assert sign.product.slug == "wenchang-chicken" and sign.sign_status == SignStatus.VALID
    assert (sign.approval_year, sign.approval_month, sign.approval_day) == (2019, 5, None)
    assert [c.slug for c in sign.protected_counties] == ["wenchang"]
    brand = db.session.scalar(select(Brand).filter_by(slug="wenchang-pepper-brand"))
    assert brand.kind == BrandKind.ENTERPRISE and brand.owner.credit_code == WENCHANG_CODE
    assert [p.slug for p in brand.products] == ["wenchang-chicken"]
    grant = db.session.scalar(select(Authorization).filter_by(number="DEMO-AUTH-2025-100"))
    assert (grant.valid_from, grant.valid_to) == (date(2025, 1, 15), date(2030, 1, 14))
    assert grant.sign.regime == Regime.CNIPA_GI_PRODUCT and grant.enterprise.credit_code == (
        WENCHANG_CODE
    )
    fact = db.session.scalar(select(IndustryFact).filter_by(year=2025))
    assert fact.output_tonnes == Decimal("21000.5") and fact.product.slug == "wenchang-chicken"


# (kind, cells over the kind's new row, column of the error); every row of a kind goes in one
# file, so every key differs but where the duplicate is the point.
ROW_ERRORS = {
    "signs": [
        ({"product": "no-such-product", "number": "E1"}, "product"),
        ({"product": "sanya-mango", "number": "E2"}, "product"),  # another county's
        ({"number": "E3"}, None),
        ({"number": "E3"}, "number"),  # the same product, regime and number twice
        ({"number": "E4", "approval_month": "13"}, "approval_month"),
        ({"number": "E5", "approval_month": "2", "approval_day": "30"}, "approval_day"),
        ({"number": "E6", "regime": "patent"}, "regime"),
        ({"number": "3.1363E+07"}, "number"),  # Excel's scientific notation
        ({"number": "E7", "official_name_zh": ""}, "official_name_zh"),
    ],
    "authorizations": [
        ({"number": "A1", "enterprise": new_credit_code(990)}, "enterprise"),  # unknown
        ({"number": "A2", "sign": "NO-SUCH-SIGN"}, "sign"),
        ({"number": "A3", "sign": "农业部公告第2651号"}, "sign"),  # shared by five signs
        ({"number": "A4", "valid_from": "2024-02-30"}, "valid_from"),
        ({"number": "A5", "valid_from": "15/01/2024"}, "valid_from"),
        ({"number": "A6", "valid_from": "2025-01-01", "valid_to": "2024-01-01"}, "valid_to"),
        ({"number": "A7"}, None),
        ({"number": "Ａ７"}, "number"),  # the same number, as /verify reads it (full-width)
        ({"number": "A8", "enterprise": SANYA_CODE}, "enterprise"),  # another county's
        ({"number": "A9", "enterprise": "9.1469E+17"}, "enterprise"),  # Excel's damage
        ({"number": "A10", "enterprise": "914690050000000190"}, "enterprise"),  # check char
    ],
    "brands": [
        ({"slug": "b-1", "owner": new_credit_code(990)}, "owner"),
        ({"slug": "b-2", "products": "wenchang-chicken;atlantis-fruit"}, "products"),
        ({"slug": "b-3", "products": "sanya-mango"}, "products"),  # another county's
        ({"slug": "b-4"}, None),
        ({"slug": "b-4"}, "slug"),
        ({"slug": "b-5", "kind": ""}, "kind"),
        ({"slug": "b-6", "nice_class": "46"}, "nice_class"),
        ({"slug": "b-7", "registration_number": "3.1E+07"}, "registration_number"),
    ],
    "industry-facts": [
        ({"product": "no-such-product"}, "product"),
        ({"product": "sanya-mango"}, "product"),  # another county's
        ({"year": "2031"}, None),
        ({"year": "2031"}, "year"),  # the same product and year twice
        ({"year": "20x5"}, "year"),
        ({"year": "2032", "output_tonnes": "-5"}, "output_tonnes"),
        ({"year": "2033", "output_tonnes": "1.234"}, "output_tonnes"),
        ({"year": "2034", "source": ""}, "source"),
        ({"year": "2035", "output_value_cny_10k": "lots"}, "output_value_cny_10k"),
    ],
}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", ROW_ERRORS)
def test_every_error_kind_refuses_the_whole_file_by_row_and_column(app, kind, fmt):
    case = KIND_CASES[kind]
    editor = editor_of(case.county)
    header, _rows = exported(kind, editor)
    bad = [{**case.new, **cells} for cells, _column in ROW_ERRORS[kind]]
    data = sheet(fmt, header, [case.new] + bad)  # row 2 is good on its own
    expected = {(row, column) for row, (_c, column) in enumerate(ROW_ERRORS[kind], 3) if column}
    plan = dry_run(kind, data, editor)
    assert {(e.row, e.field) for e in plan.errors} == expected
    with force_locale("zh"):
        assert all(re.search(r"[\u4e00-\u9fff]", str(e.message)) for e in plan.errors)
    before = count_of(kind)
    with pytest.raises(ImportRefused) as refused:
        import_listings(kind, data, editor)
    assert len(refused.value.plan.errors) == len(expected)
    db.session.commit()
    assert count_of(kind) == before  # not even the good row


def test_reference_messages_say_what_to_do(app):
    header, _rows = exported("authorizations", provincial())
    rows = [
        {**KIND_CASES["authorizations"].new, **cells}
        for cells, _ in ROW_ERRORS["authorizations"][:3]
    ]
    with force_locale("en"):
        messages = [
            str(e.message)
            for e in dry_run("authorizations", sheet("csv", header, rows), provincial()).errors
        ]
    assert "import the enterprises first" in messages[0]
    assert "NO-SUCH-SIGN" in messages[1] and "product|regime" in messages[1]
    assert "names 5 GI signs" in messages[2] and "|agri_gi" in messages[2]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", KIND_CASES)
def test_every_kind_export_reimports_without_changes(app, kind, fmt):
    for actor in (editor_of(KIND_CASES[kind].county), provincial()):
        data = export_listings(kind, actor, fmt).data
        plan = import_listings(kind, data, actor)
        assert plan.rows and {r.action for r in plan.rows} == {"unchanged"}
        assert not db.session.dirty and not db.session.new
    assert len(read_table(export_listings(kind, provincial(), fmt).data).rows) > len(
        read_table(export_listings(kind, editor_of("wenchang"), fmt).data).rows
    )


def test_a_row_names_a_listing_saved_by_an_earlier_file_not_one_of_its_own(app):
    """The choice made for references (documented in the template's notes): a file holds one
    kind, so the listing a row names comes from an earlier import; a draft is enough."""
    editor = editor_of("wenchang")
    header, _rows = exported("signs", editor)
    row = {**KIND_CASES["signs"].new, "product": "wenchang-pepper"}
    plan = dry_run("signs", sheet("csv", header, [row]), editor)
    with force_locale("en"):
        assert [(e.field, "import the products first" in str(e.message)) for e in plan.errors] == [
            ("product", True)
        ]
    import_listings("products", csv_file(NEW_ROWS), editor)  # wenchang-pepper, a draft
    plan = import_listings("signs", sheet("csv", header, [row]), editor)
    assert [r.action for r in plan.rows] == ["create"]
    assert db.session.scalar(select(GISign).filter_by(number="第31000001号")).product.slug == (
        "wenchang-pepper"
    )
    with force_locale("en"):
        notes = " ".join(
            str(c.value)
            for r in load_workbook(io.BytesIO(template("signs", "xlsx").data))
            .worksheets[1]
            .iter_rows()
            for c in r
            if c.value
        )
    assert "cannot name a listing another row of the same file creates" in notes
