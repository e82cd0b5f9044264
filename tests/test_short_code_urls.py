"""Issue 8, kind 3: printed short codes as scanner apps and people send them. A code with a
trailing slash or punctuation, in lower case or full-width, with hyphens or spaces, or with
Crockford's look-alike letters is redirected (301, relative Location) to its canonical
/q/<CODE>, never to another code; what is not a code, or fails its check character, gets
the helpful 404. Only the canonical request counts a scan."""

from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from app.db import db
from app.models import Product, ScanCount, ScanKind, ShortCode
from app.services import codes, expos, scans

# Most tests here call services or db.session themselves (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("app_ctx")


PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def chicken_code() -> str:
    product = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    return codes.code_for(product)


def scan_total(code: str, kind: ScanKind = ScanKind.SCAN) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(ScanCount.count), 0)).where(
            ScanCount.code == code, ScanCount.kind == kind
        )
    )


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


# (what follows /q/, built from the canonical code C) -> the canonical path it leads to.
REDIRECTS = {
    "trailing slash": (lambda c: c + "/", ""),
    "two trailing slashes": (lambda c: c + "//", ""),
    "lower case": (lambda c: c.lower(), ""),
    "lower case and slash": (lambda c: c.lower() + "/", ""),
    "full stop": (lambda c: c + ".", ""),
    "comma": (lambda c: c + ",", ""),
    "closing parenthesis": (lambda c: c + ")", ""),
    "in parentheses": (lambda c: "(" + c + ")", ""),
    "ideographic full stop": (lambda c: c + "。", ""),
    "ideographic comma": (lambda c: c + "，", ""),
    "full-width closing parenthesis": (lambda c: c + "）", ""),
    "exclamation mark": (lambda c: c + "!", ""),
    "hyphen in the middle": (lambda c: c[:4] + "-" + c[4:], ""),
    "lower case with hyphen": (lambda c: c[:4].lower() + "-" + c[4:].lower(), ""),
    "space in the middle": (lambda c: c[:4] + " " + c[4:], ""),
    "lower case with space": (lambda c: c[:4].lower() + " " + c[4:].lower(), ""),
    "en-dash": (lambda c: c[:4] + "\u2013" + c[4:], ""),
    "underscore in the middle": (lambda c: c[:4] + "_" + c[4:], ""),
    "middle dot in the middle": (lambda c: c[:4] + "\u00b7" + c[4:], ""),
    "katakana middle dot": (lambda c: c[:4] + "\u30fb" + c[4:], ""),
    "bullet between pairs": (lambda c: "\u2022".join(c[i : i + 2] for i in range(0, 8, 2)), ""),
    "full-width": (full_width, ""),
    "zero-width space inside": (lambda c: c[:4] + "\u200b" + c[4:], ""),
    "ideographic space after": (lambda c: c + "\u3000", ""),
    "trailing newline (a scanner typing Enter)": (lambda c: c + "\n", ""),
    "trailing CR LF": (lambda c: c + "\r\n", ""),
    "newline then slash": (lambda c: c + "\n/", ""),
    "svg in capitals": (lambda c: c + ".SVG", ".svg"),
    "lower-case png": (lambda c: c.lower() + ".png", ".png"),
    "svg with a slash": (lambda c: c + ".svg/", ".svg"),
    "hyphenated png": (lambda c: c[:4] + "-" + c[4:] + ".png", ".png"),
}


@pytest.mark.parametrize("variant", list(REDIRECTS))
def test_non_canonical_codes_redirect_to_the_canonical_address(client, variant):
    code = chicken_code()
    make, suffix = REDIRECTS[variant]
    response = client.get("/q/" + quote(make(code), safe="/"))
    assert response.status_code == 301, (variant, response.status_code)
    assert response.headers["Location"] == f"/q/{code}{suffix}"  # relative: no host at all
    followed = client.get(response.headers["Location"])
    assert followed.status_code == 200


# The path typed in capitals, as from a label with caps lock on: /Q/ leads to /q/ too.
UPPER_CASE_PATHS = {
    "capital Q": (lambda c: "/Q/" + c, ""),
    "capital Q, trailing slash": (lambda c: "/Q/" + c + "/", ""),
    "capital Q, lower-case code": (lambda c: "/Q/" + c.lower(), ""),
    "capital Q, hyphen and full stop": (lambda c: "/Q/" + c[:4] + "-" + c[4:] + ".", ""),
    "capital Q, PNG": (lambda c: "/Q/" + c + ".PNG", ".png"),
    "capital Q, look-alike letters": (lambda c: "/Q/" + c.replace("1", "I").replace("0", "O"), ""),
}


@pytest.mark.parametrize("variant", list(UPPER_CASE_PATHS))
def test_the_address_typed_in_capitals_redirects_to_the_canonical_one(client, variant):
    code = chicken_code()
    make, suffix = UPPER_CASE_PATHS[variant]
    response = client.get(quote(make(code), safe="/"), headers={"User-Agent": PHONE})
    assert response.status_code == 301, (variant, response.status_code)
    assert response.headers["Location"] == f"/q/{code}{suffix}"
    assert scan_total(code) == 0  # only the canonical request counts


@pytest.mark.parametrize("typed", ["/Q/", "/Q/ZZZZ", "/Q/" + "A" * 9])
def test_not_a_code_in_capitals_is_the_helpful_404(client, typed):
    response = client.get(typed + "?lang=en")
    assert response.status_code == 404 and "Location" not in response.headers


