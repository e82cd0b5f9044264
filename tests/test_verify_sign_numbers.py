"""/verify with any number printed on a pack: a GI sign's announcement, AGI certificate or
trademark registration number, typed as people type them (issue 13)."""

import re

import pytest
from sqlalchemy import select

from app.db import db
from app.models import GISign, Product, PublicationStatus, Regime
from app.services import sign_numbers
from app.services.verify import verify

pytestmark = pytest.mark.usefixtures("app_ctx")

AGI_NUMBER = "AGI00321"


@pytest.fixture
def agi_sign():
    """No seed sign has an AGI certificate number found yet: one is made for these tests."""
    product = db.session.scalar(select(Product).where(Product.slug == "baoting-rambutan"))
    sign = GISign(
        product=product,
        regime=Regime.AGRI_GI,
        official_name_zh="保亭红毛丹",
        number=AGI_NUMBER,
        status=PublicationStatus.PUBLISHED,
    )
    db.session.add(sign)
    db.session.commit()
    return sign


# (stored number, what a person types): every kind in the ways it is printed and typed.
VARIANTS = [
    # announcement of AQSIQ, with year
    ("国家质检总局公告2007年第209号", "国家质检总局公告2007年第209号"),
    ("国家质检总局公告2007年第209号", "质检总局2007年第209号公告"),
    ("国家质检总局公告2007年第209号", "国家质量监督检验检疫总局公告〔2007〕第 209 号"),
    ("国家质检总局公告2007年第209号", "国家质检总局公告[2007]209号"),
    ("国家质检总局公告2007年第209号", "２００７年第２０９号"),
    ("国家质检总局公告2007年第209号", "公告编号：国家质检总局公告2007年第209号。"),
    # announcement of the ministry of agriculture, without year
    ("农业部公告第2651号", "农业部公告第2651号"),
    ("农业部公告第2651号", "农业部公告 第 2651 号"),
    ("农业部公告第2651号", "农业部第2651号公告"),
    ("农业部公告第2651号", "农业部公告2651号"),
    ("农业部公告第2651号", "“中华人民共和国农业部公告第２６５１号”"),
    # agricultural GI certificate
    (AGI_NUMBER, "AGI00321"),
    (AGI_NUMBER, "agi 00321"),
    (AGI_NUMBER, "ＡＧＩ００３２１"),
    (AGI_NUMBER, "登记证书编号：AGI-00321"),
    (AGI_NUMBER, "AGI\u200b00321"),
    # trademark registration
    ("31363028", "31363028"),
    ("31363028", "第31363028号"),
    ("31363028", "第 31363028 号"),
    ("31363028", "注册号：3136 3028"),
    ("31363028", "商标注册号31363028"),
    ("31363028", "３１３６３０２８"),
]


@pytest.mark.parametrize("stored, typed", VARIANTS)
def test_every_way_of_typing_a_sign_number_finds_its_sign(agi_sign, stored, typed):
    verdict = verify(typed, _today())
    assert verdict.kind == "sign_number", typed
    assert verdict.signs and {s.number for s in verdict.signs} == {stored}


@pytest.mark.parametrize(
    "typed",
    [
        "国家质检总局公告2008年第209号",  # another year
        "农业农村部公告第2651号",  # another body, numbering afresh
        "AGI00322",
        "31363027",
        "209",  # a bare serial names nothing
    ],
)
def test_a_near_number_finds_nothing(agi_sign, typed):
    verdict = verify(typed, _today())
    assert not verdict.signs


def test_a_number_shared_by_several_signs_lists_them_all(client):
    shared = db.session.scalars(select(GISign).where(GISign.number == "农业部公告第2651号")).all()
    assert len(shared) == 5
    page = client.get("/verify", query_string={"code": "农业部第2651号公告", "lang": "en"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "5 GI signs carry the number" in text
    for sign in shared:
        assert sign.product.name_en in text


def test_a_sign_number_lists_its_authorised_enterprises_with_validity(client):
    page = client.get("/verify", query_string={"code": "2007年第209号", "lang": "en"})
    text = page.get_data(as_text=True)
    sign = text[text.index('class="verdict-sign"') :]
    assert "Xinglong Coffee" in sign
    item = re.search(r'<li class="verdict-item verdict-valid">(.*?)</li>', sign, re.S)
    assert item and "Authorised" in item.group(1)
    assert "since 2024-01-15" in item.group(1) and "until 2029-01-14" in item.group(1)


def test_sign_number_answers_in_chinese(client):
    page = client.get("/verify", query_string={"code": "第31363028号", "lang": "zh"})
    text = page.get_data(as_text=True)
    assert "31363028" in text and "东方黎锦" in text
    assert "1 个地理标志的编号为“31363028”" in text
    assert "获准使用地理标志专用标志的企业" in text


def test_signs_without_authorised_enterprises_say_so(client):
    # No demo authorization names a product of 农业部公告第2651号.
    page = client.get("/verify", query_string={"code": "农业部公告第2651号", "lang": "zh"})
    assert page.get_data(as_text=True).count("本名录中没有企业获准使用该地理标志的专用标志") == 5


def test_parse_reads_issuer_year_and_serial():
    number = sign_numbers.parse("质检总局〔2007〕第209号公告")
    assert number == sign_numbers.SignNumber(
        sign_numbers.ANNOUNCEMENT, 209, number.printed, issuer="AQSIQ", year=2007
    )


def _today():
    from app.services.catalogue import local_today

    return local_today()
