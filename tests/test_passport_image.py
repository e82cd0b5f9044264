"""Issue 11: the passport's photo is sharp on a DPR-2/3 phone: a srcset of the photo's
renditions (app/models/media.py RENDITION_WIDTHS, never upscaled) with sizes, so the phone
fetches the one its pixel ratio needs; src is the 1x one."""

import re

import pytest
from sqlalchemy import select

from app.db import db
from app.media.photos import add_product_photo
from app.models import Product
from app.services import codes
from tests.admin_support import jpeg_bytes

pytestmark = pytest.mark.usefixtures("app_ctx")


PHONE_CSS_WIDTH = 380  # a common phone viewport; the photo fills it less main's 1rem padding


def chosen_width(candidates: dict[int, str], sizes: str, dpr: int) -> int:
    """What a browser picks from a w-descriptor srcset: the smallest candidate at least as
    wide as the slot times the pixel ratio, else the widest (HTML, "select an image
    source"). The slot: sizes' first length whose media condition holds at 380 px."""
    assert sizes == "(min-width: 36rem) 34rem, calc(100vw - 2rem)"
    slot = PHONE_CSS_WIDTH - 32  # 380 px < 36rem (576 px): calc(100vw - 2rem)
    wide_enough = [w for w in candidates if w >= slot * dpr]
    return min(wide_enough) if wide_enough else max(candidates)


@pytest.mark.parametrize(
    "original, widths, src_width",
    [
        (2400, [320, 800, 1600], 800),
        (1000, [320, 800, 1000], 800),
        (500, [320, 500], 500),
        (200, [200], 200),
    ],
)
def test_passport_photo_offers_1x_2x_3x_renditions(app, client, original, widths, src_width):
    chicken = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    add_product_photo(chicken, jpeg_bytes((original, original * 2 // 3)), "文昌鸡", "Chicken")
    db.session.commit()
    page = client.get(f"/q/{codes.code_for(chicken)}?lang=en").get_data(as_text=True)
    img = re.search(r'<img class="photo"([^>]*)>', page).group(1)
    srcset = re.search(r'srcset="([^"]+)"', img).group(1)
    candidates = {int(w): url for url, w in re.findall(r"(\S+) (\d+)w", srcset)}
    assert sorted(candidates) == widths
    for url in candidates.values():
        with client.get(url) as served:  # a file response: closed, not left to the collector
            assert served.status_code == 200, url
    src = re.search(r' src="([^"]+)"', img).group(1)
    assert src == candidates[src_width] and f'width="{src_width}"' in img
    sizes = re.search(r'sizes="([^"]+)"', img).group(1)
    for dpr in (1, 2, 3):
        needed = (PHONE_CSS_WIDTH - 32) * dpr
        assert chosen_width(candidates, sizes, dpr) >= min(needed, original), dpr
