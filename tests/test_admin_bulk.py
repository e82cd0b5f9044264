"""Bulk files through the back office: templates and exports downloaded, real CSV and XLSX
files uploaded, the dry run shown row by row, the import confirmed all or none, county
rights, published listings changed only through review, everything audited."""

import csv
import io
import json
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.db import db
from app.models import AuditEntry, Product
from app.models.listing import PublicationStatus
from app.models.revisions import ListingRevision
from app.services.audit import verify_chain
from tests.admin_support import csrf_token, login, make_users
from tests.sheet_files import HEADER, NEW_ROWS, csv_file, xlsx_file

# Most tests here call services or db.session themselves (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("app_ctx")


_PREVIEW = re.compile(
    r"/admin/(products|enterprises|signs|brands|authorizations|industry-facts)/import/"
    r"([A-Za-z0-9_-]+)$"
)


def signed_in(app, who: str):
    client = app.test_client()
    assert login(client, who).status_code == 302
    return client


def upload(client, data: bytes, name="products.csv", kind="products", lang="zh"):
    token = csrf_token(client, f"/admin/{kind}/import?lang={lang}")
    return client.post(
        f"/admin/{kind}/import?lang={lang}",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def preview_url(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    location = response.headers["Location"]
    assert _PREVIEW.search(location), location
    return location


def confirm(client, url: str):
    return client.post(url, data={"csrf_token": csrf_token(client, "/admin/")})


def product(slug: str) -> Product | None:
    db.session.expire_all()
    return db.session.scalar(select(Product).where(Product.slug == slug))


def count(action: str, object_type="products") -> int:
    return db.session.scalar(
        select(func.count(AuditEntry.seq)).where(
            AuditEntry.action == action, AuditEntry.object_type == object_type
        )
    )


def staged_files(app) -> list:
    folder = app.config["INSTANCE_DIR"] / "imports"
    return sorted(folder.glob("*")) if folder.exists() else []


def test_templates_download_in_both_formats(app):
    make_users()
    client = signed_in(app, "editor_a")
    page = client.get("/admin/products/").get_data(as_text=True)
    assert "/admin/products/template.csv" in page and "/admin/products/export.xlsx" in page
    assert "/admin/signs/template.csv" in client.get("/admin/signs/").get_data(as_text=True)

    response = client.get("/admin/products/template.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "products-template.csv" in response.headers["Content-Disposition"]
    header = next(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert header[:3] == ["slug", "name_zh", "name_en"] and header[-1] == "status"

    response = client.get("/admin/enterprises/template.xlsx?lang=zh")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data), read_only=True)
    try:
        assert workbook.sheetnames[0] == "enterprises"
        # the help sheet, in the user's language, and the hidden lists of choices
        assert workbook.sheetnames[2:] == ["lists"] and len(workbook.sheetnames) == 3
        first = next(workbook.worksheets[0].iter_rows(values_only=True))
        assert first[0] == "credit_code"
    finally:
        workbook.close()
    assert client.get("/admin/products/template.pdf").status_code == 404


def test_export_is_limited_to_the_editors_counties(app):
    make_users()
    editor = signed_in(app, "editor_a")
    exported = editor.get("/admin/products/export.csv").data.decode("utf-8-sig")
    slugs = {row["slug"] for row in csv.DictReader(io.StringIO(exported))}
    assert "wenchang-chicken" in slugs and "sanya-mango" not in slugs
    reviewer = signed_in(app, "reviewer")
    response = reviewer.get("/admin/products/export.xlsx")
    workbook = load_workbook(io.BytesIO(response.data), read_only=True)
    try:
        all_slugs = {
            row[0] for row in workbook.worksheets[0].iter_rows(min_row=2, values_only=True)
        }
    finally:
        workbook.close()
    assert {"wenchang-chicken", "sanya-mango"} <= all_slugs
    assert len(all_slugs) > len(slugs)


def test_dry_run_lists_errors_with_row_numbers_in_the_users_language(app):
    make_users()
    client = signed_in(app, "editor_a")
    rows = [NEW_ROWS[0], ["wenchang-bad", "坏行", "", "no-such-category", "wenchang", "13", ""]]
    url = preview_url(upload(client, csv_file(rows)))
    page = client.get(url + "?lang=zh").get_data(as_text=True)
    assert '<tr class="row-error"><td>3</td><td>category</td>' in page
    assert "未知类别" in page or "no-such-category" in page
    assert "<td>3</td><td>season</td>" in page
    assert "Import all" not in page and 'class="confirm"' not in page
    # Posting the confirmation anyway imports nothing.
    response = confirm(client, url)
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    assert product("wenchang-coconut-candy") is None
    english = client.get(url + "?lang=en").get_data(as_text=True)
    assert "Months are numbers from 1 to 12" in english


def test_confirm_imports_all_rows_and_twice_changes_nothing(app):
    make_users()
    client = signed_in(app, "editor_a")
    url = preview_url(upload(client, xlsx_file(NEW_ROWS), name="新产品.xlsx"))
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert "新产品.xlsx" in page
    assert page.count('class="row-create"') == 2 and "2 new, 0 changed, 0 unchanged" in page
    assert product("wenchang-coconut-candy") is None  # a dry run writes nothing
    response = confirm(client, url + "?lang=en")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/products/"
    listing = client.get("/admin/products/?lang=en").get_data(as_text=True)
    assert "Imported: 2 new, 0 changed, 0 unchanged." in listing
    candy = product("wenchang-coconut-candy")
    assert candy.status == PublicationStatus.DRAFT and candy.season_months == list(range(1, 13))
    assert [c.slug for c in product("wenchang-pepper").counties] == ["wenchang"]
    assert count("import") == 1 and count("create") == 2
    assert staged_files(app) == []  # the staged upload is gone after the import
    assert confirm(client, url).headers["Location"].endswith("/admin/products/import")

    versions = (candy.version, product("wenchang-pepper").version)
    url = preview_url(upload(client, csv_file(NEW_ROWS)))
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert "0 new, 0 changed, 2 unchanged" in page
    assert confirm(client, url).status_code == 302
    assert (
        product("wenchang-coconut-candy").version,
        product("wenchang-pepper").version,
    ) == versions
    assert count("create") == 2 and count("update") == 0
    assert verify_chain().ok


def test_rows_of_another_county_are_refused(app):
    make_users()
    client = signed_in(app, "editor_b")  # Sanya
    url = preview_url(upload(client, csv_file(NEW_ROWS), lang="en"))
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert page.count("You can only import listings of the counties you manage.") == 2
    assert 'class="confirm"' not in page
    confirm(client, url)
    assert product("wenchang-coconut-candy") is None and product("wenchang-pepper") is None
    assert count("import") == 0


def test_a_staged_upload_is_only_usable_by_its_uploader(app):
    make_users()
    owner = signed_in(app, "editor_a")
    url = preview_url(upload(owner, csv_file(NEW_ROWS)))
    other = signed_in(app, "reviewer")
    response = other.get(url)
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/admin/products/import"
    )
    assert confirm(other, url).status_code == 302
    assert product("wenchang-coconut-candy") is None
    # Nor under another kind's address, nor with a path for a token.
    assert owner.get(url.replace("/products/", "/enterprises/")).status_code == 302
    assert owner.get("/admin/products/import/..%2F..%2Fcatalogue.sqlite3").status_code in (302, 404)
    assert owner.get(url).status_code == 200


def test_changes_to_a_published_listing_become_a_revision_for_review(app):
    make_users()
    client = signed_in(app, "editor_a")
    exported = client.get("/admin/products/export.csv").data.decode("utf-8-sig")
    rows = [
        row for row in csv.DictReader(io.StringIO(exported)) if row["slug"] == "wenchang-chicken"
    ]
    live = product("wenchang-chicken")
    assert live.status == PublicationStatus.PUBLISHED
    old_summary, version = live.summary_zh, live.version
    rows[0]["summary_zh"] = "新的简介：文昌鸡"
    data = csv_file([list(rows[0].values())], header=list(rows[0].keys()))
    url = preview_url(upload(client, data, lang="en"))
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert "Change (to be reviewed)" in page and "新的简介：文昌鸡" in page
    assert confirm(client, url).status_code == 302
    live = product("wenchang-chicken")
    assert (live.summary_zh, live.version) == (old_summary, version)  # the public row as it was
    revision = db.session.scalar(
        select(ListingRevision).where(
            ListingRevision.listing_type == "products", ListingRevision.listing_id == live.id
        )
    )
    assert revision is not None
    proposed = json.loads(revision.data)
    assert proposed["summary_zh"] == "新的简介：文昌鸡"
    assert proposed["county_ids"] == sorted(c.id for c in live.counties)  # nothing else moved
    assert count("revise") == 1
    assert "新的简介：文昌鸡" not in app.test_client().get("/products/wenchang-chicken").get_data(
        as_text=True
    )


def test_unreadable_files_get_a_message_on_the_upload_form(app):
    make_users()
    client = signed_in(app, "editor_a")
    response = upload(client, b"\xd0\xcf\x11\xe0" + b"\x00" * 100, name="old.xls", lang="en")
    assert response.status_code == 400
    assert "Old Excel files (.xls) are not supported" in response.get_data(as_text=True)
    response = upload(client, csv_file(NEW_ROWS, header=HEADER + ["colour"]), lang="en")
    assert response.status_code == 400 and "Unknown columns: colour" in response.get_data(
        as_text=True
    )
    token = csrf_token(client, "/admin/products/import")
    response = client.post("/admin/products/import?lang=en", data={"csrf_token": token})
    assert response.status_code == 400 and "Please choose a file to import." in response.get_data(
        as_text=True
    )
    assert staged_files(app) == []


# --- every kind an official enters ----------------------------------------------------------
#
# kind: (its first columns, a row of the Wenchang editor's own, a row naming a Sanya listing,
# the column that Sanya row is refused on)
KIND_FILES = {
    "signs": (
        ["product", "regime", "number", "official_name_zh"],
        ["wenchang-chicken", "gi_trademark", "第31000002号", "文昌鸡（证明商标）"],
        ["sanya-mango", "gi_trademark", "第31000003号", "三亚芒果（证明商标）"],
        "product",
    ),
    "brands": (
        ["slug", "name_zh", "kind", "products"],
        ["wenchang-web-brand", "文昌网页品牌", "enterprise", "wenchang-chicken"],
        ["sanya-web-brand", "三亚网页品牌", "enterprise", "sanya-mango"],
        "products",
    ),
    "authorizations": (
        ["number", "enterprise", "sign", "valid_from"],
        ["DEMO-AUTH-2026-201", "91469005000000019U", "wenchang-chicken|cnipa_gi_product", ""],
        ["DEMO-AUTH-2026-202", "91460200000000051R", "sanya-mango|gi_trademark", ""],
        "enterprise",
    ),
    "industry-facts": (
        ["product", "year", "source"],
        ["wenchang-chicken", "2026", "文昌市农业农村局"],
        ["sanya-mango", "2026", "三亚市农业农村局"],
        "product",
    ),
}


def audit_count(action: str, kind: str) -> int:
    return count(action, object_type=kind)


@pytest.mark.parametrize("kind", KIND_FILES)
def test_every_kind_has_a_template_and_an_export_that_imports_unchanged(app, kind):
    make_users()
    client = signed_in(app, "editor_a")
    page = client.get(f"/admin/{kind}/?lang=en").get_data(as_text=True)
    assert f"/admin/{kind}/template.xlsx" in page and f"/admin/{kind}/import" in page
    header = next(
        csv.reader(io.StringIO(client.get(f"/admin/{kind}/template.csv").data.decode("utf-8-sig")))
    )
    assert set(KIND_FILES[kind][0]) <= set(header) and header[-1] == "status"
    workbook = load_workbook(io.BytesIO(client.get(f"/admin/{kind}/template.xlsx").data))
    assert workbook.sheetnames == [kind, "Help", "lists"]
    exported = client.get(f"/admin/{kind}/export.xlsx").data
    url = preview_url(upload(client, exported, name=f"{kind}.xlsx", kind=kind, lang="en"))
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert re.search(r"0 new, 0 changed, [1-9]\d* unchanged", page), page[-3000:]
    assert confirm(client, url).status_code == 302
    assert audit_count("import", kind) == 1 and audit_count("update", kind) == 0


@pytest.mark.parametrize("kind", KIND_FILES)
def test_every_kind_uploads_dry_runs_and_confirms_a_new_draft(app, kind):
    make_users()
    client = signed_in(app, "editor_a")
    header, mine, _theirs, _column = KIND_FILES[kind]
    url = preview_url(upload(client, csv_file([mine], header=header), kind=kind, lang="en"))
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert "1 new, 0 changed, 0 unchanged" in page and 'class="confirm"' in page
    response = confirm(client, url + "?lang=en")
    assert response.headers["Location"] == f"/admin/{kind}/"
    assert "Imported: 1 new" in client.get(f"/admin/{kind}/?lang=en").get_data(as_text=True)
    assert audit_count("create", kind) == 1 and audit_count("import", kind) == 1


@pytest.mark.parametrize("kind", KIND_FILES)
def test_every_kind_refuses_a_file_naming_another_countys_listing(app, kind):
    make_users()
    client = signed_in(app, "editor_a")  # Wenchang
    header, mine, theirs, column = KIND_FILES[kind]
    data = csv_file([mine, theirs], header=header)
    url = preview_url(upload(client, data, kind=kind, lang="en"))
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert page.count('class="row-error"') == 1
    assert f'<tr class="row-error"><td>3</td><td>{column}</td>' in page
    assert 'class="confirm"' not in page
    confirm(client, url)
    assert audit_count("create", kind) == 0 and audit_count("import", kind) == 0
