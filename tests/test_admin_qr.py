"""Back-office screens of the QR issue: label sheets and posters (decoded back to their URLs),
the scan dashboard, the counterfeit-report queue and expo management, each with the county
scoping and bad input."""

import csv
import io
import re
from datetime import date, timedelta

import pytest
import zxingcpp
from PIL import Image, ImageDraw
from sqlalchemy import delete, func, select

from app.admin import printing
from app.collation import by_name
from app.db import db
from app.models import (
    AuditEntry,
    Booth,
    CounterfeitReport,
    Enterprise,
    ExpoEvent,
    Product,
    PublicationStatus,
    ReportStatus,
)
from app.models.qr import ScanKind, ShortCode
from app.services import catalogue, codes, expos, reports, scans
from app.services.audit import verify_chain
from tests.admin_support import csrf_token, jpeg_bytes, login, make_users

# Most tests here call services or db.session themselves (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture
def people(app):
    return make_users()


def signed_in(app, who):
    client = app.test_client()
    assert login(client, who).status_code == 302
    return client


def product(slug) -> Product:
    return db.session.scalar(select(Product).where(Product.slug == slug))


def page(response) -> str:
    return response.get_data(as_text=True)


# --- decoding the inline SVG QR codes -----------------------------------------------------------

RUN = re.compile(r"M(\d+) (\d+)h(\d+)v1h-?\d+z")


def decode_svgs(html: str) -> list[str]:
    """Rasterise each inline QR symbol from its path of module runs, then read it with
    zxing-cpp: what a phone would read off the printed sheet."""
    found = []
    for match in re.finditer(r'<svg[^>]*viewBox="0 0 (\d+) [\d.]+"[^>]*>(.*?)</svg>', html, re.S):
        size, body = int(match.group(1)), match.group(2)
        path = re.search(r'<path fill="#000" d="([^"]+)"', body)
        if path is None:
            continue
        scale = 6
        image = Image.new("L", (size * scale, size * scale), 255)
        draw = ImageDraw.Draw(image)
        for x, y, width in RUN.findall(path.group(1)):
            x, y, width = int(x), int(y), int(width)
            draw.rectangle([x * scale, y * scale, (x + width) * scale - 1, (y + 1) * scale - 1], 0)
        found += [r.text for r in zxingcpp.read_barcodes(image)]
    return found


def post_sheet(client, choice: dict):
    """POST the label chooser (with its CSRF token) for a sheet of the chosen listings."""
    data = {"csrf_token": csrf_token(client, "/admin/labels/"), **choice}
    return client.post("/admin/labels/sheet", data=data)


def short_url(app, obj) -> str:
    return codes.short_url(app.config["SITE_BASE_URL"], codes.code_for(obj))


# --- label sheets -------------------------------------------------------------------------------


def test_editor_chooses_own_county_products_and_the_sheet_decodes_to_their_urls(app, people):
    client = signed_in(app, "editor_a")
    chooser = page(client.get("/admin/labels/"))
    chicken, mango = product("wenchang-chicken"), product("sanya-mango")
    assert f'value="{chicken.id}"' in chooser and chicken.name_zh in chooser
    assert mango.name_zh not in chooser  # a Sanya product is not offered to Wenchang
    response = post_sheet(client, {"products": [str(chicken.id)]})
    assert response.status_code == 200
    sheet = page(response)
    assert sheet.count('class="sheet a4"') == 1 and sheet.count('class="label"') == 1
    assert "qr-print.css" in sheet and 'class="print-hint"' in sheet
    assert decode_svgs(sheet) == [short_url(app, chicken)]
    assert response.headers["Cache-Control"] == "no-store"
    assert "script" not in sheet.lower()


def test_editor_posting_another_countys_product_gets_no_sheet(app, people):
    client = signed_in(app, "editor_a")
    mango = product("sanya-mango")
    response = post_sheet(client, {"products": [str(mango.id)]})
    assert response.status_code == 400
    assert 'class="sheet' not in page(response) and "errors" in page(response)


