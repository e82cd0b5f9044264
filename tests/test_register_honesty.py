"""Issue 11, an honest register: research notes stay with officials; missing facts read
"not yet verified"; the register shows holder, standard and a source link per sign."""

import re

import pytest
from sqlalchemy import select

from app.db import db
from app.models import GISign
from app.services.seed import public_source_url

# Research-note phrases found in seed/signs.yaml (approval_note, notes, issuing bodies).
RESEARCH_NOTES = (
    "not found",
    "not recovered",
    "inferred",
    "to be verified",
    "年份待核实",
    "secondary source",
    "source text truncated",
    "regime not stated",
    "TSV",
    "compiler",
)

# Pages that show signs: the register, and products whose signs carry such notes
# (和乐蟹: "approval date not found"; 乐东香蕉: "approval announcement not found";
# 琼中绿橙: "approval announcement not found"; a pre-2017 agri GI: "exact year not recovered").
PAGES = (
    "/register/",
    "/register/?sort=name",
    "/products/hele-crab",
    "/products/ledong-banana",
    "/products/qiongzhong-green-orange",
    "/products/fushan-coffee",
    "/counties/wanning",
    "/search?q=香蕉",
)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("url", PAGES)
def test_public_pages_show_no_research_notes(client, url, lang):
    response = client.get(f"{url}{'&' if '?' in url else '?'}lang={lang}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    shown = [phrase for phrase in RESEARCH_NOTES if phrase.lower() in page.lower()]
    assert shown == []


@pytest.mark.parametrize(
    "lang, missing",
    [("zh", "待核实"), ("en", "Not yet verified")],
)
def test_missing_number_and_date_read_not_yet_verified(app_ctx, client, lang, missing):
    sign = db.session.scalar(
        select(GISign).where(GISign.number.is_(None), GISign.approval_year.is_(None)).limit(1)
    )
    register = client.get("/register/", query_string={"lang": lang}).get_data(as_text=True)
    row = _row(register, sign.product.slug)
    assert f'data-label="{_label(lang, "Number")}">{missing}</td>' in row
    assert f'data-label="{_label(lang, "Approved")}">{missing}</td>' in row
    product = client.get(f"/products/{sign.product.slug}", query_string={"lang": lang})
    assert product.get_data(as_text=True).count(missing) >= 2


@pytest.mark.parametrize(
    "lang, headers",
    [("zh", ("持有人", "标准", "来源")), ("en", ("Holder", "Standard", "Source"))],
)
def test_register_has_holder_standard_and_source_columns(client, lang, headers):
    page = client.get("/register/", query_string={"lang": lang}).get_data(as_text=True)
    head = page[page.index("<thead>") : page.index("</thead>")]
    for header in headers:
        assert f">{header}</th>" in head


def test_every_seeded_sign_with_an_official_source_links_it_and_no_other(app_ctx, client):
    signs = list(db.session.scalars(select(GISign).where(GISign.source_url.is_not(None))))
    assert signs and all(s.source_url.split("/")[2].endswith(".gov.cn") for s in signs), (
        "only official announcements and lists are linked for the public"
    )
    page = client.get("/register/?lang=en").get_data(as_text=True)
    links = set(re.findall(r'<a href="([^"]+)" rel="nofollow noopener" class="source-link"', page))
    assert {s.source_url.replace("&", "&amp;") for s in signs} <= links


@pytest.mark.parametrize(
    "sources, expected",
    [
        ("http://a.example/1 ; https://b.example/2", None),
        ("https://x.example/p ; https://std.samr.gov.cn/gb/1", "https://std.samr.gov.cn/gb/1"),
        ("see the 2016 list; http://www.moa.gov.cn/x?y=1", "http://www.moa.gov.cn/x?y=1"),
        ("http://baibangxm.com/view/1", None),
        ("https://gov.cn.example.com/p", None),
        ("no address here", None),
        (None, None),
        ("", None),
    ],
)
def test_public_source_url_prefers_official_hosts(sources, expected):
    assert public_source_url(sources) == expected


def test_officials_still_see_the_research_note(app_ctx):
    sign = db.session.scalar(
        select(GISign).where(GISign.approval_note.contains("not found")).limit(1)
    )
    assert sign is not None and sign.notes


def _row(page: str, slug: str) -> str:
    start = page.index(f'<a href="/products/{slug}"')
    return page[start : page.index("</tr>", start)]


def _label(lang: str, english: str) -> str:
    return {"Number": "编号", "Approved": "批准时间"}[english] if lang == "zh" else english
