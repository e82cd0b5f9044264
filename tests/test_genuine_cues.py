"""Issue 11: "How to recognise the genuine product" — cues an official writes on a product
(packaging, the official GI mark, where the authorization number is), shown on the product
page, the passport and the booth poster; demo cues carry the demo badge; a product without
cues shows no such section at all."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.admin import printing
from app.db import db
from app.models import Product
from app.services import catalogue, codes, expos
from tests.admin_support import county, csrf_token, signed_in

pytestmark = pytest.mark.usefixtures("app_ctx")

HEADING = {"en": "How to recognise the genuine product", "zh": "如何识别正品"}
DEMO = {"en": "Demo data", "zh": "演示数据"}
CUE_HEADINGS = {
    "en": ["Packaging", "The official GI mark", "Where the authorization number is"],
    "zh": ["包装", "官方地理标志专用标志", "授权编号所在位置"],
}
# The seed's demo cues (seed/demo.yaml): all three for the chicken; packaging in both
# languages and the mark in Chinese only for the orange; none for the mango.
EXPECTED = {
    "wenchang-chicken": {
        "zh": ["整鸡冷链包装", "地理标志专用标志", "授权编号印在标签右下角"],
        "en": ["Whole birds in chilled packs", "national geographical indication", "bottom right"],
    },
    "qiongzhong-green-orange": {
        "zh": ["纸箱装", "箱面和果贴上"],
        # No English for the mark: the Chinese stands in (marked on the product page).
        "en": ["Cartons printed on the side", "箱面和果贴上"],
    },
    "sanya-mango": None,
}


def product(slug: str) -> Product:
    return db.session.scalar(select(Product).where(Product.slug == slug))


def product_page(client, slug, lang):
    return client.get(f"/products/{slug}?lang={lang}").get_data(as_text=True)


def passport_page(client, slug, lang):
    code = codes.code_for(product(slug))
    return client.get(f"/q/{code}?lang={lang}").get_data(as_text=True)


PAGES = {"product page": product_page, "passport": passport_page}


def section(page: str) -> str | None:
    found = re.search(r'<section id="genuine".*?</section>', page, re.S)
    return found.group(0) if found else None


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("slug", list(EXPECTED))
@pytest.mark.parametrize("where", ["product page", "passport"])
def test_cues_per_page_language_and_presence(client, where, slug, lang):
    page = PAGES[where](client, slug, lang)
    shown = section(page)
    expected = EXPECTED[slug]
    if expected is None:
        assert shown is None and HEADING[lang] not in page  # no empty heading either
        return
    assert HEADING[lang] in shown and DEMO[lang] in shown
    for cue_text in expected[lang]:
        assert cue_text in shown, cue_text
    headings = re.findall(r"<dt>([^<]+)</dt>", shown)
    assert headings == CUE_HEADINGS[lang][: len(headings)]
    assert len(headings) == (3 if slug == "wenchang-chicken" else 2)


def test_english_page_marks_chinese_standing_in_for_a_missing_cue(client):
    shown = section(product_page(client, "qiongzhong-green-orange", "en"))
    assert re.search(
        r'<span lang="zh">箱面和果贴上[^<]*</span> <small class="fallback-note">', shown
    )


def test_passport_with_cues_stays_within_its_size_budget(client):
    code = codes.code_for(product("wenchang-chicken"))
    for lang in ("zh", "en"):
        response = client.get(f"/q/{code}?lang={lang}")
        assert HEADING[lang] in response.get_data(as_text=True)
        assert len(response.data) < 10_000, lang


def test_cues_without_the_demo_flag_have_no_badge(client):
    mango = product("sanya-mango")
    mango.cue_mark_zh = "果箱封口处贴有地理标志专用标志。"
    mango.cue_mark_en = "The GI mark seals the carton."
    db.session.commit()
    for where in (product_page, passport_page):
        shown = section(where(client, "sanya-mango", "en"))
        assert "The GI mark seals the carton." in shown and "Demo data" not in shown


@pytest.fixture
def booth(app):
    today = catalogue.local_today()
    event = expos.create_event("cue-fair", "识真展", today, today + timedelta(days=1))
    booth = expos.add_booth(
        event,
        "A-1",
        products=[
            product(s) for s in ("sanya-mango", "wenchang-chicken", "qiongzhong-green-orange")
        ],
    )
    db.session.commit()
    return booth


def test_booth_poster_prints_each_products_cues_in_both_languages(app, booth):
    with app.test_request_context():
        poster = printing.booth_poster_html(booth)
    items = re.findall(r"<li>(.*?)</li>", poster, re.S)
    by_product = {re.match(r"\s*(\S+)", item).group(1): item for item in items}
    chicken = by_product["文昌鸡"]
    assert "如何识别正品" in chicken and "How to recognise the genuine product" in chicken
    assert "演示数据" in chicken and "Demo data" in chicken
    for zh, en in zip(CUE_HEADINGS["zh"], CUE_HEADINGS["en"], strict=True):
        assert f'{zh} · <span lang="en">{en}</span>' in chicken
    for cue_text in EXPECTED["wenchang-chicken"]["zh"] + EXPECTED["wenchang-chicken"]["en"]:
        assert cue_text in chicken
    orange = by_product["琼中绿橙"]
    assert "Cartons printed on the side" in orange and "箱面和果贴上" in orange
    assert "poster-cues" not in by_product["三亚芒果"]  # no cues: nothing under its name


def test_an_official_writes_cues_in_the_product_form(app):
    client = signed_in(app, "editor_a")
    page = client.get("/admin/products/new?lang=en").get_data(as_text=True)
    for label in (
        "Genuine product: packaging (Chinese)",
        "Genuine product: where the authorization number is (English)",
        "These cues are demonstration text",
    ):
        assert label in page
    data = {
        "csrf_token": csrf_token(client, "/admin/products/new"),
        "name_zh": "文昌椰子糖",
        "category_id": "1",
        "county_ids": [str(county("wenchang").id)],
        "cue_packaging_zh": "铁盒装",
        "cue_number_en": "On the lid",
    }
    assert client.post("/admin/products/new", data=data).status_code == 302
    made = db.session.scalar(select(Product).where(Product.name_zh == "文昌椰子糖"))
    assert (made.cue_packaging_zh, made.cue_number_en, made.cues_demo) == (
        "铁盒装",
        "On the lid",
        False,
    )
    assert made.cue_mark_zh is None and made.genuine_cues == ["cue_packaging"]