def test_every_published_product_fills_sheets_of_24(app, people):
    client = signed_in(app, "reviewer")
    published = db.session.scalar(
        select(func.count())
        .select_from(Product)
        .where(Product.status == PublicationStatus.PUBLISHED)
    )
    response = post_sheet(client, {"everything": ["products"]})
    sheet = page(response)
    assert sheet.count('class="label"') == published
    assert sheet.count('class="sheet a4"') == -(-published // 24)
    # In the chooser's order: names by pinyin (the officer's language, Chinese by default).
    first = by_name(
        db.session.scalars(select(Product).where(Product.status == PublicationStatus.PUBLISHED)),
        "zh",
    )[0]
    assert decode_svgs(sheet)[0] == short_url(app, first)


def test_label_sheet_needs_a_choice_and_a_csrf_token(app, people):
    client = signed_in(app, "editor_a")
    empty = client.post(
        "/admin/labels/sheet", data={"csrf_token": csrf_token(client, "/admin/labels/")}
    )
    assert empty.status_code == 400 and "Choose at least one listing" in page(
        client.post(
            "/admin/labels/sheet?lang=en", data={"csrf_token": csrf_token(client, "/admin/labels/")}
        )
    )
    chicken = product("wenchang-chicken")
    forged = client.post("/admin/labels/sheet", data={"products": [str(chicken.id)]})
    assert forged.status_code == 400 and 'class="sheet' not in page(forged)
    junk = post_sheet(client, {"products": ["1 OR 1=1"]})
    assert junk.status_code == 400


# --- booth posters ------------------------------------------------------------------------------


@pytest.fixture
def expo(app):
    today = catalogue.local_today()
    event = expos.create_event(
        "spring-fair", "春季农博会", today, today + timedelta(days=2), name_en="Spring Fair"
    )
    expos.add_booth(event, "C-7", products=[product("wenchang-chicken")], hall_zh="3号馆")
    db.session.commit()
    return event


@pytest.mark.parametrize("size", ["A4", "A3"])
def test_booth_poster_decodes_to_the_booth_url(app, people, expo, size):
    client = signed_in(app, "reviewer")
    booth = expo.booths[0]
    response = client.get(f"/admin/expos/{expo.id}/booths/{booth.id}/poster?size={size}")
    assert response.status_code == 200
    poster = page(response)
    assert f'class="sheet {size.lower()}"' in poster and "print-hint" in poster
    assert decode_svgs(poster) == [short_url(app, booth)]


def test_poster_size_and_rights(app, people, expo):
    booth = expo.booths[0]
    url = f"/admin/expos/{expo.id}/booths/{booth.id}/poster"
    reviewer = signed_in(app, "reviewer")
    bad = reviewer.get(url + "?size=A5&lang=en")
    assert bad.status_code == 400 and "A4 or A3" in page(bad)
    assert reviewer.get(f"/admin/expos/{expo.id}/booths/{booth.id + 999}/poster").status_code == 404
    assert signed_in(app, "editor_a").get(url).status_code == 403


def test_a_booth_without_a_code_prints_no_poster(app, expo):
    """A poster with a dead link must not reach the printer: a missing code row is an error."""
    booth = expo.booths[0]
    db.session.execute(delete(ShortCode).where(ShortCode.code == codes.code_for(booth)))
    with pytest.raises(LookupError, match="no short code"):
        printing.booth_poster_html(booth)


# --- scan dashboard -----------------------------------------------------------------------------


@pytest.fixture
def counted(app, expo):
    """Chicken (Wenchang) scanned 3 + 5 times, once at the fair; mango (Sanya) 4 times; bots
    and previews counted apart."""
    today = catalogue.local_today()
    chicken, mango = (
        codes.code_for(product("wenchang-chicken")),
        codes.code_for(product("sanya-mango")),
    )
    yesterday = today - timedelta(days=1)
    with db.engine.begin() as connection:
        scans.add_counts(
            connection,
            {
                (chicken, yesterday, 0, ScanKind.SCAN.value): 3,
                (chicken, today, expo.id, ScanKind.SCAN.value): 5,
                (chicken, today, 0, ScanKind.BOT.value): 7,
                (mango, today, 0, ScanKind.SCAN.value): 4,
                (mango, today - timedelta(days=400), 0, ScanKind.SCAN.value): 9,
            },
        )
    return {"chicken": chicken, "mango": mango, "today": today, "yesterday": yesterday}


def test_dashboard_draws_inline_svg_charts_with_table_fallback(app, people, counted, expo):
    client = signed_in(app, "reviewer")
    response = client.get("/admin/scans/?lang=en")
    assert response.status_code == 200
    html = page(response)
    assert html.count('role="img"') == 2 and html.count("<title id=") == 2
    assert "Scans per day and event" in html and "Most scanned codes" in html
    assert "12 scans; 7 other requests" in html  # 3 + 5 + 4 in the last 30 days; the bots
    assert "Spring Fair" in html and "Outside any event" in html
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td></tr>', html)
    assert rows[0] == (f"Wenchang Chicken · {counted['chicken']}", "8")
    assert ('<th scope="row">' + counted["yesterday"].isoformat() + "</th><td>3</td>") in html
    assert "<script" not in html


def test_event_filter_and_date_window(app, people, counted, expo):
    client = signed_in(app, "reviewer")
    html = page(client.get(f"/admin/scans/?lang=en&event={expo.id}"))
    assert "5 scans" in html and counted["mango"] not in html
    old = (counted["today"] - timedelta(days=400)).isoformat()
    html = page(client.get(f"/admin/scans/?lang=en&start={old}&end={old}"))
    assert "9 scans" in html and counted["mango"] in html


def test_editor_sees_only_the_codes_of_their_counties(app, people, counted):
    html = page(signed_in(app, "editor_a").get("/admin/scans/?lang=en"))
    assert counted["chicken"] in html and counted["mango"] not in html
    assert "8 scans" in html
    exported = signed_in(app, "editor_a").get("/admin/scans.csv")
    assert counted["mango"] not in page(exported) and counted["chicken"] in page(exported)


@pytest.mark.parametrize(
    "query, message",
    [
        ("start=2024-13-45", "Not a valid date value"),
        ("start=2024-05-10&end=2024-05-01", "The end date is before the start date."),
        ("start=2020-01-01&end=2024-01-01", "Choose at most 366 days."),
        ("start=2000-01-01", "Choose at most 366 days."),
        ("event=abc", "Not a valid choice"),
        ("start=" + "9" * 5000, "Not a valid date value"),
    ],
)
def test_bad_filters_are_a_400_with_a_message(app, people, query, message):
    client = signed_in(app, "reviewer")
    for path in ("/admin/scans/", "/admin/scans.csv"):
        response = client.get(f"{path}?lang=en&{query}")
        assert response.status_code == 400, (path, query)
        assert message in page(response) and 'role="img"' not in page(response)


def test_csv_export(app, people, counted):
    response = signed_in(app, "reviewer").get("/admin/scans.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="scans-')
    rows = list(csv.DictReader(io.StringIO(page(response))))
    assert {(r["code"], r["kind"], r["count"]) for r in rows} == {
        (counted["chicken"], "scan", "3"),
        (counted["chicken"], "scan", "5"),
        (counted["chicken"], "bot", "7"),
        (counted["mango"], "scan", "4"),
    }


def test_dashboard_without_scans(app, people):
    html = page(signed_in(app, "reviewer").get("/admin/scans/?lang=en"))
    assert "No scans in this period." in html and html.count('role="img"') == 1


# --- counterfeit reports ------------------------------------------------------------------------


@pytest.fixture
def filed(app):
    photo = reports.store_photo(app.config["INSTANCE_DIR"] / "reports", jpeg_bytes())
    wenchang = reports.submit_report(
        where_bought="Haikou market <b>stall 4</b>",
        description="<script>alert(1)</script>",
        product=product("wenchang-chicken"),
        photo_name=photo,
    )
    sanya = reports.submit_report(
        where_bought="Online shop",
        description="Fake mango box",
        product=product("sanya-mango"),
        photo_name=photo,
    )
    db.session.commit()
    return {"wenchang": wenchang, "sanya": sanya}


def test_queue_has_status_tabs_with_counts_and_is_scoped_per_county(app, people, filed):
    editor = signed_in(app, "editor_a")
    html = page(editor.get("/admin/reports/?lang=en"))
    assert f'/admin/reports/{filed["wenchang"].id}"' in html
    assert f'/admin/reports/{filed["sanya"].id}"' not in html
    assert "New (1)" in html and "Investigating (0)" in html and "Closed (0)" in html
    assert "&lt;b&gt;stall 4&lt;/b&gt;" in html
    reviewer = page(signed_in(app, "reviewer").get("/admin/reports/?lang=en"))
    assert "New (2)" in reviewer
    assert "No reports with this status." in page(
        editor.get("/admin/reports/?status=closed&lang=en")
    )
    assert editor.get("/admin/reports/?status=bogus&page=x").status_code == 200
    # A digit that int() refuses: page 1 like any other unusable page number, not a 500.
    assert editor.get("/admin/reports/", query_string={"page": "\u00b2"}).status_code == 200


def test_another_countys_report_and_photo_are_404(app, people, filed):
    editor = signed_in(app, "editor_a")
    sanya = filed["sanya"].id
    assert editor.get(f"/admin/reports/{sanya}").status_code == 404
    assert editor.get(f"/admin/reports/{sanya}/photo").status_code == 404
    response = editor.post(
        f"/admin/reports/{sanya}",
        data={"csrf_token": csrf_token(editor, "/admin/reports/"), "status": "closed", "note": "x"},
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(CounterfeitReport, sanya).report_status == ReportStatus.NEW
    assert editor.get("/admin/reports/999999").status_code == 404


def test_photo_only_through_the_authorised_route(app, people, filed):
    report = filed["wenchang"]
    anonymous = app.test_client().get(f"/admin/reports/{report.id}/photo")
    assert anonymous.status_code == 302 and "/admin/login" in anonymous.headers["Location"]
    response = signed_in(app, "editor_a").get(f"/admin/reports/{report.id}/photo")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(response.data)).size == (64, 48)
    assert app.test_client().get(f"/static/{report.photo_name}").status_code == 404


def test_detail_escapes_the_report_and_changes_status_with_an_audited_note(app, people, filed):
    report = filed["wenchang"]
    editor = signed_in(app, "editor_a")
    html = page(editor.get(f"/admin/reports/{report.id}?lang=en"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert f'src="/admin/reports/{report.id}/photo"' in html
    response = editor.post(
        f"/admin/reports/{report.id}",
        data={
            "csrf_token": csrf_token(editor, f"/admin/reports/{report.id}"),
            "status": "investigating",
            "note": "Visited the stall; samples taken.",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    stored = db.session.get(CounterfeitReport, report.id)
    assert stored.report_status == ReportStatus.INVESTIGATING
    assert stored.official_note == "Visited the stall; samples taken."
    assert stored.handled_by_id == people["editor_a"].id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "report_status"))
    assert entry.object_id == report.id and entry.actor_email == people["editor_a"].email
    assert entry.changes["report_status"] == ["new", "investigating"]
    assert verify_chain().ok
    assert "Investigating (1)" in page(editor.get("/admin/reports/?lang=en"))


def test_bad_status_changes_are_refused_and_change_nothing(app, people, filed):
    report = filed["wenchang"]
    reports.update_report(report, None, ReportStatus.CLOSED, "done", None)
    db.session.commit()
    client = signed_in(app, "reviewer")
    url = f"/admin/reports/{report.id}"
    for data in (
        {"status": "new"},
        {"status": "deleted"},
        {"status": "investigating", "note": "x" * 4001},
    ):
        response = client.post(
            url + "?lang=en", data={"csrf_token": csrf_token(client, url), **data}
        )
        assert response.status_code == 400, data
    no_token = client.post(url, data={"status": "investigating"})
    assert no_token.status_code == 400
    db.session.expire_all()
    stored = db.session.get(CounterfeitReport, report.id)
    assert stored.report_status == ReportStatus.CLOSED and stored.official_note == "done"


# --- expos --------------------------------------------------------------------------------------


def event_data(client, **changes):
    data = {
        "csrf_token": csrf_token(client, "/admin/expos/new"),
        "slug": "autumn-fair",
        "name_zh": "秋季农博会",
        "name_en": "Autumn Fair",
        "venue_zh": "海口",
        "venue_en": "Haikou",
        "starts_on": "2030-10-01",
        "ends_on": "2030-10-03",
        "published": "y",
    }
    data.update(changes)
    return data


def test_reviewer_creates_an_event_and_a_booth_shown_on_the_public_page(app, people):
    client = signed_in(app, "reviewer")
    response = client.post("/admin/expos/new", data=event_data(client))
    assert response.status_code == 302
    event = db.session.scalar(select(ExpoEvent).where(ExpoEvent.slug == "autumn-fair"))
    assert (event.name_en, event.starts_on, event.venue_en) == (
        "Autumn Fair",
        date(2030, 10, 1),
        "Haikou",
    )
    chicken = product("wenchang-chicken")
    enterprise = db.session.scalar(
        select(Enterprise)
        .where(Enterprise.status == PublicationStatus.PUBLISHED)
        .order_by(Enterprise.id)
    )
    url = f"/admin/expos/{event.id}/booths/new"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "number": "D-1",
            "hall_zh": "1号馆",
            "hall_en": "Hall 1",
            "sort_order": "2",
            "product_ids": [str(chicken.id)],
            "enterprise_ids": [str(enterprise.id)],
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    booth = db.session.scalar(select(Booth).where(Booth.event_id == event.id))
    assert [p.id for p in booth.products] == [chicken.id]
    assert [e.id for e in booth.enterprises] == [enterprise.id]
    assert codes.code_for(booth) is not None
    public = page(app.test_client().get("/expo/autumn-fair?lang=en"))
    assert "Booth D-1" in public and "Wenchang Chicken" in public
    edit = page(client.get(f"/admin/expos/{event.id}/edit?lang=en"))
    assert "D-1" in edit and "Wenchang Chicken" in edit and "size=A3" in edit
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"expo_create", "booth_create"} <= actions


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"ends_on": "2030-09-01"}, "An event cannot end before it starts."),
        ({"starts_on": "not a date"}, "Not a valid date value"),
        ({"slug": "Bad Slug!"}, "Lower-case letters, digits and hyphens only"),
        ({"slug": "spring-fair"}, "Another event already uses this address."),
        ({"name_zh": ""}, "This field is required."),
        ({"name_en": "x" * 301}, "At most 300 characters."),
    ],
)
def test_bad_event_input_is_a_form_message(app, people, expo, changes, message):
    client = signed_in(app, "reviewer")
    before = db.session.scalar(select(func.count()).select_from(ExpoEvent))
    response = client.post("/admin/expos/new?lang=en", data=event_data(client, **changes))
    assert response.status_code == 400 and message in page(response)
    assert db.session.scalar(select(func.count()).select_from(ExpoEvent)) == before


