"""The trust journey on a phone (issue 11): from a product page, "Report a fake" opens the
form with that product chosen, and "Check this code" verifies an authorised enterprise
whose page the verdict links to. The actions are touch-sized and the pages fit the screen."""

import pytest

from tests.e2e.test_browse import new_page

pytestmark = pytest.mark.e2e

PHONES = {"360": {"width": 360, "height": 740}, "390": {"width": 390, "height": 844}}
NAMES = {
    "zh": {"report": "举报假冒", "check": "核验此编号", "product": "文昌鸡"},
    "en": {"report": "Report a fake", "check": "Check this code", "product": "Wenchang Chicken"},
}


def fits(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"horizontal overflow of {overflow}px"


@pytest.mark.parametrize("phone", list(PHONES))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_and_check_from_a_product_page(browser, live_server, artifacts, phone, lang):
    page = new_page(browser, PHONES[phone], lang)
    names = NAMES[lang]
    page.goto(f"{live_server}/products/wenchang-chicken?lang={lang}")
    actions = page.locator(".trust-actions a")
    assert actions.count() == 2
    for i in range(2):
        box = actions.nth(i).bounding_box()
        assert box["height"] >= 44, f"trust action {i} is {box['height']}px tall"
    fits(page)
    page.screenshot(path=artifacts / f"trust-product-{lang}-{phone}.png", full_page=True)

    actions.get_by_text(names["report"], exact=True).click()
    page.wait_for_url("**/report?product=wenchang-chicken*")
    chosen = page.locator("select#product option:checked").inner_text()
    assert names["product"] in chosen
    fits(page)

    page.go_back()
    page.locator("#brand table").get_by_role("link", name=names["check"]).first.click()
    page.wait_for_url("**/verify?code=*")
    assert page.locator(".verdict-list").is_visible()
    fits(page)
    page.screenshot(path=artifacts / f"trust-verify-{lang}-{phone}.png", full_page=True)
    page.locator(".verdict h2 a").click()
    page.wait_for_url("**/enterprises/*")
    assert page.locator(".trust-actions").is_visible()
    page.context.close()
