"""The expo visitor's journey on a phone (390 x 844): a QR image decoded by zxing-cpp gives
the URL; the passport opens small, styled (its inline CSS allowed by the CSP hash) and
script-free; one tap switches language; an authorization is verified. Print labels are
decoded back to their URLs."""

import io
import threading
from urllib.parse import urlparse

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from app.admin import printing
from app.db import db
from app.models import Authorization, AuthorizationStatus, Product
from app.services import codes
from tests.conftest import make_config

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def qr_site(database_factory, media_root, tmp_path_factory):
    """A live server whose SITE_BASE_URL is its own address, so printed codes lead to it."""
    app = create_app(make_config(database_factory(), tmp_path_factory.mktemp("qr"), media_root))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["SITE_BASE_URL"] = f"http://127.0.0.1:{server.port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()
    with app.app_context():
        db.engine.dispose()  # close pooled connections now, not at garbage collection


def decode(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def phone_page(browser, lang="zh"):
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN" if lang == "zh" else "en-US"
    )
    page = context.new_page()
    page.problems, page.transferred, page.outside = [], [], []
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))

    def finished(request):
        if urlparse(request.url).hostname != "127.0.0.1":
            page.outside.append(request.url)
        sizes = request.sizes()
        page.transferred.append(
            (request.url, sizes["responseBodySize"] + sizes["responseHeadersSize"])
        )

    page.on("requestfinished", finished)
    return page


def test_scan_decode_open_passport_switch_language_and_verify(browser, qr_site, artifacts):
    base = qr_site.config["SITE_BASE_URL"]
    page = phone_page(browser, "zh")
    # The visitor's camera sees the SVG as the browser draws it.
    page.goto(f"{base}/products/wenchang-chicken")
    svg_href = page.locator(".share-qr a", has_text="SVG").get_attribute("href")
    page.set_content(f'<img id="qr" src="{base + svg_href}" width="300" alt="">')
    page.wait_for_function("document.getElementById('qr').complete")
    shot = page.locator("#qr").screenshot()
    (artifacts / "qr-svg-phone.png").write_bytes(shot)
    urls = decode(shot)
    assert len(urls) == 1 and urls[0].startswith(f"{base}/q/")
    code = urls[0].rsplit("/", 1)[1]
    assert codes.code_problem(code) is None

    page.transferred.clear()
    page.problems.clear()
    page.on("response", lambda r: r.status >= 400 and page.problems.append(f"{r.status} {r.url}"))
    page.goto(urls[0])
    assert page.locator("h1").inner_text().startswith("文昌鸡")
    assert page.locator(".photo img").evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.get_by_text("地理标志登记").is_visible()
    # The inline stylesheet ran (CSP hash matched): the language button is styled.
    radius = page.locator("a.lang").evaluate("a => getComputedStyle(a).borderTopLeftRadius")
    assert radius != "0px"
    assert not page.problems, page.problems
    assert page.locator("script").count() == 0 and not page.outside
    total = sum(size for _url, size in page.transferred)
    assert total < 50_000, page.transferred
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    page.screenshot(path=artifacts / "passport-zh-phone.png", full_page=True)

    page.locator("a.lang").tap()
    page.wait_for_url("**?lang=en")
    assert page.locator("h1").inner_text().startswith("Wenchang Chicken")
    page.screenshot(path=artifacts / "passport-en-phone.png", full_page=True)

    with qr_site.app_context():
        valid = db.session.scalar(
            select(Authorization)
            .where(Authorization.auth_status == AuthorizationStatus.VALID)
            .order_by(Authorization.id)
        )
        credit_code = valid.enterprise.credit_code
    page.get_by_role("link", name="Check authenticity").tap()
    page.wait_for_url("**/verify")
    page.locator("#code").fill(credit_code.lower())
    page.get_by_role("button", name="Check").tap()
    page.wait_for_url("**/verify?code=*")
    assert page.locator(".status-valid").first.inner_text() == "Authorised"
    page.screenshot(path=artifacts / "verify-en-phone.png", full_page=True)


def test_printed_labels_decode_to_their_passports(browser, qr_site, artifacts):
    with qr_site.app_context():
        products = list(db.session.scalars(select(Product).order_by(Product.id).limit(3)))
        expected = [
            codes.short_url(qr_site.config["SITE_BASE_URL"], codes.code_for(p)) for p in products
        ]
        with qr_site.test_request_context():
            sheet = printing.label_sheet_html(printing.labels_for(products))
    page = browser.new_page(viewport={"width": 800, "height": 1000})
    page.set_content(sheet)
    page.screenshot(path=artifacts / "labels.png", full_page=True)
    for index, url in enumerate(expected):
        shot = page.locator(".label-qr svg").nth(index).screenshot()
        assert decode(shot) == [url]
    page.close()
