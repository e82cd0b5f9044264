"""Issue 8, kind 2: codes as people type, paste and scan them (full-width from a Chinese
input method, zero-width spaces from chat apps, grouping spaces, any dash) go through one
normaliser, app/text_input.py, at every entry point: /verify, the back-office code fields,
bulk import cells and short codes."""

import csv
import io
import sys
import unicodedata

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.db import db
from app.models import Authorization, Enterprise, PublicationStatus
from app.models.enterprises import credit_code_check_char, is_valid_credit_code
from app.services import codes
from app.text_input import CodeKind, clean_text, normalize_code

DEMO_CREDIT_CODE = "91469005000000019U"
DEMO_AUTH_NUMBER = "DEMO-AUTH-2023-001"


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def grouped(text: str, separator: str, size: int = 4) -> str:
    return separator.join(text[i : i + size] for i in range(0, len(text), size))


def between(text: str, mark: str) -> str:
    return mark.join(text)


# Each: how a credit code may arrive (the issue's example first).
CREDIT_CODE_VARIANTS = {
    "full-width (Chinese IME)": full_width,
    "lower case": str.lower,
    "spaces every 4": lambda c: grouped(c, " "),
    "NBSP every 4": lambda c: grouped(c, "\u00a0"),
    "ideographic space every 4": lambda c: grouped(c, "\u3000"),
    "full-width, ideographic spaces": lambda c: grouped(full_width(c), "\u3000"),
    "hyphen groups": lambda c: grouped(c, "-", 6),
    "en-dash groups": lambda c: grouped(c, "\u2013", 6),
    "ZWSP between every character": lambda c: between(c, "\u200b"),
    "ZWNJ and ZWJ inside": lambda c: c[:5] + "\u200c" + c[5:10] + "\u200d" + c[10:],
    "BOM first (pasted from a file)": lambda c: "\ufeff" + c,
    "word joiner inside": lambda c: c[:9] + "\u2060" + c[9:],
    "soft hyphen inside": lambda c: c[:9] + "\u00ad" + c[9:],
    "bidi marks around": lambda c: "\u200e" + c + "\u200f",
    "bidi isolate around": lambda c: "\u2066" + c + "\u2069",
    "trailing newline": lambda c: c + "\n",
    "CR LF and tabs": lambda c: "\t" + c + "\r\n",
    "quoted and a full stop": lambda c: "“" + c + "”。",
    "in brackets": lambda c: "（" + c + "）",
    "lower case full-width with ZWSP": lambda c: between(full_width(c.lower()), "\u200b"),
    "narrow NBSP every 4": lambda c: grouped(c, "\u202f"),
}

# Each: how an authorization number may arrive.
AUTH_NUMBER_VARIANTS = {
    "lower case": str.lower,
    "en-dash": lambda n: n.replace("-", "\u2013"),
    "em-dash": lambda n: n.replace("-", "\u2014"),
    "minus sign": lambda n: n.replace("-", "\u2212"),
    "full-width hyphen": lambda n: n.replace("-", "\uff0d"),
    "small hyphen-minus": lambda n: n.replace("-", "\ufe63"),
    "non-breaking hyphen": lambda n: n.replace("-", "\u2011"),
    "hyphen (U+2010)": lambda n: n.replace("-", "\u2010"),
    "horizontal bar": lambda n: n.replace("-", "\u2015"),
    "katakana prolonged mark (IME)": lambda n: n.replace("-", "\u30fc"),
    "double em-dash (Chinese IME)": lambda n: n.replace("-", "\u2014\u2014"),
    "full-width everything": full_width,
    "spaces around dashes": lambda n: n.replace("-", " - "),
    "ZWSP inside": lambda n: between(n, "\u200b"),
    "BOM and trailing newline": lambda n: "\ufeff" + n + "\n",
    "NBSP around": lambda n: "\u00a0" + n + "\u00a0",
    "quoted, full stop": lambda n: "\u201c" + n + "\u201d\u3002",
    "soft hyphen and word joiner": lambda n: n[:4] + "\u00ad" + n[4:8] + "\u2060" + n[8:],
}


