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


@pytest.mark.parametrize("variant", list(CREDIT_CODE_VARIANTS))
def test_credit_code_variants_verify_on_the_real_page(client, variant):
    typed = CREDIT_CODE_VARIANTS[variant](DEMO_CREDIT_CODE)
    assert normalize_code(typed, CodeKind.CREDIT_CODE) == DEMO_CREDIT_CODE
    page = verify_page(client, typed)
    assert "Authorised" in page and DEMO_CREDIT_CODE in page, variant


@pytest.mark.parametrize("variant", list(AUTH_NUMBER_VARIANTS))
def test_authorization_number_variants_verify_on_the_real_page(client, variant):
    typed = AUTH_NUMBER_VARIANTS[variant](DEMO_AUTH_NUMBER)
    assert normalize_code(typed, CodeKind.REFERENCE) == DEMO_AUTH_NUMBER
    page = verify_page(client, typed)
    assert "Authorised" in page and DEMO_AUTH_NUMBER in page, variant


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
