"""Every public page kind at four widths (issue 11): nothing wider than the screen, a
screenshot per page and width in test-artifacts/viewport-<page>-<width>.png, touch-sized
controls on the expo and passport pages, results before filters on a phone's search page;
axe-core finds nothing serious on any public page (390 and 1366 wide) nor on any back-office
page kind signed in as an administrator. One browser context and one page per width."""

import re

import pytest
from sqlalchemy import select

from app import create_app
from app.db import db
from app.models import Product
from app.models.enterprises import Enterprise
from app.models.expos import Booth, ExpoEvent
from app.models.synonyms import SynonymGroup
from app.models.users import User
from app.search import rebuild_index
from app.services import codes, expos
from app.services.listings import KINDS
from tests.admin_support import EMAILS, PASSWORD, make_users
from tests.conftest import make_config
from tests.e2e.support import assert_no_serious_axe_violations, serving

pytestmark = pytest.mark.e2e

WIDTHS = {360: 740, 390: 844, 768: 1024, 1366: 900}
AXE_WIDTHS = (390, 1366)
PUBLIC = (
    "home",
    "products",
    "product",
    "county",
    "counties",
    "categories",
    "category",
    "register",
    "search",
    "brand",
    "enterprise",
    "verify",
    "report",
    "passport",
    "expo",
    "list",
    "data",
)
# WCAG 2.5.5's target size; inline links in running text are its stated exception.
TOUCH_PX = 44
_FIRST_HREF = r'href="(/{}/[^"/?#]+)"'


def first_href(client, page: str, section: str) -> str:
    """The first link to /<section>/<slug> in the HTML of `page` (a seed-independent pick)."""
    found = re.search(_FIRST_HREF.format(section), client.get(page).get_data(as_text=True))
    assert found, f"no /{section}/ link on {page}"
    return found.group(1)


@pytest.fixture(scope="module")
def site(database_factory, media_root, tmp_path_factory):
    """A live server with the back-office accounts, a built search index and a saved list;
    yields (base URL, {public page kind: path}, [admin paths])."""
    app = create_app(make_config(database_factory(), tmp_path_factory.mktemp("vp"), media_root))
    with app.app_context():
        make_users()
        rebuild_index()
        chicken = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
        expo = db.session.scalar(select(ExpoEvent).order_by(ExpoEvent.id))
        booth = db.session.scalar(select(Booth).where(Booth.event_id == expo.id))
        saved = expos.create_saved_list([chicken], expo)
        db.session.commit()
        client = app.test_client()
        enterprise = db.session.scalar(select(Enterprise).order_by(Enterprise.id))
        public = {
            "home": "/",
            "products": "/products/",
            "product": "/products/wenchang-chicken",
            "county": "/counties/wenchang",
            "counties": "/counties/",
            "categories": "/categories/",
            "category": first_href(client, "/categories/", "categories"),
            "register": "/register/",
            "search": "/search?q=wenchang",
            "brand": first_href(client, "/products/wenchang-chicken", "brands"),
            "enterprise": f"/enterprises/{enterprise.slug}",
            "verify": "/verify",
            "report": "/report",
            "passport": f"/q/{codes.code_for(chicken)}",
            "expo": f"/expo/{expo.slug}",
            "list": f"/list/{saved.code}",
            "data": "/data/",
        }
        admin = ["/admin/"]
        for key, kind in KINDS.items():
            first = db.session.scalar(select(kind.model.id).order_by(kind.model.id))
            admin += [f"/admin/{key}/", f"/admin/{key}/{first}/edit"]
        user = db.session.scalar(select(User.id).where(User.email == EMAILS["admin"]))
        group = db.session.scalar(select(SynonymGroup.id).order_by(SynonymGroup.id))
        admin += [
            "/admin/audit/",
            "/admin/users/",
            f"/admin/users/{user}/edit",
            "/admin/products/import",
            "/admin/synonyms/",
            f"/admin/synonyms/{group}/edit",
            "/admin/expos/",
            f"/admin/expos/{expo.id}/edit",
            f"/admin/expos/{expo.id}/booths/{booth.id}/edit",
            "/admin/labels/",
            "/admin/scans/",
            "/admin/reports/",
        ]
        db.session.remove()
    with serving(app) as base_url:
        yield base_url, public, admin
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def pages(browser):
    """pages(width) -> the one Playwright page of that width (phone-like below 768),
    made on first use and closed with the module."""
    made = {}

    def page_at(width: int):
        if width not in made:
            phone = width < 768
            context = browser.new_context(
                viewport={"width": width, "height": WIDTHS[width]},
                locale="en-US",
                is_mobile=phone,
                has_touch=phone,
                bypass_csp=True,  # axe is injected inline
            )
            made[width] = context.new_page()
        return made[width]

    yield page_at
    for page in made.values():
        page.context.close()