def verify_page(client, typed: str) -> str:
    response = client.get("/verify", query_string={"code": typed, "lang": "en"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_issue_example_full_width_demo_code_verifies(client):
    page = verify_page(client, "９１４６９００５０００００００１９Ｕ")
    assert "does not look like" not in page
    assert "Authorised" in page and DEMO_CREDIT_CODE in page


# (how it was typed, the demo code, its kind): every variant of both kinds of code.
TYPED_DEMO_CODES = [
    *(
        (f"credit code, {name}", typing, DEMO_CREDIT_CODE, CodeKind.CREDIT_CODE)
        for name, typing in CREDIT_CODE_VARIANTS.items()
    ),
    *(
        (f"authorization number, {name}", typing, DEMO_AUTH_NUMBER, CodeKind.REFERENCE)
        for name, typing in AUTH_NUMBER_VARIANTS.items()
    ),
]


@pytest.mark.parametrize(
    ("typing", "code", "kind"),
    [row[1:] for row in TYPED_DEMO_CODES],
    ids=[row[0] for row in TYPED_DEMO_CODES],
)
def test_code_variants_verify_on_the_real_page(client, typing, code, kind):
    typed = typing(code)
    assert normalize_code(typed, kind) == code
    page = verify_page(client, typed)
    assert "Authorised" in page and code in page, typed


@pytest.mark.parametrize(
    "variant",
    ["full-width (Chinese IME)", "ZWSP between every character", "spaces every 4", "lower case"],
)
def test_a_mistyped_credit_code_in_any_form_is_still_caught_by_its_check_character(client, variant):
    wrong = DEMO_CREDIT_CODE[:-1] + "0"
    page = verify_page(client, CREDIT_CODE_VARIANTS[variant](wrong))
    assert "probably mistyped" in page and "Authorised" not in page


@pytest.mark.parametrize(
    "typed",
    [
        "DEMO-AUTH-2023-002",  # another number: never matched to the first
        "DEMO-AUTH-2023-00",
        "DEMOAUTH2023001",  # dashes are part of an authorization number
    ],
)
def test_a_different_number_is_never_matched(client, typed):
    page = verify_page(client, typed)
    assert "Authorised" not in page or DEMO_AUTH_NUMBER not in page


# --- the normaliser itself ---------------------------------------------------------------------


def test_every_format_character_is_removed_and_spaces_are_kept():
    for cp in range(sys.maxunicode + 1):
        char = chr(cp)
        if unicodedata.category(char) == "Cf":
            assert clean_text(f"a{char}b c") == "ab c", hex(cp)


@pytest.mark.parametrize(
    "dash",
    [
        chr(cp)
        for cp in range(sys.maxunicode + 1)
        if unicodedata.category(chr(cp)) == "Pd" and chr(cp) not in "\u301c\u3030"
    ]
    + ["\u2212", "\u2796", "\u02d7", "\u2043", "\u30fc", "\uff70"],
)
def test_every_dash_and_minus_becomes_one_hyphen(dash):
    assert normalize_code(f"ab{dash}12", CodeKind.REFERENCE) == "AB-12"


def test_clean_text_keeps_words_and_chinese_apart_from_invisible_marks():
    assert clean_text("文\u200b昌鸡") == "文昌鸡"
    assert clean_text("Wenchang\u00a0chicken\u3000鸡") == "Wenchang chicken 鸡"
    assert clean_text("a\x00b") == "a b"  # a control character never glues words
    assert clean_text("ｗｅｎｃｈａｎｇ") == "wenchang"


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("琼地标[2023]12号", "琼地标〔2023〕12号"),
        ("琼地标【2023】12号", "琼地标〔2023〕12号"),
        ("琼地标（2023）12号", "琼地标〔2023〕12号"),
        ("琼地标〔2023〕12号", "琼地标〔2023〕12号"),
        ("国家质检总局公告2007年第209号", "国家质检总局公告2007年第209号"),
        ("第 31363028 号", "第31363028号"),
        ("３１３６３０２８", "31363028"),
    ],
)
def test_reference_numbers_have_one_written_form(typed, expected):
    assert normalize_code(typed, CodeKind.REFERENCE) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "abcd-efgh",
        "ABCD EFGH",
        "ａｂｃｄ－ｅｆｇｈ",
        "abcd\u200befgh",
        "ABCDEFGH。",
        "(ABCDEFGH)",
        "\ufeffabcdefgh\n",
        "ABCD—EFGH",
        "ABCD_EFGH",
        "AB·CD·EF·GH",
        "abcd・efgh",
        "ABCD•EFGH",
    ],
)
def test_short_codes_use_the_same_normaliser(typed):
    assert codes.normalize(typed) == "ABCDEFGH"


# --- the other entry points: back-office code fields and bulk import cells ---------------------


def _form(form_class, data: dict):
    form = form_class(formdata=MultiDict(data), meta={"csrf": False})
    return form


