"""The back office in a real browser: an editor of Wenchang creates a product with a photo
and submits it, a reviewer publishes it, and the public page shows it. Accessibility checked
with axe."""

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from app import create_app
from app.db import db
from tests.admin_support import EMAILS, PASSWORD, make_users
from tests.conftest import make_config
from tests.e2e.support import assert_no_serious_axe_violations, serving

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def admin_server(database_factory, media_root, tmp_path_factory):
    app = create_app(make_config(database_factory(), tmp_path_factory.mktemp("admin"), media_root))
    with app.app_context():
        make_users()
        db.session.remove()
    with serving(app) as base_url:
        yield base_url


def sign_in(browser, base, who, lang="zh", viewport=DESKTOP, **options):
    context = browser.new_context(
        viewport=viewport, locale="zh-CN" if lang == "zh" else "en-US", **options
    )
    page = context.new_page()
    page.goto(f"{base}/admin/login?lang={lang}")
    page.fill("#email", EMAILS[who])
    page.fill("#password", PASSWORD)
    page.locator("form.narrow button[type=submit]").click()
    page.wait_for_url(f"{base}/admin/")
    return page


@pytest.fixture
def photo_file(tmp_path) -> Path:
    """A real phone-sized JPEG (2000 x 1500), drawn with Pillow."""
    image = Image.new("RGB", (2000, 1500), (235, 200, 120))
    draw = ImageDraw.Draw(image)
    for n in range(6):
        draw.ellipse([200 + n * 260, 500, 420 + n * 260, 720], fill=(200, 140, 40))
    path = tmp_path / "IMG_0001.jpg"
    image.save(path, format="JPEG", quality=88)
    return path


def test_editor_creates_reviewer_publishes_public_page_shows_it(
    browser, admin_server, artifacts, photo_file
):
    base = admin_server
    editor = sign_in(browser, base, "editor_a", lang="zh", viewport=PHONE)
    editor.goto(f"{base}/admin/products/new")
    editor.fill("#name_zh", "文昌椰子酥")
    editor.fill("#name_en", "Wenchang coconut pastry")
    editor.select_option("#category_id", index=1)  # index 0: "Choose…"
    editor.get_by_label("文昌市", exact=True).check()
    editor.fill("#summary_zh", "用文昌椰子制作的酥点。")
    editor.fill("#description_zh", "以文昌椰子和面粉烤制的传统酥点。")
    editor.get_by_label("一月", exact=True).check()
    editor.screenshot(path=artifacts / "admin-new-product-zh-phone.png", full_page=True)
    editor.get_by_role("button", name="保存草稿").click()
    editor.wait_for_url("**/admin/products/*/edit")
    assert "已保存为草稿" in editor.locator(".flash").inner_text()
    edit_url = editor.url
    # A photo from the phone, with its description in both languages.
    editor.set_input_files("#photo", str(photo_file))
    editor.fill("#alt_zh", "金黄的椰子酥摆在盘中")
    editor.fill("#alt_en", "Golden coconut pastries on a plate")
    editor.get_by_role("button", name="上传照片").click()
    editor.wait_for_url("**/admin/products/*/edit#photos")
    assert "照片已添加" in editor.locator(".flash").inner_text()
    thumbnail = editor.locator(".photo-list img").first
    assert thumbnail.get_attribute("alt") == "金黄的椰子酥摆在盘中"
    assert (
        editor.evaluate("img => img.complete && img.naturalWidth", thumbnail.element_handle()) > 0
    )
    # Its page needs a GI sign: the checklist says so and links to the sign form.
    assert editor.locator(".checklist li.missing").count() == 1
    editor.locator(".checklist li.missing a").click()
    editor.wait_for_url("**/admin/signs/new")
    editor.select_option("#product_id", label="文昌椰子酥")
    editor.select_option("#regime", index=1)
    editor.fill("#official_name_zh", "文昌椰子酥")
    editor.get_by_role("button", name="保存草稿").click()
    editor.wait_for_url("**/admin/signs/*/edit")
    editor.goto(edit_url)
    assert editor.locator(".checklist li.missing").count() == 0
    editor.get_by_role("button", name="提交审核").click()
    assert "已提交审核" in editor.locator(".flash").inner_text()
    overflow = editor.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"horizontal overflow of {overflow}px on a phone"
    editor.get_by_role("button", name="退出登录").first.click()
    editor.wait_for_url("**/admin/login")
    editor.context.close()

    reviewer = sign_in(browser, base, "reviewer", lang="en")
    waiting = reviewer.locator("section").first
    assert "文昌椰子酥" in waiting.inner_text()
    waiting.get_by_role("link", name="文昌椰子酥").click()
    assert reviewer.url == edit_url
    # The public page as it will look, bannered, before publishing.
    reviewer.get_by_role("link", name="Preview the public page").click()
    assert "Preview — not published" in reviewer.locator(".preview-banner").inner_text()
    assert "Wenchang coconut pastry" in reviewer.locator("h1").inner_text()
    reviewer.goto(edit_url)
    reviewer.get_by_role("button", name="Publish").click()
    reviewer.wait_for_url(f"{base}/admin/")
    assert "Published." in reviewer.locator(".flash").inner_text()
    reviewer.screenshot(path=artifacts / "admin-dashboard-en.png", full_page=True)
    reviewer.context.close()

    public = browser.new_context(viewport=DESKTOP).new_page()
    public.goto(f"{base}/products/wenchang-coconut-pastry?lang=en")
    assert "Wenchang coconut pastry" in public.locator("h1").inner_text()
    hero = public.locator("img.hero-img")
    assert hero.get_attribute("alt") == "Golden coconut pastries on a plate"
    hero.scroll_into_view_if_needed()
    public.wait_for_function("() => document.querySelector('img.hero-img').complete")
    assert public.evaluate("() => document.querySelector('img.hero-img').naturalWidth") > 0
    public.screenshot(path=artifacts / "public-product-with-photo-en.png")
    public.goto(f"{base}/counties/wenchang?lang=zh")
    assert public.locator(".cards").get_by_role("link", name="文昌椰子酥").count() == 1
    public.context.close()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/login?lang=zh",
        "/admin/?lang=en",
        "/admin/products/new?lang=zh",
        "/admin/products/?lang=en",
        "/admin/products/import?lang=zh",
        "first-product-edit",  # a product's edit page with its photo forms
    ],
)
def test_admin_pages_have_no_serious_accessibility_violations(
    browser, admin_server, artifacts, path
):
    page = sign_in(browser, admin_server, "admin", lang="en", bypass_csp=True)
    if path == "first-product-edit":
        page.goto(admin_server + "/admin/products/?lang=zh")
        page.locator(".admin-table a").first.click()
        page.wait_for_url("**/admin/products/*/edit")
        assert page.locator(".photo-list img").count() >= 1
    else:
        page.goto(admin_server + path)
    assert_no_serious_axe_violations(
        page, artifacts, "admin-" + path.strip("/").replace("/", "_").replace("?", "_")
    )
    page.context.close()