@pytest.fixture(scope="module")
def admin_page(browser, site):
    base, _public, _admin = site
    context = browser.new_context(
        viewport={"width": 1366, "height": 900}, locale="en-US", bypass_csp=True
    )
    page = context.new_page()
    page.goto(f"{base}/admin/login?lang=en")
    page.fill("#email", EMAILS["admin"])
    page.fill("#password", PASSWORD)
    page.locator("form.narrow button[type=submit]").click()
    page.wait_for_url(f"{base}/admin/")
    yield page
    context.close()


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)


def public_cases(xfails: dict, kinds: tuple = PUBLIC) -> list:
    """(kind, width) for every page kind of `kinds` and every width, the known failures marked xfail
    (strict: a fix makes the test fail until the mark goes)."""
    return [
        pytest.param(
            kind, width, marks=[pytest.mark.xfail(strict=True, reason=xfails[kind, width])]
        )
        if (kind, width) in xfails
        else (kind, width)
        for kind in kinds
        for width in WIDTHS
    ]


OVERFLOW_XFAILS: dict = {}  # none known: a failure here is a page wider than the screen


@pytest.mark.parametrize("kind, width", public_cases(OVERFLOW_XFAILS))
def test_page_fits_the_screen(site, pages, artifacts, kind, width):
    base, public, _admin = site
    page = pages(width)
    visit(page, base + public[kind])
    page.screenshot(path=artifacts / f"viewport-{kind}-{width}.png", full_page=True)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= page.evaluate("window.innerWidth"), f"{scroll_width}px wide"


# Exceptions (WCAG 2.5.8): a link inside a line of text (display inline, the line's own
# height) and a control off screen until focused (the skip link); a checkbox counts by the
# <label> around it, which is what a thumb hits.
SMALL_TARGETS = """(least) => {
  const box = e => (e.closest('label') || e).getBoundingClientRect();
  const inline = e => e.tagName === 'A' && getComputedStyle(e).display === 'inline'
    && [...e.parentElement.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  return [...document.querySelectorAll(
    'a[href], button, input, select, textarea, summary')].filter(e => {
      const r = box(e);
      return r.width > 0 && r.bottom > 0 && r.right > 0 && !inline(e)
        && getComputedStyle(e).visibility !== 'hidden';
    }).filter(e => box(e).width < least || box(e).height < least)
    .map(e => `${e.outerHTML.slice(0, 90)} ${Math.round(box(e).width)}`
      + `x${Math.round(box(e).height)}`);
}"""


TOUCH_XFAILS: dict = {}  # none known


@pytest.mark.parametrize("kind, width", public_cases(TOUCH_XFAILS, ("expo", "passport")))
def test_controls_are_touch_sized(site, pages, kind, width):
    base, public, _admin = site
    page = pages(width)
    visit(page, base + public[kind])
    small = page.evaluate(SMALL_TARGETS, TOUCH_PX)
    assert small == [], "\n".join(small)


def test_phone_search_reads_results_before_filters(site, pages):
    base, public, _admin = site
    page = pages(390)
    visit(page, base + public["search"])
    # Reading order is document order: results precede the filters in the DOM...
    order = page.evaluate(
        """() => {
          const r = document.querySelector('ol.results'), f = document.querySelector(
            'details.search-filters');
          return r.compareDocumentPosition(f) & Node.DOCUMENT_POSITION_FOLLOWING;
        }"""
    )
    assert order, "the filters come before the results in the document"
    # ...and on screen.
    results_top = page.locator("ol.results").evaluate("e => e.getBoundingClientRect().top")
    filters_top = page.locator("details.search-filters").evaluate(
        "e => e.getBoundingClientRect().top"
    )
    assert results_top < filters_top


@pytest.mark.parametrize("width", AXE_WIDTHS)
@pytest.mark.parametrize("kind", PUBLIC)
def test_public_page_passes_axe(site, pages, artifacts, kind, width):
    base, public, _admin = site
    page = pages(width)
    visit(page, base + public[kind])
    assert_no_serious_axe_violations(page, artifacts, f"viewport-{kind}-{width}")


ADMIN_KINDS = (
    ["dashboard"]
    + [f"{key}-{view}" for key in KINDS for view in ("list", "edit")]
    + [
        "audit",
        "users",
        "user-edit",
        "import",
        "synonyms",
        "synonym-edit",
        "expos",
        "expo-edit",
        "booth-edit",
        "labels",
        "scans",
        "reports",
    ]
)


@pytest.mark.parametrize("index", range(len(ADMIN_KINDS)), ids=ADMIN_KINDS)
def test_admin_page_passes_axe(site, admin_page, artifacts, index):
    base, _public, admin = site
    assert len(admin) == len(ADMIN_KINDS)
    visit(admin_page, base + admin[index])
    assert_no_serious_axe_violations(admin_page, artifacts, f"admin-{ADMIN_KINDS[index]}")
