"""Photos through the back office: real JPEG/PNG files posted through the edit page's
multipart form, processed by the real pipeline onto disk, shown on the public page once
the product is published; county rights, the published-product rule, audit entries."""

import json
from io import BytesIO

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from app.db import db
from app.media.upload import MAX_UPLOAD_BYTES
from app.models import AuditEntry, Product, ProductImage
from app.models.listing import PublicationStatus
from app.request_limits import FORM_OVERHEAD
from app.services.audit import verify_chain
from tests.admin_support import (
    add_sign,
    county,
    csrf_token,
    login,
    make_users,
    signed_in,
    wenchang_listings,
)

# Most tests here call services or db.session themselves (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("app_ctx")


def jpeg(color=(200, 120, 40), size=(1200, 900)) -> bytes:
    image = Image.new("RGB", size, color)
    ImageDraw.Draw(image).ellipse([100, 100, 700, 700], fill=(30, 140, 60))
    buffer = BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def new_draft(client) -> Product:
    data = {
        "csrf_token": csrf_token(client, "/admin/products/new"),
        "name_zh": "文昌椰子糖",
        "name_en": "Wenchang coconut candy",
        "category_id": "1",
        "county_ids": [str(county("wenchang").id)],
        "summary_zh": "椰香浓郁",
        "description_zh": "椰香浓郁的文昌椰子糖",
    }
    assert client.post("/admin/products/new", data=data).status_code == 302
    product = db.session.scalar(select(Product).where(Product.slug == "wenchang-coconut-candy"))
    add_sign(product)
    return product


def upload(
    client,
    product_id: int,
    data: bytes,
    alt_zh="椰子糖摆盘",
    alt_en="Coconut candy",
    name="photo.jpg",
    lang="zh",
):
    token = csrf_token(client, f"/admin/products/{product_id}/edit?lang={lang}")
    fields = {"csrf_token": token, "alt_zh": alt_zh, "alt_en": alt_en}
    return post_multipart(
        client, f"/admin/products/{product_id}/photos?lang={lang}", fields, data, name
    )


def post_multipart(client, url: str, fields: dict, data: bytes, name: str, field="photo"):
    """Encoded in memory: the test client would otherwise spool a large body to a temporary
    file that nobody closes when the app refuses the body unread (a ResourceWarning)."""
    stream, length, boundary = stream_encode_multipart(
        {
            **fields,
            field: FileStorage(BytesIO(data), name, content_type="application/octet-stream"),
        },
        use_tempfile=False,
    )
    return client.post(
        url,
        data=stream.getvalue(),
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def post(client, url: str, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, "/admin/"), **data})


def photos_of(product_id: int) -> list[ProductImage]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ProductImage)
            .where(ProductImage.product_id == product_id)
            .order_by(ProductImage.sort_order, ProductImage.id)
        )
    )


def audit_actions(product_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == "products", AuditEntry.object_id == product_id)
            .order_by(AuditEntry.seq)
        )
    )


def test_editor_uploads_a_jpeg_and_the_public_page_shows_it_after_publishing(app):
    editor = signed_in(app, "editor_a")
    product = new_draft(editor)
    photo = jpeg()
    response = upload(editor, product.id, photo)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/products/{product.id}/edit#photos")
    [image] = photos_of(product.id)
    assert (image.alt_zh, image.alt_en, image.is_cover) == ("椰子糖摆盘", "Coconut candy", True)
    assert (image.width, image.height) == (1200, 900)
    rendition = app.config["MEDIA_ROOT"] / image.rendition_name(800, "webp")
    with Image.open(rendition) as processed:
        assert processed.size == (800, 600)
    page = editor.get(f"/admin/products/{product.id}/edit").get_data(as_text=True)
    assert image.rendition_name(320, "jpg") in page and 'value="椰子糖摆盘"' in page
    assert "photo_add" in audit_actions(product.id)

    # Not public while a draft.
    assert app.test_client().get("/products/wenchang-coconut-candy").status_code == 404
    assert post(editor, f"/admin/products/{product.id}/submit").status_code == 302
    reviewer = app.test_client()
    login(reviewer, "reviewer")
    assert post(reviewer, f"/admin/products/{product.id}/publish").status_code == 302
    public = app.test_client().get("/products/wenchang-coconut-candy?lang=zh")
    assert public.status_code == 200
    html = public.get_data(as_text=True)
    assert image.rendition_name(800, "jpg") in html and 'alt="椰子糖摆盘"' in html
    served = app.test_client().get("/media/" + image.rendition_name(800, "webp"))
    assert served.status_code == 200 and served.mimetype == "image/webp"
    served.close()
    assert verify_chain().ok


