"""Issue 11, "Order": names sort by pinyin in Chinese and A-Z in English, everywhere."""

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.collation import by_name, name_key
from app.db import db
from app.models import Category, County, Enterprise, GISign, Product, PublicationStatus
from app.search.engine import ensure_index
from app.services import catalogue, codes, expos
from tests.admin_support import county, login, make_users

COUNTIES_ZH = ["白沙", "保亭", "昌江", "澄迈", "儋州", "定安", "东方", "海口", "乐东", "临高"]


@pytest.mark.parametrize(
    "names, lang, expected",
    [
        # Code-point order would put 儋州 (U+510B) first and 白沙 near the end.
        (["儋州", "澄迈", "白沙", "昌江", "保亭"], "zh", ["白沙", "保亭", "昌江", "澄迈", "儋州"]),
        (["琼中", "琼海", "三亚", "三沙"], "zh", ["琼海", "琼中", "三沙", "三亚"]),
        (
            ["文昌鸡", "和乐蟹", "兴隆咖啡", "白沙绿茶"],
            "zh",
            ["白沙绿茶", "和乐蟹", "文昌鸡", "兴隆咖啡"],
        ),
        (
            ["wanning", "Baisha", "chengmai", "Dongfang"],
            "en",
            ["Baisha", "chengmai", "Dongfang", "wanning"],
        ),
    ],
)
def test_name_key_orders_by_pinyin_or_alphabet(names, lang, expected):
    # English rows here have an English name; Chinese rows use the Chinese one.
    key = (lambda n: name_key("", n, lang)) if lang == "en" else (lambda n: name_key(n, None, lang))
    assert sorted(names, key=key) == expected


def test_english_row_without_english_name_sorts_by_its_pinyin():
    rows = [("白沙", "Baisha"), ("澄迈", None), ("儋州", "Danzhou")]
    ordered = sorted(rows, key=lambda r: name_key(r[0], r[1], "en"))
    assert [zh for zh, _ in ordered] == ["白沙", "澄迈", "儋州"]


def _options(page: str, select_id: str) -> list[str]:
    block = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return [
        t.strip() for t in re.findall(r'<option [^>]*\bvalue="[^"]+"[^>]*>([^<]+)</option>', block)
    ]


@pytest.mark.parametrize(
    "url, select_id",
    [("/register/", "r-county")],
)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_dropdowns_are_in_name_order(client, url, select_id, lang):
    page = client.get(f"{url}?lang={lang}").get_data(as_text=True)
    shown = _options(page, select_id)
    assert len(shown) >= 19
    if lang == "zh":
        # Full names (白沙黎族自治县) start with the short ones.
        assert [n[:2] for n in shown[: len(COUNTIES_ZH)]] == COUNTIES_ZH
    else:
        assert shown == sorted(shown, key=str.casefold)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_form_products_and_counties_are_in_name_order(client, lang):
    page = client.get(f"/report?lang={lang}").get_data(as_text=True)
    selects = re.findall(r'<select[^>]*id="([^"]+)"', page)
    for select_id in selects:
        shown = _options(page, select_id)
        if lang == "zh":
            keys = [name_key(name, None, "zh") for name in shown]
        else:
            keys = [(name.casefold(),) for name in shown]
        assert keys == sorted(keys), select_id


# --- every list page and dropdown, in both languages (issue 11, "Order") --------------------
#
# Each case reads the keys (slugs, ids, names) a page lists, in the order shown, and the rows
# they stand for; the order must be by_name's order of those rows, and on the seed it must
# differ from the code-point order of their Chinese names (the order SQL gave before).


def _rows(model, **where):
    stmt = select(model)
    if hasattr(model, "status"):
        stmt = stmt.where(model.status == PublicationStatus.PUBLISHED)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    return list(db.session.scalars(stmt))


def _card_slugs(page: str) -> list[str]:
    return re.findall(r'<li class="card">\s*<a href="/products/([^"?#]+)"', page)


def _select_values(page: str, select_id: str) -> list[str]:
    block = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return re.findall(r'<option [^>]*\bvalue="([^"]+)"', block)


def _checkbox_values(page: str, name: str) -> list[str]:
    return re.findall(rf'<input[^>]*name="{name}"[^>]*value="([^"]+)"', page)


def _category(slug):
    (found,) = _rows(Category, slug=slug)
    return found


def _county_products(slug):
    return [p for p in _rows(Product) if county(slug) in p.counties]


def _signed_in(app, who="reviewer"):
    make_users()
    client = app.test_client()
    assert login(client, who).status_code == 302
    return client


def _booth(app):
    today = catalogue.local_today()
    event = expos.create_event("order-fair", "排序展", today, today + timedelta(days=1))
    booth = expos.add_booth(event, "B-2", products=_rows(Product))
    db.session.commit()
    return event, booth


def _slugs(rows):
    return [r.slug for r in rows]


def _ids(rows):
    return [str(r.id) for r in rows]


def _case_county_products(app, client, lang):
    page = client.get(f"/counties/qionghai?lang={lang}").get_data(as_text=True)
    return _card_slugs(page), _county_products("qionghai"), _slugs


def _case_category_products(app, client, lang):
    page = client.get(f"/categories/fruit?lang={lang}").get_data(as_text=True)
    return _card_slugs(page), _rows(Product, category_id=_category("fruit").id), _slugs


