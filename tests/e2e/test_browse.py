"""The consumer's journey in a real browser: home -> county -> product, both languages,
phone and desktop; accessibility checked with axe-core; no request leaves the machine."""

from urllib.parse import urlparse

import pytest

from tests.e2e.support import assert_no_serious_axe_violations

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def new_page(browser, viewport, lang, **options):
    context = browser.new_context(
        viewport=viewport,
        locale="zh-CN" if lang == "zh" else "en-US",
        is_mobile=viewport is PHONE,
        has_touch=viewport is PHONE,
        **options,
    )
    page = context.new_page()
    page.outside_requests = []

    def note(request):
        if urlparse(request.url).hostname not in ("127.0.0.1", None):
            page.outside_requests.append(request.url)

    page.on("request", note)
    return page


@pytest.mark.parametrize("device", ["phone", "desktop"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_home_to_county_to_product(browser, live_server, artifacts, device, lang):
    viewport = PHONE if device == "phone" else DESKTOP
    page = new_page(browser, viewport, lang)
    page.goto(f"{live_server}/?lang={lang}")
    assert page.locator("html").get_attribute("lang") == ("zh-Hans" if lang == "zh" else "en")
    page.screenshot(path=artifacts / f"home-{lang}-{device}.png", full_page=True)

    county_name = "文昌市" if lang == "zh" else "Wenchang"
    page.locator(".county-list").get_by_role("link", name=county_name, exact=True).click()
    page.wait_for_url("**/counties/wenchang")
    assert county_name in page.locator("h1").inner_text()
    page.screenshot(path=artifacts / f"county-{lang}-{device}.png", full_page=True)

    product_name = "文昌鸡" if lang == "zh" else "Wenchang Chicken"
    page.locator(".cards").get_by_role("link", name=product_name).first.click()
    page.wait_for_url("**/products/wenchang-chicken")
    heading = page.locator("h1").inner_text()
    assert product_name in heading
    for section in ("#sign", "#product", "#brand", "#industry"):
        assert page.locator(section).is_visible()
    # The illustration actually loaded (naturalWidth > 0), its tile is no taller than 12rem
    # (no screen-high placeholder on a phone), and the page fits a phone screen.
    assert page.locator(".hero-img img").evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator(".hero-img").evaluate("t => t.getBoundingClientRect().height") <= 192
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"horizontal overflow of {overflow}px"
    page.screenshot(path=artifacts / f"product-{lang}-{device}.png", full_page=True)

    # One tap switches the language and keeps the visitor on the same product.
    other = "English" if lang == "zh" else "中文"
    page.get_by_role("link", name=other).click()
    page.wait_for_load_state()
    assert "/products/wenchang-chicken" in page.url
    assert ("Wenchang Chicken" if lang == "zh" else "文昌鸡") in page.locator("h1").inner_text()
    assert page.outside_requests == []
    page.context.close()


def test_search_box_works_without_javascript(browser, live_server):
    page = new_page(browser, PHONE, "en", java_script_enabled=False)
    page.goto(f"{live_server}/?lang=en")
    page.fill("#q", "wenchang")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=wenchang")
    assert page.locator("a[href='/products/wenchang-chicken']").count() >= 1
    page.context.close()


@pytest.mark.parametrize(
    "path",
    [
        "/?lang=zh",
        "/counties/wenchang?lang=en",
        "/products/xinglong-coffee?lang=zh",
        "/products/sanya-mango?lang=en",
        "/register/?lang=en",
        "/register/?lang=zh",
    ],
)
def test_no_serious_accessibility_violations(browser, live_server, artifacts, path):
    page = new_page(browser, DESKTOP, "en", bypass_csp=True)  # axe is injected inline
    page.goto(live_server + path)
    assert_no_serious_axe_violations(
        page, artifacts, path.strip("/").replace("/", "_").replace("?", "_") or "home"
    )
    page.context.close()