@pytest.mark.parametrize(
    ("data", "lang", "message"),
    [
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "en",
            "SVG drawings are not accepted",
        ),
        (b"GIF89a" + b"\x00" * 200, "en", "This file is not a JPEG, PNG or WebP photo."),
        (jpeg()[:2000], "zh", "照片已损坏或不完整"),
        (b"", "en", "Please choose a photo to upload."),
    ],
)
def test_rejected_file_shows_a_message_and_writes_nothing(app, data, lang, message):
    client = signed_in(app, "editor_a")
    product = new_draft(client)
    response = upload(client, product.id, data, lang=lang)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert 'id="photo-err"' in html and 'value="椰子糖摆盘"' in html  # alt text kept
    assert photos_of(product.id) == []
    assert "photo_add" not in audit_actions(product.id)


def test_alt_text_in_chinese_is_required(app):
    client = signed_in(app, "editor_a")
    product = new_draft(client)
    response = upload(client, product.id, jpeg(), alt_zh="  ", lang="en")
    assert response.status_code == 400
    assert 'id="alt_zh-err"' in response.get_data(as_text=True)
    assert photos_of(product.id) == []


def test_upload_over_the_request_limit_gets_a_friendly_413_page(app):
    client = signed_in(app, "editor_a")
    product = new_draft(client)
    big = b"\xff\xd8\xff" + b"\x00" * (MAX_UPLOAD_BYTES + FORM_OVERHEAD + 10)
    for lang, text in (("en", "What was sent is too large"), ("zh", "发送的内容太大")):
        response = upload(client, product.id, big, lang=lang)
        assert response.status_code == 413
        assert text in response.get_data(as_text=True)
    assert photos_of(product.id) == []


def test_photo_between_15_mb_and_the_request_limit_is_refused_with_a_message(app):
    client = signed_in(app, "editor_a")
    product = new_draft(client)
    response = upload(client, product.id, jpeg() + b"\x00" * (15 * 1024 * 1024), lang="en")
    assert response.status_code == 400
    assert "larger than 15 MB" in response.get_data(as_text=True)


def test_editor_of_another_county_cannot_touch_the_photos(app):
    owner = signed_in(app, "editor_a")
    product = new_draft(owner)
    assert upload(owner, product.id, jpeg()).status_code == 302
    [image] = photos_of(product.id)
    before = len(audit_actions(product.id))
    intruder = app.test_client()
    login(intruder, "editor_b")
    token = csrf_token(intruder, "/admin/")
    response = post_multipart(
        intruder,
        f"/admin/products/{product.id}/photos",
        {"csrf_token": token, "alt_zh": "x"},
        jpeg((1, 2, 3)),
        "a.jpg",
    )
    assert response.status_code == 403
    base = f"/admin/products/{product.id}/photos/{image.id}"
    for action, extra in (
        ("alt", {"alt_zh": "hijacked"}),
        ("move", {"direction": "down"}),
        ("cover", {}),
        ("remove", {}),
    ):
        assert post(intruder, f"{base}/{action}", **extra).status_code == 403, action
    [after] = photos_of(product.id)
    assert (after.id, after.alt_zh, after.is_cover) == (image.id, "椰子糖摆盘", True)
    assert len(audit_actions(product.id)) == before
    # Nor through a photo id of another product under their own product's URL.
    sanya_product = db.session.scalar(select(Product).where(Product.slug == "sanya-mango"))
    url = f"/admin/products/{sanya_product.id}/photos/{image.id}/remove"
    assert post(intruder, url).status_code in (403, 404)
    assert len(photos_of(product.id)) == 1