def test_editing_an_event_and_its_booths(app, people, expo):
    client = signed_in(app, "reviewer")
    url = f"/admin/expos/{expo.id}/edit"
    response = client.post(
        url, data=event_data(client, slug="spring-fair", name_en="Spring Fair 2")
    )
    assert response.status_code == 302
    booth = expo.booths[0]
    burl = f"/admin/expos/{expo.id}/booths/{booth.id}/edit"
    form = page(client.get(burl))
    chicken = product("wenchang-chicken").id
    assert re.search(rf'<input checked [^>]*name="product_ids" [^>]*value="{chicken}"', form)
    second = expos.add_booth(expo, "C-8")
    db.session.commit()
    duplicate = client.post(
        burl + "?lang=en", data={"csrf_token": csrf_token(client, burl), "number": "C-8"}
    )
    assert duplicate.status_code == 400 and "already has a booth with this number" in page(
        duplicate
    )
    foreign = client.post(
        burl + "?lang=en",
        data={"csrf_token": csrf_token(client, burl), "number": "C-7", "product_ids": ["999999"]},
    )
    assert foreign.status_code == 400
    mango = product("sanya-mango")
    saved = client.post(
        burl,
        data={
            "csrf_token": csrf_token(client, burl),
            "number": "C-7",
            "product_ids": [str(mango.id)],
        },
    )
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(ExpoEvent, expo.id).name_en == "Spring Fair 2"
    assert [p.slug for p in db.session.get(Booth, booth.id).products] == ["sanya-mango"]
    assert client.get(f"/admin/expos/{expo.id}/booths/{second.id + 999}/edit").status_code == 404