@pytest.mark.parametrize("variant", list(AUTH_NUMBER_VARIANTS))
def test_admin_code_fields_store_the_canonical_form(app, variant):
    from app.admin.listing_forms import AuthorizationForm, BrandForm, SignForm

    typed = AUTH_NUMBER_VARIANTS[variant](DEMO_AUTH_NUMBER)
    with app.test_request_context("/admin/"):
        assert _form(AuthorizationForm, {"number": typed}).number.data == DEMO_AUTH_NUMBER
        assert _form(SignForm, {"number": typed}).number.data == DEMO_AUTH_NUMBER
        brand = _form(BrandForm, {"registration_number": typed})
        assert brand.registration_number.data == DEMO_AUTH_NUMBER


@pytest.mark.parametrize("variant", list(CREDIT_CODE_VARIANTS))
def test_admin_credit_code_field_accepts_pasted_codes(app, variant):
    from app.admin.listing_forms import EnterpriseForm

    typed = CREDIT_CODE_VARIANTS[variant](DEMO_CREDIT_CODE)
    with app.test_request_context("/admin/"):
        form = _form(EnterpriseForm, {"credit_code": typed})
        assert form.credit_code.validate(form), form.credit_code.errors
        assert form.credit_code.data == DEMO_CREDIT_CODE


