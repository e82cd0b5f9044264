"""How the site looks on phones (360x740, 390x844) and a desktop: the header in two lines,
no page wider than the screen, expo targets big enough for a thumb, map labels readable and
never cut off. Screenshots go to test-artifacts/face-*.png."""

import re

import pytest

pytestmark = pytest.mark.e2e

SMALL = {"width": 360, "height": 740}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
EXPO = "/expo/demo-hainan-gi-expo"
TAP = 44  # px, the smallest touch target


def new_page(browser, viewport, lang="en"):
    phone = viewport is not DESKTOP
    context = browser.new_context(
        viewport=viewport,
        locale="zh-CN" if lang == "zh" else "en-US",
        is_mobile=phone,
        has_touch=phone,
    )
    return context.new_page()


def saved_list_url(page, live_server, lang) -> str:
    """Tick three products on the demo expo page and save them: the list's address."""
    page.goto(f"{live_server}{EXPO}?lang={lang}")
    boxes = page.locator("input[name=product]")
    for i in (3, 0, 5):
        boxes.nth(i).check()
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/list/\w+"))
    return page.url.split("?")[0]


def text_lines(page, selector: str) -> int:
    """How many lines of text the visible links of `selector` take: one box per line of each
    link's text (a wrapped name counts twice), boxes whose middles are 8px apart or more."""
    middles = page.locator(f"{selector} a:visible").evaluate_all(
        """els => els.flatMap(e => {
             const range = document.createRange();
             range.selectNodeContents(e);
             return [...range.getClientRects()].filter(r => r.width > 0)
               .map(r => r.top + r.height / 2);
           })"""
    )
    lines: list[float] = []
    for middle in sorted(middles):
        if not lines or middle - lines[-1] > 8:
            lines.append(middle)
    return len(lines)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_header_fits_two_lines_on_a_phone(browser, live_server, artifacts, lang):
    page = new_page(browser, PHONE, lang)
    page.goto(f"{live_server}/?lang={lang}")
    page.locator(".site-header").screenshot(path=artifacts / f"face-header-{lang}-390.png")
    assert text_lines(page, ".site-header") <= 2
    # Every section is still reachable: the nav row scrolls sideways instead of wrapping.
    nav = page.locator(".site-header nav")
    assert nav.locator("a").count() == 6
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_search_placeholder_is_not_cut_off(browser, live_server):
    page = new_page(browser, PHONE, "en")
    page.goto(f"{live_server}/?lang=en")
    room, needed = page.locator("#q").evaluate(
        """input => {
          const s = getComputedStyle(input);
          const ctx = document.createElement('canvas').getContext('2d');
          ctx.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
          const padding = parseFloat(s.paddingLeft) + parseFloat(s.paddingRight);
          return [input.clientWidth - padding, ctx.measureText(input.placeholder).width];
        }"""
    )
    assert needed <= room, f"placeholder needs {needed:.0f}px, the field has {room:.0f}px"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_page_is_wider_than_a_small_phone(browser, live_server, artifacts, lang):
    page = new_page(browser, SMALL, lang)
    pages = {
        "home": "/",
        "county": "/counties/wenchang",
        "product": "/products/wenchang-chicken",
        "expo": EXPO,
        "list": saved_list_url(page, live_server, lang).removeprefix(live_server),
    }
    for name, path in pages.items():
        page.goto(f"{live_server}{path}?lang={lang}")
        page.screenshot(path=artifacts / f"face-{name}-{lang}-360.png", full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= SMALL["width"], f"{name}: {width}px wide"


@pytest.mark.parametrize("viewport", [SMALL, PHONE], ids=["360", "390"])
def test_expo_touch_targets_are_at_least_44px(browser, live_server, viewport):
    page = new_page(browser, viewport, "en")
    page.goto(f"{live_server}{EXPO}?lang=en")
    sizes = page.locator(".tap").evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [e.textContent.trim().slice(0, 30), r.width, r.height]; })"
    )
    assert len(sizes) > 20
    small = [s for s in sizes if s[1] < TAP or s[2] < TAP]
    assert small == []


def test_saved_list_offers_share_copy_and_qr(browser, live_server, artifacts):
    page = new_page(browser, PHONE, "en")
    url = saved_list_url(page, live_server, "en")
    page.goto(f"{url}?lang=en")
    assert page.locator(".share-qr-code svg").is_visible()
    # 127.0.0.1 is a secure context: the copy button appears once share.js has run.
    assert page.locator("[data-copy]").is_visible()
    page.screenshot(path=artifacts / "face-list-share-en-390.png", full_page=True)
    tags = page.locator(".booth-tag").all_inner_texts()
    assert len(tags) == 3 and all(t.startswith("Booth ") for t in tags)


LABEL_SIZES = """svg => [...svg.querySelectorAll('text')].filter(t => t.getClientRects().length)
  .map(t => {
    const tspans = [...t.querySelectorAll('tspan')]
      .filter(s => getComputedStyle(s).display !== 'none');
    const r = t.getBoundingClientRect(), box = svg.getBoundingClientRect();
    return {text: tspans.map(s => s.textContent).join(''),
            px: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a,
            inside: r.left >= box.left - 0.5 && r.right <= box.right + 0.5};
  })"""


@pytest.mark.parametrize("viewport", [SMALL, PHONE, DESKTOP], ids=["360", "390", "desktop"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_map_labels_render_at_12px_or_more_and_are_not_clipped(
    browser, live_server, artifacts, viewport, lang
):
    page = new_page(browser, viewport, lang)
    page.goto(f"{live_server}/counties/?lang={lang}")
    svg = page.locator(".county-map svg")
    svg.screenshot(path=artifacts / f"face-map-{lang}-{viewport['width']}.png")
    labels = svg.evaluate(LABEL_SIZES)
    assert len(labels) >= 18
    assert [label for label in labels if label["px"] < 12] == []
    assert [label for label in labels if not label["inside"]] == []
    if viewport is DESKTOP:  # names on a wide screen; counts alone on a phone, names listed below
        assert any(re.search(r"[A-Za-z\u4e00-\u9fff]", label["text"]) for label in labels)
    else:
        assert all(label["text"].strip().isdigit() for label in labels)
        assert page.locator(".county-list li").count() >= 18