def _case_products_index(app, client, lang):
    shown = []
    for number in (1, 2, 3):
        page = client.get(f"/products/?page={number}&lang={lang}")
        if page.status_code == 404:
            break
        shown += _card_slugs(page.get_data(as_text=True))
    return shown, _rows(Product), _slugs


def _case_products_filters(app, client, lang):
    page = client.get(f"/products/?lang={lang}").get_data(as_text=True)
    return (
        _select_values(page, "f-county") + _select_values(page, "f-category"),
        (_rows(County), _rows(Category)),
        lambda pair: _slugs(pair[0]) + _slugs(pair[1]),
    )


def _case_report_products(app, client, lang):
    page = client.get(f"/report?lang={lang}").get_data(as_text=True)
    return _select_values(page, "product"), _rows(Product), _ids


def _case_report_counties(app, client, lang):
    page = client.get(f"/report?lang={lang}").get_data(as_text=True)
    return _select_values(page, "county"), _rows(County), _ids


def _case_search_county_facet(app, client, lang):
    ensure_index()
    page = client.get("/search", query_string={"q": "海南", "lang": lang}).get_data(as_text=True)
    aside = re.search(r'<details class="search-filters".*?</details>', page, re.S).group(0)
    shown = list(dict.fromkeys(re.findall(r"[?&;]county=([a-z0-9-]+)", aside)))
    return shown, [c for c in _rows(County) if c.slug in shown], _slugs


def _case_admin_product_form(app, client, lang):
    page = _signed_in(app).get(f"/admin/products/new?lang={lang}").get_data(as_text=True)
    return (
        _select_values(page, "category_id") + _checkbox_values(page, "county_ids"),
        (_rows(Category), _rows(County)),
        lambda pair: _ids(pair[0]) + _ids(pair[1]),
    )


def _case_admin_sign_products(app, client, lang):
    page = _signed_in(app).get(f"/admin/signs/new?lang={lang}").get_data(as_text=True)
    everything = list(db.session.scalars(select(Product)))
    return _select_values(page, "product_id"), everything, _ids


def _case_admin_authorization_enterprises(app, client, lang):
    page = _signed_in(app).get(f"/admin/authorizations/new?lang={lang}").get_data(as_text=True)
    everything = list(db.session.scalars(select(Enterprise)))
    return _select_values(page, "enterprise_id"), everything, _ids


def _case_admin_booth_products(app, client, lang):
    event, _booth_ = _booth(app)
    page = _signed_in(app).get(f"/admin/expos/{event.id}/booths/new?lang={lang}")
    everything = list(db.session.scalars(select(Product)))
    return _checkbox_values(page.get_data(as_text=True), "product_ids"), everything, _ids


def _case_label_chooser(app, client, lang):
    page = _signed_in(app).get(f"/admin/labels/?lang={lang}").get_data(as_text=True)
    return _checkbox_values(page, "products"), _rows(Product), _ids


def _case_booth_passport(app, client, lang):
    _event, booth = _booth(app)
    page = client.get(f"/q/{codes.code_for(booth)}?lang={lang}").get_data(as_text=True)
    products = re.search(r"<h2>[^<]*</h2>\s*<ul>((?:<li><a .*?</li>)+)</ul>", page, re.S).group(1)
    names = [html.unescape(n) for n in re.findall(r'<a href="[^"]+">([^<]+)</a>', products)]
    by_shown = {p.text("name", lang): p for p in _rows(Product)}
    return [by_shown[n].slug for n in names], _rows(Product), _slugs


ORDER_CASES = {
    "county page products": _case_county_products,
    "category page products": _case_category_products,
    "products index": _case_products_index,
    "products index filters": _case_products_filters,
    "report form products": _case_report_products,
    "report form counties": _case_report_counties,
    "search county facet": _case_search_county_facet,
    "admin product form category and counties": _case_admin_product_form,
    "admin sign form products": _case_admin_sign_products,
    "admin authorization form enterprises": _case_admin_authorization_enterprises,
    "admin booth form products": _case_admin_booth_products,
    "label chooser products": _case_label_chooser,
    "booth passport products": _case_booth_passport,
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("case", list(ORDER_CASES))
def test_every_list_is_in_name_order(app_ctx, client, case, lang):
    shown, rows, keys = ORDER_CASES[case](app_ctx, client, lang)
    if isinstance(rows, tuple):  # two lists on one page, each in its own order
        expected = keys(tuple(by_name(part, lang) for part in rows))
        code_points = keys(tuple(sorted(part, key=lambda r: r.name_zh) for part in rows))
    else:
        expected = keys(by_name(rows, lang))
        code_points = keys(sorted(rows, key=lambda r: r.name_zh))
    assert len(shown) >= 3, shown
    assert shown == expected
    assert shown != code_points


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_register_sorted_by_name_is_in_name_order(app_ctx, client, lang):
    page = client.get(f"/register/?sort=name&lang={lang}").get_data(as_text=True)
    shown = re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', page)
    signs = list(db.session.scalars(select(GISign).where(GISign.status == "published")))
    expected = sorted(signs, key=lambda s: name_key(s.official_name_zh, s.official_name_en, lang))
    assert shown == [s.official_name_zh for s in expected]
    assert shown != sorted(shown) and len(shown) >= 10
    descending = client.get(f"/register/?sort=name&dir=desc&lang={lang}").get_data(as_text=True)
    assert re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', descending) == shown[::-1]
