"""Issue 11, "Order": names sort by pinyin in Chinese and A-Z in English, everywhere."""

import re

import pytest

from app.collation import name_key

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
