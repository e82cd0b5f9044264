"""/verify (authorised or not) and /report (counterfeit reports into a non-public queue)."""

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.db import db
from app.models import Authorization, CounterfeitReport, County, Product, ReportStatus
from app.request_limits import FORM_OVERHEAD
from app.services import reports

# Most tests here call services or db.session themselves (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("app_ctx")


def html(response) -> str:
    return response.get_data(as_text=True)


def authorization(status: str) -> Authorization:
    return db.session.scalar(
        select(Authorization).where(Authorization.auth_status == status).order_by(Authorization.id)
    )


# --- /verify --------------------------------------------------------------------------------


def test_valid_credit_code_lists_authorizations_with_dates(client):
    valid = authorization("valid")
    page = html(client.get(f"/verify?code={valid.enterprise.credit_code}&lang=en"))
    assert valid.enterprise.name_en in page or valid.enterprise.name_zh in page
    assert "Authorised" in page and valid.valid_to.isoformat() in page
    if valid.valid_from:
        assert f"since {valid.valid_from.isoformat()}" in page


def test_lower_case_and_spaces_in_credit_code_are_accepted(client):
    code = authorization("valid").enterprise.credit_code
    spaced = " ".join([code[:6].lower(), code[6:12], code[12:]])
    assert "Authorised" in html(client.get("/verify", query_string={"code": spaced, "lang": "en"}))


def test_authorization_number_is_verified(client):
    valid = authorization("valid")
    page = html(client.get("/verify", query_string={"code": valid.number.lower(), "lang": "en"}))
    assert valid.number in page and "Authorised" in page


@pytest.mark.parametrize("status, word", [("expired", "Expired on"), ("revoked", "Revoked")])
def test_expired_and_revoked_show_in_red_with_the_date(client, status, word):
    found = authorization(status)
    page = html(client.get("/verify", query_string={"code": found.number, "lang": "en"}))
    item = re.search(r'<li class="verdict-item verdict-(\w+)">(.*?)</li>', page, re.S)
    assert item.group(1) == status
    assert word in item.group(2) and found.valid_to.isoformat() in item.group(2)
    assert 'class="status status-' + status in item.group(2)


def test_valid_authorization_past_its_end_date_is_expired(client):
    found = authorization("valid")
    from datetime import date

    found.valid_to = date(2020, 1, 1)
    db.session.commit()
    page = html(client.get("/verify", query_string={"code": found.number, "lang": "en"}))
    assert "Expired on 2020-01-01" in page


def test_wrong_check_character_is_explained(client):
    code = authorization("valid").enterprise.credit_code
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    page = html(client.get("/verify", query_string={"code": wrong, "lang": "en"}))
    assert "probably mistyped" in page and "Where to find it" in page


@pytest.mark.parametrize(
    "code", ["<script>alert(1)</script>", "x" * 500, "  ", "91IOSVZ00000000000"]
)
def test_malformed_codes_are_explained_not_500(client, code):
    response = client.get("/verify", query_string={"code": code, "lang": "en"})
    assert response.status_code == 200
    page = html(response)
    assert "<script>alert" not in page
    assert "Where to find it" in page or "Please type a code" in page


def test_unknown_but_well_formed_credit_code_is_not_authorised(client):
    from app.models.enterprises import credit_code_check_char

    body = "91460000MA5T12345"
    page = html(
        client.get(
            "/verify", query_string={"code": body + credit_code_check_char(body), "lang": "en"}
        )
    )
    assert "No authorization found" in page


# --- /report --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_csrf_unless_asked(request, app):
    """Most report tests are about content; test_report_needs_csrf switches it back on."""
    app.config["WTF_CSRF_ENABLED"] = False


def photo_bytes(fmt="JPEG", size=(64, 48), exif=True) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    kwargs = {}
    if exif and fmt == "JPEG":
        info = Image.Exif()
        info[0x010F] = "SecretCam"  # Make
        kwargs["exif"] = info.tobytes()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def report_form(product: Product | None = None, **extra) -> dict:
    data = {"where_bought": "海口某超市", "description": "标签上的地理标志看起来是伪造的"}
    if product is not None:
        data["product"] = str(product.id)
    data.update(extra)
    return data


def test_report_lands_in_the_queue_of_the_products_home_county(app, client):
    mango = db.session.scalar(select(Product).where(Product.slug == "sanya-mango"))
    data = report_form(mango, photo=(io.BytesIO(photo_bytes()), "label.jpg"))
    response = client.post("/report", data=data, content_type="multipart/form-data")
    assert response.status_code == 303 and response.headers["Location"].endswith("/report/thanks")
    report = db.session.scalar(select(CounterfeitReport))
    assert report.product_id == mango.id and report.home_county.slug == "sanya"
    assert report.county is None  # the reporter did not say where they bought it
    assert report.report_status == ReportStatus.NEW
    stored = reports.photo_path(app.config["INSTANCE_DIR"] / "reports", report)
    with Image.open(stored) as image:
        assert image.format == "JPEG" and not image.getexif()
    assert str(app.config["MEDIA_ROOT"]) not in str(stored)  # never in the public media folder


