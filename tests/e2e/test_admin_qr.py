"""The QR back-office screens in Chromium: the scan dashboard draws its SVG charts under the
real CSP (no script), the label sheet decodes, and the screens pass axe."""

from datetime import timedelta

import pytest

from app import create_app
from app.db import db
from app.models import Product
from app.models.qr import ScanKind
from app.services import catalogue, codes, reports, scans
from tests.admin_support import jpeg_bytes, make_users
from tests.conftest import make_config
from tests.e2e.support import assert_no_serious_axe_violations, serving
from tests.e2e.test_admin_flow import sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def qr_admin_server(database_factory, media_root, tmp_path_factory):
    app = create_app(
        make_config(database_factory(), tmp_path_factory.mktemp("qradmin"), media_root)
    )
    with app.app_context():
        make_users()
        today = catalogue.local_today()
        counts = {}
        for n, product in enumerate(
            db.session.scalars(db.select(Product).order_by(Product.id).limit(6))
        ):
            code = codes.code_for(product)
            for day in range(14):
                counts[(code, today - timedelta(days=day), 0, ScanKind.SCAN.value)] = (n + 1) * (
                    day % 5 + 1
                )
        with db.engine.begin() as connection:
            scans.add_counts(connection, counts)
        photo = reports.store_photo(app.config["INSTANCE_DIR"] / "reports", jpeg_bytes())
        chicken = db.session.scalar(db.select(Product).where(Product.slug == "wenchang-chicken"))
        report = reports.submit_report(
            where_bought="Haikou", description="Odd label", product=chicken, photo_name=photo
        )
        db.session.commit()
        report_id = report.id
        db.session.remove()
    with serving(app) as base_url:
        yield base_url, report_id


def test_scan_dashboard_draws_svg_charts_without_script(browser, qr_admin_server, artifacts):
    base, _report = qr_admin_server
    page = sign_in(browser, base, "reviewer", lang="en")
    violations = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(f"{base}/admin/scans/")
    charts = page.locator("svg.chart-svg[role=img]")
    assert charts.count() == 2
    assert page.locator("svg.chart-svg polyline").count() >= 1
    assert page.locator("svg.chart-svg rect").count() == 6
    box = charts.first.bounding_box()
    assert box["width"] > 300 and box["height"] > 100  # drawn, not collapsed
    assert page.locator("script").count() == 0
    page.get_by_text("Show the figures as a table").first.click()
    assert page.locator("details.chart-data table").first.is_visible()
    page.screenshot(path=artifacts / "admin-scans-en.png", full_page=True)
    page.fill("#start", "2024-05-10")
    page.fill("#end", "2024-05-01")
    page.get_by_role("button", name="Show").click()
    assert "The end date is before the start date." in page.locator(".errors").inner_text()
    assert violations == []
    page.context.close()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/scans/?lang=zh",
        "/admin/labels/?lang=en",
        "/admin/reports/?lang=zh",
        "/admin/reports/{report}?lang=en",
        "/admin/expos/new?lang=zh",
    ],
)
def test_qr_admin_screens_have_no_serious_accessibility_violations(
    browser, qr_admin_server, artifacts, path
):
    base, report_id = qr_admin_server
    page = sign_in(browser, base, "admin", lang="en", bypass_csp=True)
    page.goto(base + path.format(report=report_id))
    assert_no_serious_axe_violations(
        page,
        artifacts,
        "admin-" + path.strip("/").replace("/", "_").replace("?", "_").format(report="r"),
    )
    page.context.close()


def test_editor_prints_a_label_sheet_that_decodes(browser, qr_admin_server, artifacts):
    import io

    import zxingcpp
    from PIL import Image

    base, _report = qr_admin_server
    page = sign_in(browser, base, "editor_a", lang="zh")
    page.goto(f"{base}/admin/labels/")
    page.get_by_label("文昌鸡", exact=True).check()
    page.get_by_role("button", name="生成标签纸").click()
    assert page.locator(".label").count() == 1
    assert page.locator(".print-hint").is_visible()
    page.emulate_media(media="print")
    assert not page.locator(".print-hint").is_visible()  # the hint is never printed
    page.emulate_media(media="screen")
    shot = page.locator(".label-qr svg").first.screenshot()
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))]
    assert len(decoded) == 1 and "/q/" in decoded[0]
    assert decoded[0].rsplit("/", 1)[1] in page.locator(".label-text .mono").inner_text()
    page.screenshot(path=artifacts / "admin-labels-zh.png", full_page=True)
    page.context.close()
