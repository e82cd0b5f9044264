"""Protection abroad (issue 13): where else a sign is protected, from a shared source only;
shown on the product page, the passport, the register, the API and the downloads."""

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from app.db import db
from app.models import GISign, ProtectionAbroad
from app.services import codes

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("app_ctx")

SOURCE = "http://www.360doc.com/content/20/1015/12/5256261_940571759.shtml"
PRODUCT = "chengmai-qiaotou-sweet-potato"


def html(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_seed_has_exactly_the_sourced_record():
    rows = db.session.scalars(select(ProtectionAbroad)).all()
    assert [(r.sign.official_name_zh, r.jurisdiction, r.source_url) for r in rows] == [
        ("澄迈桥头地瓜", "EU", SOURCE)
    ]
    assert rows[0].protected_from is None  # the source gives no date: none is invented
    assert "第二批" in rows[0].basis_zh and "second list" in rows[0].basis_en


def test_no_seed_description_claims_china_eu_protection_unless_sourced():
    products = yaml.safe_load((ROOT / "seed/products.yaml").read_text("utf-8"))
    sourced = {PRODUCT}
    claims = {
        p["slug"]
        for p in products
        for field in ("description_zh", "description_en", "summary_zh", "summary_en")
        if re.search(r"中欧|China[-–]EU|EU-China", p.get(field) or "")
    }
    assert claims <= sourced
    assert "xinglong-coffee" not in claims


@pytest.mark.parametrize(
    "lang, badge, basis",
    [
        ("en", "Protected in European Union", "China–EU Agreement on Geographical Indications"),
        ("zh", "在欧盟受保护", "中欧地理标志保护与合作协定"),
    ],
)
def test_product_page_shows_the_badge_with_its_source(client, lang, badge, basis):
    page = html(client.get(f"/products/{PRODUCT}?lang={lang}"))
    section = page[page.index('id="sign"') : page.index('id="product"')]
    assert badge in section and basis in section and f'href="{SOURCE}"' in section
    other = html(client.get(f"/products/xinglong-coffee?lang={lang}"))
    assert badge not in other


@pytest.mark.parametrize(
    "lang, badge", [("en", "Protected in European Union"), ("zh", "在欧盟受保护")]
)
def test_passport_shows_the_badge_with_its_source(client, lang, badge):
    sign = db.session.scalar(select(GISign).where(GISign.official_name_zh == "澄迈桥头地瓜"))
    code = codes.code_for(sign.product)
    assert code is not None
    page = html(client.get(f"/q/{code}?lang={lang}"))
    assert badge in page and f'href="{SOURCE}"' in page


@pytest.mark.parametrize("abroad", ["EU", "any", ""])
def test_register_filters_on_protection_abroad(client, abroad):
    page = html(client.get("/register/", query_string={"abroad": abroad, "lang": "en"}))
    rows = re.findall(r'<th scope="row">', page)
    assert "澄迈桥头地瓜" in page and '<option value="EU"' in page
    if abroad:
        assert len(rows) == 1
    else:
        assert len(rows) == len(db.session.scalars(select(GISign)).all())


@pytest.mark.parametrize("abroad", ["FR", "<script>", "eu"])
def test_register_refuses_an_unknown_jurisdiction(client, abroad):
    assert client.get("/register/", query_string={"abroad": abroad}).status_code == 400


def test_api_and_download_carry_the_field(client):
    sign = db.session.scalar(select(GISign).where(GISign.official_name_zh == "澄迈桥头地瓜"))
    data = client.get(f"/api/v1/signs/{sign.id}").get_json()["data"]
    assert data["protected_abroad"] == [
        {
            "jurisdiction": "EU",
            "basis_zh": "中欧地理标志保护与合作协定 · 第二批保护名单",
            "basis_en": "China–EU Agreement on Geographical Indications · second list",
            "protected_from": None,
            "source_url": SOURCE,
        }
    ]
    listed = client.get("/api/v1/signs", query_string={"per_page": 100}).get_json()["data"]
    assert sum(bool(s["protected_abroad"]) for s in listed) == 1
    csv = client.get("/data/signs.csv").get_data(as_text=True)
    assert '"{""jurisdiction"": ""EU""' in csv and SOURCE in csv