def test_report_needs_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    response = client.post("/report", data=report_form())
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(CounterfeitReport.id))) == 0
    page = html(client.get("/report"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/report", data=report_form(csrf_token=token)).status_code == 303


def test_report_is_rate_limited(app, client):
    app.config["RATELIMIT_ENABLED"] = True
    for _ in range(5):
        assert client.post("/report", data=report_form()).status_code == 303
    over = client.post("/report", data=report_form(), headers={"Accept-Language": "en"})
    assert over.status_code == 429
    assert db.session.scalar(select(func.count(CounterfeitReport.id))) == 5
    assert client.get("/report").status_code == 200  # reading the form is not limited


def test_missing_fields_are_reported_in_the_form(client):
    response = client.post("/report?lang=en", data={"where_bought": "", "description": ""})
    assert response.status_code == 400
    assert "Please say where you bought or saw it." in html(response)


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"GIF89a" + b"\x00" * 100, "not a JPEG, PNG or WebP"),
        (b"%PDF-1.4 not an image", "not a JPEG, PNG or WebP"),
        (photo_bytes("GIF"), "not a JPEG, PNG or WebP"),
    ],
)
def test_bad_photos_get_a_form_message_and_nothing_is_stored(client, payload, message):
    data = report_form(photo=(io.BytesIO(payload), "x.jpg"))
    response = client.post("/report?lang=en", data=data, content_type="multipart/form-data")
    assert response.status_code == 400 and message in html(response)
    assert db.session.scalar(select(func.count(CounterfeitReport.id))) == 0


def post_large(client, url: str, data: dict):
    """Multipart body built in memory: the test client would spool it to an unclosed file."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    fields = {
        k: FileStorage(io.BytesIO(v[0].getvalue()), filename=v[1]) if isinstance(v, tuple) else v
        for k, v in data.items()
    }
    boundary, body = encode_multipart(fields)
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_oversized_photo_is_refused_with_a_message(client):
    big = photo_bytes() + b"\x00" * (reports.MAX_PHOTO_BYTES + 10)
    data = report_form(photo=(io.BytesIO(big), "big.jpg"))
    response = post_large(client, "/report?lang=en", data)
    assert response.status_code == 400 and "larger than 8 MB" in html(response)


def test_request_over_the_upload_limit_is_a_413_page_not_a_500(app, client):
    huge = b"\xff" * (reports.MAX_PHOTO_BYTES + FORM_OVERHEAD + 1)  # over /report's limit
    data = report_form(photo=(io.BytesIO(huge), "huge.jpg"))
    response = post_large(client, "/report", data)
    assert response.status_code == 413


def test_decompression_bomb_is_refused():
    image = Image.new("1", (9000, 9000))
    out = io.BytesIO()
    image.save(out, format="PNG")
    with pytest.raises(reports.PhotoRejected) as rejected:
        reports.reencode_photo(out.getvalue())
    assert rejected.value.reason == reports.PhotoRejected.TOO_MANY_PIXELS


def test_reports_are_never_public(client):
    client.post("/report", data=report_form())
    for path in ("/", "/products/", "/api/v1/products", "/data/catalogue.json", "/sitemap.xml"):
        assert "标签上的地理标志看起来是伪造的" not in html(client.get(path))


# --- the officials' queue service -------------------------------------------------------------


def test_queue_is_scoped_to_the_officials_counties_and_moves_through_statuses(app, client):
    sanya = db.session.scalar(select(County).where(County.slug == "sanya"))
    haikou = db.session.scalar(select(County).where(County.slug == "haikou"))
    mine = reports.submit_report(where_bought="a", description="b", county=sanya)
    other = reports.submit_report(where_bought="c", description="d", county=haikou)
    db.session.commit()
    queue = reports.report_queue({sanya.id})
    assert [r.id for r in queue.items] == [mine.id]
    assert queue.counts[ReportStatus.NEW] == 1
    assert len(reports.report_queue(None).items) == 2  # provincial reviewers see all
    with pytest.raises(reports.NotYourCounty):
        reports.report_for_official(other.id, {sanya.id})
    reports.update_report(mine, {sanya.id}, ReportStatus.INVESTIGATING, "visited the shop", None)
    reports.update_report(mine, {sanya.id}, ReportStatus.CLOSED, None, None)
    db.session.commit()
    assert mine.report_status == ReportStatus.CLOSED and mine.official_note == "visited the shop"
    assert reports.report_queue({sanya.id}, ReportStatus.CLOSED).items == [mine]
    with pytest.raises(reports.NotYourCounty):
        reports.update_report(other, {sanya.id}, ReportStatus.CLOSED, None, None)
    assert reports.report_queue(set()).items == []