def test_deleting_booths_keeps_their_codes_and_events_go_only_when_empty(app, people, expo):
    client = signed_in(app, "reviewer")
    booth = expo.booths[0]
    code, booth_id, expo_id = codes.code_for(booth), booth.id, expo.id
    token = csrf_token(client, f"/admin/expos/{expo.id}/edit")
    refused = client.post(f"/admin/expos/{expo.id}/delete", data={"csrf_token": token})
    assert refused.status_code == 302
    db.session.expire_all()
    assert db.session.get(ExpoEvent, expo.id) is not None
    removed = client.post(
        f"/admin/expos/{expo.id}/booths/{booth.id}/delete", data={"csrf_token": token}
    )
    assert removed.status_code == 302
    db.session.expire_all()
    assert db.session.get(Booth, booth_id) is None
    assert db.session.get(ShortCode, code) is not None  # never reused
    assert (
        client.post(f"/admin/expos/{expo_id}/delete", data={"csrf_token": token}).status_code == 302
    )
    db.session.expire_all()
    assert db.session.get(ExpoEvent, expo_id) is None


def test_editors_cannot_manage_expos(app, people, expo):
    def counts() -> tuple[int | None, int | None]:
        db.session.expire_all()
        return (
            db.session.scalar(select(func.count()).select_from(ExpoEvent)),
            db.session.scalar(select(func.count()).select_from(Booth)),
        )

    before = counts()  # the fixture's expo and the seed's demo expo
    editor = signed_in(app, "editor_a")
    token = csrf_token(editor, "/admin/")
    assert (
        editor.post(
            "/admin/expos/new", data={**event_data(editor), "csrf_token": token}
        ).status_code
        == 403
    )
    assert (
        editor.post(
            f"/admin/expos/{expo.id}/booths/{expo.booths[0].id}/delete", data={"csrf_token": token}
        ).status_code
        == 403
    )
    assert counts() == before
    assert "/admin/expos/" not in page(editor.get("/admin/"))