@pytest.mark.parametrize("variant", ["trailing slash", "lower case", "hyphen in the middle"])
def test_head_is_redirected_too_and_the_query_string_is_kept(client, variant):
    code = chicken_code()
    make, _suffix = REDIRECTS[variant]
    head = client.head("/q/" + quote(make(code), safe="/"))
    assert head.status_code == 301 and head.headers["Location"] == f"/q/{code}"
    with_lang = client.get("/q/" + quote(make(code), safe="/") + "?lang=en")
    assert with_lang.headers["Location"] == f"/q/{code}?lang=en"


def test_crockford_look_alike_letters_read_as_digits_and_never_as_another_code(client):
    with_digits = db.session.scalars(select(ShortCode.code)).all()
    tried = 0
    for code in with_digits:
        if "1" not in code and "0" not in code:
            continue
        for typed in (
            code.replace("1", "I").replace("0", "O"),
            code.replace("1", "l").replace("0", "o"),
            code.replace("1", "L"),
        ):
            if typed == code:
                continue
            response = client.get(f"/q/{typed}")
            assert response.status_code == 301
            assert response.headers["Location"] == f"/q/{code}"
            tried += 1
        if tried >= 6:
            break
    assert tried >= 3


def _wrong_check(code: str) -> str:
    return code[:-1] + next(c for c in codes.ALPHABET if c != code[-1])


def _swapped(code: str) -> str:
    i = next(i for i in range(6) if code[i] != code[i + 1])
    return code[:i] + code[i + 1] + code[i] + code[i + 2 :]


NOT_FOUND = {
    "wrong check character": _wrong_check,
    "wrong check character, slash": lambda c: _wrong_check(c) + "/",
    "wrong check character, lower case": lambda c: _wrong_check(c).lower(),
    "neighbours swapped": _swapped,
    "too short": lambda c: c[:-1],
    "too long": lambda c: c + "A",
    "letter U (not Crockford)": lambda c: "U" + c[1:],
    "asterisk": lambda c: c[:4] + "*" + c[5:],
    "dot traversal before": lambda c: "../" + c,
    "encoded traversal": lambda c: "..%2F" + c,
    "path after the code": lambda c: c + "/../admin",
    "another segment": lambda c: c + "/extra",
    "other extension": lambda c: c + ".exe",
    "extension only": lambda c: ".png",
    "very long": lambda c: c * 700,
    "dot inside": lambda c: c[:4] + "." + c[4:],
}


@pytest.mark.parametrize("variant", list(NOT_FOUND))
def test_what_is_not_a_code_is_a_helpful_404_not_a_redirect(client, variant):
    code = chicken_code()
    typed = NOT_FOUND[variant](code)
    response = client.get("/q/" + (typed if "%" in typed else quote(typed, safe="/")) + "?lang=en")
    assert response.status_code == 404, (variant, response.status_code)
    assert "Location" not in response.headers
    page = response.get_data(as_text=True)
    if "check" in variant or "swapped" in variant:
        assert "probably mistyped" in page  # templates/qr/code_problem.html
    assert scan_total(code) == 0


def test_a_scan_through_a_redirect_is_counted_once(client):
    code = chicken_code()
    response = client.get(
        f"/q/{code.lower()}/", headers={"User-Agent": PHONE}, follow_redirects=True
    )
    assert response.status_code == 200
    assert scan_total(code) == 1


def test_the_fast_path_leaves_non_canonical_codes_to_the_redirect(app):
    app.config["SCAN_FLUSH_SECONDS"] = 3600.0
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 3600.0
    scans.scan_buffer.configure(db.engine, 3600.0)
    client = app.test_client()
    code = chicken_code()
    try:
        assert client.get(f"/q/{code}", headers={"User-Agent": PHONE}).status_code == 200
        assert client.get(f"/q/{code}", headers={"User-Agent": PHONE}).status_code == 200  # fast
        for typed in (code + "/", code.lower(), code[:4] + "-" + code[4:]):
            response = client.get(f"/q/{typed}", headers={"User-Agent": PHONE})
            assert response.status_code == 301 and response.headers["Location"] == f"/q/{code}"
        assert scans.scan_buffer.flush() == 2 and scan_total(code) == 2
    finally:
        scans.scan_buffer.flush()


def test_typed_code_form_reads_pasted_codes(client):
    code = chicken_code()
    for typed in (code.lower(), f"“{code}”。", full_width(code), code[:4] + " - " + code[4:]):
        response = client.get("/q/", query_string={"code": typed})
        assert response.status_code == 302 and response.headers["Location"] == f"/q/{code}"


@pytest.mark.parametrize(
    "make, status",
    [
        (lambda c: c.lower(), 301),
        (lambda c: c + "/", 301),
        (lambda c: c[:4] + "-" + c[4:] + ".", 301),
        (lambda c: full_width(c), 301),
        (_wrong_check, 404),
        (lambda c: c + "/extra", 404),
        (lambda c: c[:-1], 404),
    ],
)
def test_saved_list_codes_redirect_the_same_way(app, make, status):
    products = list(db.session.scalars(select(Product).where(Product.slug == "wenchang-chicken")))
    saved = expos.create_saved_list(products)
    db.session.commit()
    response = app.test_client().get("/list/" + quote(make(saved.code), safe="/"))
    assert response.status_code == status
    if status == 301:
        assert response.headers["Location"] == f"/list/{saved.code}"
