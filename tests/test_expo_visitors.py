"""What an expo visitor sees: the seeded demo expo, its link from the home page and the
sitemap, booths with hall and product thumbnails, a saved list in the visitor's order with
booth numbers and share controls; and the county map's colours and empty-county message."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import db
from app.models import ExpoEvent, Product
from app.services import catalogue

DEMO = "demo-hainan-gi-expo"
pytestmark = pytest.mark.usefixtures("app_ctx")


def html(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def demo_expo() -> ExpoEvent:
    return db.session.scalar(select(ExpoEvent).where(ExpoEvent.slug == DEMO))


def product_id(slug: str) -> int:
    return db.session.scalar(select(Product.id).where(Product.slug == slug))


def test_the_seed_ships_one_demo_expo_with_booths():
    expo = demo_expo()
    assert expo.is_demo and "(Demo)" in expo.name_en and "（示例）" in expo.name_zh
    assert [b.number for b in expo.booths][:3] == ["A-01", "A-05", "A-12"]
    assert all(b.products and b.hall_zh for b in expo.booths)
    assert all(e.is_demo for b in expo.booths for e in b.enterprises)


def test_expo_page_shows_booth_hall_thumbnail_and_tap_targets(client):
    page = html(client.get(f"/expo/{DEMO}?lang=en"))
    assert "Demo data" in page  # the badge of every demo row
    assert "Booth A-01" in page and "Hall 1" in page and "Hall 3" in page
    listed = sum(len(b.products) for b in demo_expo().booths)
    # One thumbnail per product: the photo rendition or the illustration tile.
    assert len(re.findall(r'class="[^"]*\bthumb\b', page)) == listed
    assert page.count('class="tick tap"') == listed
    assert page.count('class="button tap"') == listed


@pytest.mark.parametrize(
    ("starts", "ends", "shown"),
    [(-1, 2, "On now"), (10, 12, "Coming up"), (-5, -1, None)],
    ids=["running", "upcoming", "over"],
)
def test_home_links_a_running_or_upcoming_expo(client, starts, ends, shown):
    today = catalogue.local_today()
    expo = demo_expo()
    expo.starts_on, expo.ends_on = today + timedelta(days=starts), today + timedelta(days=ends)
    db.session.commit()
    page = html(client.get("/?lang=en"))
    if shown:
        assert f'href="/expo/{DEMO}"' in page and shown in page
    else:
        assert f"/expo/{DEMO}" not in page


def test_sitemap_lists_the_expo(client):
    assert f"/expo/{DEMO}?lang=en</loc>" in html(client.get("/sitemap.xml"))


def save_list(client, slugs: list[str]) -> str:
    """Tick `slugs` in this order on the expo page and save; the list's address."""
    page = html(client.get(f"/expo/{DEMO}"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "product": [product_id(s) for s in slugs], "expo": DEMO}
    response = client.post("/list", data=data)
    assert response.status_code == 303
    return response.headers["Location"]


def test_saved_list_keeps_the_visitors_order_and_shows_booths(client):
    ticked = ["sanya-mango", "wenchang-chicken", "hele-crab", "sanya-mango"]
    page = html(client.get(save_list(client, ticked) + "?lang=zh"))
    names = ["三亚芒果", "文昌鸡", "和乐蟹"]
    positions = [page.index(n) for n in names]
    assert positions == sorted(positions)  # ticked order, not name order; mango once
    assert page.count("三亚芒果</a>") == 1
    assert "B-08" in page and "C-09" in page and "A-01" in page and "2号馆" in page
    assert page.count('class="booth-tag"') == 3


def test_saved_list_has_share_controls_without_and_with_javascript(client):
    page = html(client.get(save_list(client, ["hele-crab"]) + "?lang=en"))
    assert "/static/js/share.js" in page
    assert "data-share " in page and "data-copy " in page  # buttons, hidden until JS
    qr = re.search(
        r'<figure class="share-qr-code"><svg[^>]*aria-label="QR code of this list"', page
    )
    assert qr is not None


# --- the county map ---------------------------------------------------------------------


def test_map_colours_counties_by_product_count_with_a_legend(client):
    page = html(client.get("/counties/?lang=en"))
    rows = catalogue.counties_with_counts()
    counts = {c.slug: n for c, n in rows}
    classes = re.findall(r'href="/counties/(\w+)"[^>]*>\s*<path class="county (n\d)"', page)
    assert len(classes) == len([c for c, _ in rows if c.map_path]) > 0
    bins = {"n0": (0, 0), "n1": (1, 2), "n2": (3, 5), "n3": (6, 10_000)}
    for slug, cls in classes:
        low, high = bins[cls]
        assert low <= counts[slug] <= high, slug
    assert "no products yet" in page and "6 or more products" in page


def test_a_county_without_products_says_so_kindly(client):
    empty = [c for c, n in catalogue.counties_with_counts() if n == 0]
    if not empty:  # the seed lists products everywhere: make one county empty for the test
        county, _ = catalogue.counties_with_counts()[0]
        for product in list(county.products):
            product.counties.remove(county)
        db.session.commit()
        empty = [county]
    page = html(client.get(f"/counties/{empty[0].slug}?lang=en"))
    assert "is listed here yet" in page and 'href="/counties/"' in page