# --- dashboard and navigation -------------------------------------------------------------------


def test_dashboard_links_the_new_screens_and_counts_new_reports(app, people, filed):
    html = page(signed_in(app, "editor_a").get("/admin/?lang=en"))
    for href in ("/admin/labels/", "/admin/scans/", "/admin/reports/"):
        assert f'href="{href}"' in html
    assert "1 new" in html
    reviewer = page(signed_in(app, "reviewer").get("/admin/?lang=en"))
    assert "2 new" in reviewer and 'href="/admin/expos/"' in reviewer


def test_screens_are_translated(app, people, filed, expo):
    client = signed_in(app, "reviewer")
    for url, zh, en in (
        ("/admin/reports/", "仿冒举报", "Counterfeit reports"),
        ("/admin/scans/", "扫码统计", "QR scans"),
        ("/admin/labels/", "二维码标签", "QR labels"),
        ("/admin/expos/", "展会", "Expos"),
    ):
        assert zh in page(client.get(url + "?lang=zh")), url
        assert en in page(client.get(url + "?lang=en")), url


def test_audit_log_filters_report_changes(app, people, filed):
    report = filed["wenchang"]
    editor = signed_in(app, "editor_a")
    editor.post(
        f"/admin/reports/{report.id}",
        data={"csrf_token": csrf_token(editor, f"/admin/reports/{report.id}"), "status": "closed"},
    )
    admin = signed_in(app, "admin")
    html = page(admin.get("/admin/audit/?action=report_status&object_type=report&lang=en"))
    assert "Report status changed" in html and f"Counterfeit report #{report.id}" in html
    assert "new → closed" in html