def test_enterprise_created_in_the_back_office_from_a_full_width_code(app_ctx, app):
    from tests.admin_support import county, csrf_token, login, make_users

    make_users()
    client = app.test_client()
    login(client, "reviewer")
    body = "91460000MA5T67890"
    code = body + credit_code_check_char(body)
    response = client.post(
        "/admin/enterprises/new",
        data={
            "csrf_token": csrf_token(client, "/admin/enterprises/new"),
            "name_zh": "全角测试企业",
            "credit_code": grouped(full_width(code.lower()), "\u3000"),
            "county_id": str(county("wenchang").id),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    stored = db.session.scalar(
        select(Enterprise.credit_code).where(Enterprise.name_zh == "全角测试企业")
    )
    assert stored == code and is_valid_credit_code(stored)


@pytest.mark.parametrize("variant", list(CREDIT_CODE_VARIANTS))
def test_bulk_import_cells_read_pasted_credit_codes(app_ctx, app, variant):
    from app.services.bulk import dry_run

    typed = CREDIT_CODE_VARIANTS[variant](DEMO_CREDIT_CODE).replace("\n", " ").replace("\r", " ")
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["credit_code", "slug", "name_zh", "county"])
    enterprise = db.session.scalar(
        select(Enterprise).where(Enterprise.credit_code == DEMO_CREDIT_CODE)
    )
    writer.writerow([typed, enterprise.slug, enterprise.name_zh, enterprise.county.slug])
    with app.test_request_context("/admin/?lang=en"):
        plan = dry_run("enterprises", buffer.getvalue().encode("utf-8"), None)
    assert plan.ok, [str(e.message) for e in plan.errors]
    assert [row.key for row in plan.rows] == [DEMO_CREDIT_CODE]
    assert plan.rows[0].action == "unchanged"


def test_demo_data_is_what_the_tests_assume(app_ctx):
    enterprise = db.session.scalar(
        select(Enterprise).where(Enterprise.credit_code == DEMO_CREDIT_CODE)
    )
    assert enterprise is not None and enterprise.status == PublicationStatus.PUBLISHED
    number = db.session.scalar(
        select(Authorization).where(Authorization.number == DEMO_AUTH_NUMBER)
    )
    assert number is not None and number.auth_status == "valid"


# --- break-test variants: separators, pasted labels, other scripts' digits, short codes -------


def digits_in(text: str, zero: int) -> str:
    """`text` with its ASCII digits written in the script whose zero is U+`zero`."""
    return "".join(chr(zero + int(c)) if c.isdigit() else c for c in text)


# How an authorization number arrives with other separators, a label or quotes around it.
AUTH_NUMBER_SEPARATED = {
    "spaces": "DEMO AUTH 2023 001",
    "underscores": "DEMO_AUTH_2023_001",
    "dots, lower case": "demo.auth.2023.001",
    "slashes": "DEMO/AUTH/2023/001",
    "backslashes": "DEMO\\AUTH\\2023\\001",
    "mixed separators": "DEMO AUTH_2023.001",
    "separator runs": "DEMO _ AUTH / 2023 - 001",
    "ideographic spaces": "DEMO\u3000AUTH\u30002023\u3000001",
    "middle dots": "DEMO·AUTH·2023·001",
    "full-width underscores": "DEMO＿AUTH＿2023＿001",
    "full-width full stops": "ＤＥＭＯ．ＡＵＴＨ．２０２３．００１",
    "Chinese label, full-width colon": "授权编号：DEMO-AUTH-2023-001",
    "Chinese label, ASCII colon, spaces": "授权编号: DEMO AUTH 2023 001",
    "English label": "Authorization number: DEMO-AUTH-2023-001",
    "No. prefix": "No. DEMO-AUTH-2023-001",
    "No. prefix, no space": "No.DEMO-AUTH-2023-001",
    "numero sign": "№ DEMO-AUTH-2023-001",
    "hash sign": "#DEMO-AUTH-2023-001",
    "label then corner brackets": "授权编号：「DEMO-AUTH-2023-001」",
    "book title marks": "《DEMO-AUTH-2023-001》",
    "curly quotes and spaces": "“DEMO AUTH 2023 001”",
    "lenticular brackets": "【DEMO-AUTH-2023-001】",
    "label in brackets": "【授权编号】：DEMO-AUTH-2023-001",
    "ratio sign as colon": "授权编号∶DEMO-AUTH-2023-001",
    "guillemets": "«DEMO-AUTH-2023-001»",
    "Arabic-Indic digits": digits_in("DEMO-AUTH-2023-001", 0x0660),
}

# How a credit code arrives with a label, quotes or another script's digits.
CREDIT_CODE_LABELLED = {
    "统一社会信用代码： full-width colon": "统一社会信用代码：{}",
    "信用代码: ASCII colon": "信用代码:{}",
    "English label": "Credit code: {}",
    "English label, USCC": "USCC: {}",
    "label and grouped": "统一社会信用代码： {g}",
    "label, then quotes": "统一社会信用代码：“{}”",
    "whole paste in corner brackets": "「统一社会信用代码：{}」",
    "book title marks": "《{}》",
    "white corner brackets": "『{}』",
    "No. prefix": "No. {}",
    "label ending in full-width colon and a space": "代码： {}",
    "two labels": "企业信息：统一社会信用代码：{}",
    "Arabic-Indic digits": "{arabic}",
    "Persian digits": "{persian}",
    "Devanagari digits": "{devanagari}",
    "Bengali digits": "{bengali}",
    "Thai digits": "{thai}",
    "mathematical bold digits": "{math}",
    "Arabic-Indic with RTL mark and label": "信用代码：\u200f{arabic}",
    # a label without a colon: a space, a line break, a tab, or nothing between
    "label, space, no colon": "统一社会信用代码 {}",
    "label on the line above": "统一社会信用代码\n{}",
    "label run into the code": "统一社会信用代码{}",
    "label, no colon, grouped": "统一社会信用代码 {g}",
    "English label, no colon": "Credit code {}",
    "USCC, no colon": "USCC {}",
    "table row: company name, tab": "海南示范农业有限公司\t{}",
    "label, full-width space": "信用代码\u3000{}",
}


def _labelled_credit_code(template: str) -> str:
    code = DEMO_CREDIT_CODE
    return template.format(
        code,
        g=grouped(code, " "),
        arabic=digits_in(code, 0x0660),
        persian=digits_in(code, 0x06F0),
        devanagari=digits_in(code, 0x0966),
        bengali=digits_in(code, 0x09E6),
        thai=digits_in(code, 0x0E50),
        math=digits_in(code, 0x1D7CE),
    )


# Chinese document numbers end in 号, and people type it after a number too. Stored numbers
# may hold 号 themselves (第 31363028 号), so it is kept by the normaliser and only tried
# without when the number as typed is not found (app/services/verify.py).
AUTH_NUMBER_WITH_SUFFIX = [
    "DEMO-AUTH-2023-001号",
    "DEMO AUTH 2023 001 号",
    "授权编号：DEMO-AUTH-2023-001号",
    "ＤＥＭＯ－ＡＵＴＨ－２０２３－００１号",
    "“DEMO-AUTH-2023-001号”",
]


@pytest.mark.parametrize("typed", AUTH_NUMBER_WITH_SUFFIX)
def test_an_authorization_number_typed_with_its_hao_suffix_verifies(client, typed):
    page = verify_page(client, typed)
    assert "Authorised" in page and DEMO_AUTH_NUMBER in page, typed


@pytest.mark.parametrize("variant", list(AUTH_NUMBER_SEPARATED))
def test_authorization_numbers_with_any_separator_label_or_quotes_verify(client, variant):
    typed = AUTH_NUMBER_SEPARATED[variant]
    assert normalize_code(typed, CodeKind.REFERENCE) == DEMO_AUTH_NUMBER
    page = verify_page(client, typed)
    assert "Authorised" in page and DEMO_AUTH_NUMBER in page, variant


@pytest.mark.parametrize("variant", list(CREDIT_CODE_LABELLED))
def test_credit_codes_with_a_pasted_label_or_other_digits_verify(client, variant):
    typed = _labelled_credit_code(CREDIT_CODE_LABELLED[variant])
    assert normalize_code(typed, CodeKind.CREDIT_CODE) == DEMO_CREDIT_CODE
    page = verify_page(client, typed)
    assert "Authorised" in page and DEMO_CREDIT_CODE in page, variant


@pytest.mark.parametrize(
    "typed",
    [
        "DEMO-AUTH-2023-002",  # a label never makes another number match
        "授权编号：DEMO AUTH 2023 002",
        "DEMO AUTH 2023 00",
        "DEMO AUTH 2023 0011",
        "授权编号：",  # a label alone is not a code
        "Credit code:",
        "统一社会信用代码：91469005000000019",  # 17 characters
        "统一社会信用代码 91469005000000019",  # 17 characters, no colon
        "Credit code 1469005000000019U",  # 17 after the label: the label is no part of it
        "X91469005000000019U",  # 19 characters: not a labelled code
    ],
)
def test_separators_and_labels_never_match_another_number(client, typed):
    page = verify_page(client, typed)
    assert "Authorised" not in page


def test_every_unicode_decimal_digit_reads_as_its_ascii_digit():
    for cp in range(sys.maxunicode + 1):
        char = chr(cp)
        value = unicodedata.decimal(char, None)
        if value is not None:
            assert normalize_code(f"A{char}", CodeKind.SHORT_CODE) == f"A{value}", hex(cp)


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("第 31363028 号", "第31363028号"),  # spaces between Chinese and digits mean nothing
        ("琼地标 [2023] 12号", "琼地标〔2023〕12号"),
        ("DEMO-TM-0001", "DEMO-TM-0001"),
        ("demo tm 0001", "DEMO-TM-0001"),
        ("商标注册号：第 31363028 号", "第31363028号"),
        ("No. 31363028", "31363028"),
    ],
)
def test_reference_separators_become_the_printed_hyphen_only_between_letters_and_digits(
    typed, expected
):
    assert normalize_code(typed, CodeKind.REFERENCE) == expected