def test_reorder_cover_alt_and_remove(app):
    client = signed_in(app, "editor_a")
    product = new_draft(client)
    for n, color in enumerate(((200, 0, 0), (0, 200, 0), (0, 0, 200))):
        assert (
            upload(client, product.id, jpeg(color), alt_zh=f"照片{n}", alt_en="").status_code == 302
        )
    first, second, third = photos_of(product.id)
    assert [p.is_cover for p in (first, second, third)] == [True, False, False]
    base = f"/admin/products/{product.id}/photos"

    assert post(client, f"{base}/{third.id}/move", direction="up").status_code == 302
    assert [p.id for p in photos_of(product.id)] == [first.id, third.id, second.id]
    assert post(client, f"{base}/{first.id}/move", direction="up").status_code == 302  # at the top
    assert [p.id for p in photos_of(product.id)] == [first.id, third.id, second.id]
    assert post(client, f"{base}/{first.id}/move", direction="sideways").status_code == 302
    assert [p.id for p in photos_of(product.id)] == [first.id, third.id, second.id]

    assert post(client, f"{base}/{second.id}/cover").status_code == 302
    assert [p.id for p in photos_of(product.id) if p.is_cover] == [second.id]

    assert (
        post(client, f"{base}/{third.id}/alt", alt_zh="新的描述", alt_en="New text").status_code
        == 302
    )
    third_now = db.session.get(ProductImage, third.id)
    assert (third_now.alt_zh, third_now.alt_en) == ("新的描述", "New text")
    assert post(client, f"{base}/{third.id}/alt", alt_zh="").status_code == 302
    assert db.session.get(ProductImage, third.id).alt_zh == "新的描述"

    remove_second = f"{base}/{second.id}/remove"
    assert post(client, remove_second).status_code == 302
    remaining = photos_of(product.id)
    assert [p.id for p in remaining] == [first.id, third.id]
    assert [p.id for p in remaining if p.is_cover] == [first.id]  # the next in order
    assert post(client, remove_second).status_code == 404

    actions = audit_actions(product.id)
    for action in ("photo_add", "photo_order", "photo_cover", "photo_alt", "photo_remove"):
        assert action in actions, action
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "photo_alt").order_by(AuditEntry.seq.desc())
    )
    assert json.loads(entry.details)["alt_zh"] == ["照片2", "新的描述"]
    assert verify_chain().ok


def test_published_product_photos_are_for_reviewers(app):
    make_users()
    product = wenchang_listings()["products"]
    assert product.status == PublicationStatus.PUBLISHED
    assert photos_of(product.id) == []  # the seed shows an illustration, not a photo
    reviewer = app.test_client()
    login(reviewer, "reviewer")
    assert upload(reviewer, product.id, jpeg()).status_code == 302
    [first] = photos_of(product.id)

    editor = app.test_client()
    login(editor, "editor_a")
    page = editor.get(f"/admin/products/{product.id}/edit?lang=en").get_data(as_text=True)
    assert "its photos are changed by a reviewer" in page
    assert f'/admin/products/{product.id}/photos"' not in page  # no upload form
    response = upload(editor, product.id, jpeg(color=(10, 90, 200)), lang="en")
    assert response.status_code == 403
    assert "its photos are changed by a reviewer" in response.get_data(as_text=True)
    assert post(editor, f"/admin/products/{product.id}/photos/{first.id}/remove").status_code == 403
    assert len(photos_of(product.id)) == 1

    assert upload(reviewer, product.id, jpeg(color=(10, 90, 200))).status_code == 302
    images = photos_of(product.id)
    assert len(images) == 2 and images[0].is_cover and not images[1].is_cover
    public = app.test_client().get("/products/wenchang-chicken").get_data(as_text=True)
    assert images[0].rendition_name(800, "jpg") in public
