"""Issue 8, kind 9: bounded request bodies on every route, refused with 413 before parsing.

A small limit everywhere (MAX_CONTENT_LENGTH), a larger one only for multipart uploads on
the views that take a file, at most MAX_FORM_PARTS fields in any form, chunked bodies
bounded too, and the site's bilingual 413 page (JSON under /api)."""

import io

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.media.upload import MAX_UPLOAD_BYTES
from app.request_limits import FORM_OVERHEAD
from app.services import reports
from tests.admin_support import csrf_token, login, make_users

pytestmark = pytest.mark.usefixtures("app_ctx")

KIB, MIB = 1024, 1024 * 1024
URLENCODED = "application/x-www-form-urlencoded"
REPORT_LIMIT = reports.MAX_PHOTO_BYTES + FORM_OVERHEAD
PHOTO_LIMIT = MAX_UPLOAD_BYTES + FORM_OVERHEAD


class Unreadable(io.RawIOBase):
    """A body that fails the test if anything reads it: refusals come before reading."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, _offset: int, _whence: int = 0) -> int:
        return 0

    def readinto(self, _buffer) -> int:
        raise AssertionError("the body was read before it was refused")


def many_fields(count: int) -> bytes:
    return b"&".join([b"a=b"] * count)


def multipart(fields: dict) -> tuple[bytes, str]:
    boundary, body = encode_multipart(
        {
            name: FileStorage(io.BytesIO(value[0]), value[1]) if isinstance(value, tuple) else value
            for name, value in fields.items()
        }
    )
    return body, f"multipart/form-data; boundary={boundary}"


def send(client, method: str, url: str, body: bytes, content_type: str, chunked=False):
    if chunked:  # no Content-Length: the server says the stream ends by itself
        return client.open(
            url,
            method=method,
            input_stream=io.BytesIO(body),
            content_type=content_type,
            headers={"Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
    return client.open(url, method=method, data=body, content_type=content_type)


# (name, method, url, body builder, content type or None for the multipart's own, chunked)
REFUSED = [
    (
        "issue example: 8 MiB, 3 million fields",
        "POST",
        "/report",
        lambda: many_fields(3_000_000)[: 8 * MIB],
        URLENCODED,
        False,
    ),
    (
        "3 million fields to the login form",
        "POST",
        "/admin/login",
        lambda: many_fields(3_000_000)[: 8 * MIB],
        URLENCODED,
        False,
    ),
    (
        "issue example: 1 MB field on the login form",
        "POST",
        "/admin/login",
        lambda: b"email=" + b"x" * 1_000_000 + b"&password=y",
        URLENCODED,
        False,
    ),
    (
        "1001 small fields (under the byte limit)",
        "POST",
        "/admin/login",
        lambda: many_fields(1001),
        URLENCODED,
        False,
    ),
    ("5000 empty fields", "POST", "/report", lambda: b"&" * 5000, URLENCODED, False),
    (
        "one field just over 256 KiB",
        "POST",
        "/report",
        lambda: b"description=" + b"x" * (256 * KIB),
        URLENCODED,
        False,
    ),
    (
        "url-encoded 8 MiB on an upload route",
        "POST",
        "/report",
        lambda: b"description=" + b"x" * (8 * MIB),
        URLENCODED,
        False,
    ),
    (
        "url-encoded 2 MiB on the photo route",
        "POST",
        "/admin/products/1/photos",
        lambda: b"alt_zh=" + b"x" * (2 * MIB),
        URLENCODED,
        False,
    ),
    (
        "admin edit form, 1 MiB description",
        "POST",
        "/admin/products/1/edit",
        lambda: b"summary_zh=" + b"x" * MIB,
        URLENCODED,
        False,
    ),
    (
        "admin edit form, 2000 fields",
        "POST",
        "/admin/products/1/edit",
        lambda: many_fields(2000),
        URLENCODED,
        False,
    ),
    (
        "spreadsheet import, url-encoded 1 MiB",
        "POST",
        "/admin/products/import",
        lambda: b"file=" + b"x" * MIB,
        URLENCODED,
        False,
    ),
    (
        "chunked 8 MiB of fields, no Content-Length",
        "POST",
        "/report",
        lambda: many_fields(3_000_000)[: 8 * MIB],
        URLENCODED,
        True,
    ),
    (
        "chunked 1 MB field to the login form",
        "POST",
        "/admin/login",
        lambda: b"email=" + b"x" * 1_000_000,
        URLENCODED,
        True,
    ),
    (
        "chunked 600 fields of 1 KiB",
        "POST",
        "/admin/login",
        lambda: b"&".join([b"a=" + b"x" * KIB] * 600),
        URLENCODED,
        True,
    ),
    (
        "multipart with 1500 parts",
        "POST",
        "/report",
        lambda: multipart({f"f{i}": "x" for i in range(1500)}),
        None,
        False,
    ),
    (
        "multipart, one 300 KiB text field on an upload route",
        "POST",
        "/report",
        lambda: multipart({"description": "x" * (300 * KIB)}),
        None,
        False,
    ),
    (
        "multipart 1 MiB file on the login form",
        "POST",
        "/admin/login",
        lambda: multipart({"email": (b"x" * MIB, "a.txt")}),
        None,
        False,
    ),
    (
        "multipart over the report's photo limit",
        "POST",
        "/report",
        lambda: multipart({"photo": (b"\xff" * (REPORT_LIMIT + 1), "big.jpg")}),
        None,
        False,
    ),
    (
        "multipart over the photo upload limit",
        "POST",
        "/admin/products/1/photos",
        lambda: multipart({"photo": (b"\xff" * (PHOTO_LIMIT + 1), "big.jpg")}),
        None,
        False,
    ),
    (
        "multipart over the spreadsheet limit",
        "POST",
        "/admin/products/import",
        lambda: multipart({"file": (b"a,b\n" * (2 * MIB), "big.csv")}),
        None,
        False,
    ),
    (
        "chunked multipart over the report's limit",
        "POST",
        "/report",
        lambda: multipart({"photo": (b"\xff" * (REPORT_LIMIT + 1), "big.jpg")}),
        None,
        True,
    ),
    (
        "JSON body of 1 MiB to a search GET",
        "GET",
        "/search?q=x",
        lambda: b'{"q": "' + b"x" * MIB + b'"}',
        "application/json",
        False,
    ),
]


@pytest.mark.parametrize(
    ("name", "method", "url", "build", "content_type", "chunked"),
    REFUSED,
    ids=[case[0] for case in REFUSED],
)
def test_oversized_bodies_are_refused_with_the_413_page(
    client, name, method, url, build, content_type, chunked
):
    built = build()
    body, content_type = built if content_type is None else (built, content_type)
    response = send(
        client, method, url + ("&" if "?" in url else "?") + "lang=en", body, content_type, chunked
    )
    assert response.status_code == 413, name
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "What was sent is too large" in page and "Request ID" in page


@pytest.mark.parametrize(
    ("method", "url", "length"),
    [
        ("POST", "/report", 300 * KIB),
        ("POST", "/admin/login", 300 * KIB),
        ("POST", "/admin/products/1/edit", 8 * MIB),
        ("POST", "/admin/products/1/photos", MIB),
        ("POST", "/admin/products/import", MIB),
        ("GET", "/search?q=x", 300 * KIB),
        ("POST", "/report", 3 * 1024 * MIB),
    ],
)
def test_a_declared_length_over_the_limit_is_refused_without_reading(client, method, url, length):
    response = client.open(
        url,
        method=method,
        input_stream=Unreadable(),
        content_type=URLENCODED,
        environ_overrides={"CONTENT_LENGTH": str(length)},
    )
    assert response.status_code == 413


def test_the_413_page_is_in_the_visitors_language(client):
    body = many_fields(3000)
    for lang, text in (("en", "What was sent is too large"), ("zh", "发送的内容太大")):
        response = client.post(f"/report?lang={lang}", data=body, content_type=URLENCODED)
        assert response.status_code == 413 and text in response.get_data(as_text=True)


def test_api_answers_413_in_json(client):
    response = client.get("/api/v1/products", data=b"x" * MIB, content_type="text/plain")
    assert response.status_code == 413 and response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == 413


@pytest.mark.parametrize("url", ["/api/v1/products", "/api/v1/", "/verify"])
def test_posts_to_read_only_routes_are_405_with_allow_whatever_the_body(client, url):
    response = client.post(url, data=many_fields(3_000_000)[: 8 * MIB], content_type=URLENCODED)
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"] and "POST" not in response.headers["Allow"]


ACCEPTED = [
    ("999 fields", lambda: many_fields(999), URLENCODED, False),
    ("a 200 KiB field", lambda: b"description=" + b"x" * (200 * KIB), URLENCODED, False),
    ("chunked small form", lambda: b"where_bought=x&description=y", URLENCODED, True),
    ("multipart, 900 parts", lambda: multipart({f"f{i}": "x" for i in range(900)}), None, False),
    (
        "multipart photo between 256 KiB and the route limit",
        lambda: multipart({"photo": (b"\xff" * (2 * MIB), "p.jpg")}),
        None,
        False,
    ),
    (
        "multipart photo just over 8 MB: the form's own message",
        lambda: multipart({"photo": (b"\xff" * (reports.MAX_PHOTO_BYTES + 10), "p.jpg")}),
        None,
        False,
    ),
]


@pytest.mark.parametrize(
    ("name", "build", "content_type", "chunked"), ACCEPTED, ids=[case[0] for case in ACCEPTED]
)
def test_bodies_within_the_limits_reach_the_form(client, name, build, content_type, chunked):
    """Not refused: the report form answers with its own 400 (CSRF or field messages)."""
    built = build()
    body, content_type = built if content_type is None else (built, content_type)
    response = send(client, "POST", "/report?lang=en", body, content_type, chunked)
    assert response.status_code == 400, name


def test_a_real_photo_upload_within_its_limit_is_accepted(app):
    """An upload route takes a large multipart file; the login form next to it does not."""
    from tests.admin_support import jpeg_bytes

    make_users()
    client = app.test_client()
    login(client, "editor_a")
    token = csrf_token(client, "/admin/products/new")
    photo = jpeg_bytes(size=(1600, 1200)) + b"\x00" * (400 * KIB)  # trailing bytes: > 256 KiB
    body, content_type = multipart(
        {"csrf_token": token, "alt_zh": "文昌鸡", "alt_en": "", "photo": (photo, "p.jpg")}
    )
    assert len(body) > 256 * KIB
    response = client.post("/admin/products/1/photos", data=body, content_type=content_type)
    assert response.status_code != 413
    refused = client.post("/admin/login", data=body, content_type=content_type)
    assert refused.status_code == 413