def _a_published_short_code() -> str:
    from app.models import Product

    product = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    return codes.code_for(product)


# How a printed short code C (8 characters, the last its check character) is typed.
SHORT_CODE_TYPED = {
    "as printed": lambda c: c,
    "lower case": str.lower,
    "hyphen in the middle": lambda c: c[:4] + "-" + c[4:],
    "space in the middle": lambda c: c[:4] + " " + c[4:],
    "without its check character": lambda c: c[:7],
    "without check, lower, hyphen": lambda c: (c[:3] + "-" + c[3:7]).lower(),
    "full-width": lambda c: "".join(chr(ord(x) + 0xFEE0) for x in c),
    "with a label": lambda c: "Code: " + c,
    "in corner brackets": lambda c: "「" + c + "」",
    "O for 0, L for 1 (Crockford)": lambda c: c.replace("0", "O").replace("1", "l"),
}


@pytest.mark.parametrize("variant", list(SHORT_CODE_TYPED))
@pytest.mark.parametrize("where", ["/verify?code=", "/search?q="])
def test_a_printed_short_code_typed_anywhere_leads_to_its_passport(app_ctx, client, variant, where):
    from urllib.parse import quote

    code = _a_published_short_code()
    response = client.get(where + quote(SHORT_CODE_TYPED[variant](code)))
    assert response.status_code == 302, variant
    assert response.headers["Location"] == f"/q/{code}"  # relative: never from Host


@pytest.mark.parametrize("where", ["/verify?code=", "/search?q="])
def test_short_code_redirect_never_uses_the_host_header(app_ctx, app, client, where):
    code = _a_published_short_code()
    response = client.get(where + code, headers={"X-Forwarded-Host": "evil.example"})
    assert response.headers["Location"] == f"/q/{code}"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:7] + codes.ALPHABET[(codes.ALPHABET.index(c[7]) + 1) % 32],  # wrong check
        lambda c: c[:6],  # too short to tell
        lambda c: c + "X",  # too long
        lambda c: c[1:],  # 7 characters that are not its body
    ],
)
def test_what_is_not_a_known_short_code_is_searched_or_verified_as_before(app_ctx, client, mangle):
    typed = mangle(_a_published_short_code())
    assert codes.printed_code(typed) is None or codes.printed_code(typed) == typed
    assert client.get("/verify", query_string={"code": typed}).status_code == 200
    assert client.get("/search", query_string={"q": typed}).status_code == 200
