"""Photo uploads end to end on real files: generated here with Pillow (and a little byte
work for what Pillow will not write: bombs, polyglots, a hand-built ICC profile), pushed
through the real pipeline onto disk, read back with Pillow, served by the media view."""

import hashlib
import re
import struct
import zipfile
import zlib
from io import BytesIO
from pathlib import Path

import pytest
from flask_babel import force_locale
from PIL import ExifTags, Image, ImageDraw
from sqlalchemy import select

from app.db import db
from app.media.photos import (
    add_product_photo,
    remove_photo,
    reorder_photos,
    set_cover_photo,
    update_alt_text,
)
from app.media.upload import MAX_UPLOAD_BYTES, MediaError, PhotoRejected, accept_photo, read_upload
from app.models import Product, ProductImage

# Most tests here call services or db.session themselves (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("app_ctx")


# --- files ---------------------------------------------------------------------------------

GPS_MARKER = "GPSMARKERDONOTLEAK"


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def halves(width: int = 400, height: int = 200, mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: orientation is visible in the pixels."""
    image = Image.new(mode, (width, height), (0, 0, 255))
    ImageDraw.Draw(image).rectangle([0, 0, width // 2 - 1, height], fill=(255, 0, 0))
    return image


def jpeg_with_orientation_and_gps(orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "TestPhone"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (19.0, 36.0, 0.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (110.0, 45.0, 0.0),
        ExifTags.GPS.GPSProcessingMethod: GPS_MARKER,
    }
    return encode(halves(), "JPEG", exif=exif, quality=95)


def png_with_alpha() -> bytes:
    image = Image.new("RGBA", (300, 200), (0, 0, 0, 0))  # transparent black
    ImageDraw.Draw(image).rectangle([150, 0, 299, 199], fill=(0, 128, 0, 255))
    return encode(image, "PNG")


def webp_photo() -> bytes:
    return encode(halves(), "WEBP", quality=90)


def animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (128, 128), colour) for colour in ("red", "green", "blue")]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def truncated_jpeg() -> bytes:
    data = encode(noise(600, 400), "JPEG", quality=90)
    return data[: len(data) // 2]


def noise(width: int, height: int) -> Image.Image:
    """Photo-like content (gradient plus noise): compresses like a photo, not a flat fill."""
    gradient = Image.linear_gradient("L").resize((width, height))
    grain = Image.effect_noise((width, height), 40)
    return Image.merge("RGB", (gradient, grain, Image.blend(gradient, grain, 0.5)))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares huge dimensions in a few dozen bytes: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


SVG = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" onload="alert(1)">
<rect width="100" height="100" fill="red"/><script>alert(document.cookie)</script></svg>"""

HTML_PAYLOAD = b"<html><body><script>alert('polyglot')</script></body></html>"


def jpeg_zip_polyglot() -> bytes:
    """A valid JPEG followed by a valid ZIP archive (readable by unzip and by Pillow)."""
    archive = BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("payload.html", HTML_PAYLOAD)
    return encode(noise(320, 240), "JPEG") + archive.getvalue()


def jpeg_html_polyglot() -> bytes:
    """HTML hidden in a JPEG comment segment: a browser sniffing content could run it."""
    return encode(noise(320, 240), "JPEG", comment=HTML_PAYLOAD)


def cmyk_jpeg() -> bytes:
    return encode(Image.new("CMYK", (200, 100), (0, 255, 255, 0)), "JPEG", quality=95)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(xyz: tuple[float, float, float]) -> bytes:
    return b"XYZ \x00\x00\x00\x00" + b"".join(_s15(v) for v in xyz)


def swapped_primaries_profile() -> bytes:
    """An ICC v2 matrix/TRC RGB profile whose red and blue primaries are sRGB's blue and
    red: a pure red pixel in a file tagged with it is blue in sRGB. Built by hand because
    no such profile ships with Pillow."""
    srgb_red, srgb_green, srgb_blue = (
        (0.4361, 0.2225, 0.0139),
        (0.3851, 0.7169, 0.0971),
        (0.1431, 0.0606, 0.7141),
    )
    gamma = b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, 0x0233) + b"\x00\x00"
    desc_text = b"swapped\x00"
    desc = (
        b"desc\x00\x00\x00\x00"
        + struct.pack(">I", len(desc_text))
        + desc_text
        + b"\x00" * 8
        + b"\x00\x00\x00"
        + b"\x00" * 67
    )
    tags = [
        (b"desc", desc),
        (b"wtpt", _xyz_tag((0.9642, 1.0, 0.8249))),
        (b"rXYZ", _xyz_tag(srgb_blue)),
        (b"gXYZ", _xyz_tag(srgb_green)),
        (b"bXYZ", _xyz_tag(srgb_red)),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
        (b"cprt", b"text\x00\x00\x00\x00test\x00\x00\x00\x00"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        while (offset + len(body)) % 4:
            body += b"\x00"
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + bytes([2, 0x10, 0, 0])
        + b"mntr"
        + b"RGB "
        + b"XYZ "
        + b"\x00" * 12
        + b"acsp"
        + b"\x00" * 24
        + b"\x00" * 4
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + b"\x00" * 4
        + b"\x00" * 16
        + b"\x00" * 28
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def jpeg_with_swapped_profile() -> bytes:
    return encode(
        Image.new("RGB", (200, 100), (255, 0, 0)),
        "JPEG",
        quality=95,
        icc_profile=swapped_primaries_profile(),
    )


def mpo_phone_photo() -> bytes:
    """A multi-picture JPEG, as some phones write: the first frame is the photo."""
    return encode(
        halves(), "MPO", save_all=True, append_images=[Image.new("RGB", (400, 200), "green")]
    )


# --- the pipeline --------------------------------------------------------------------------

RENDITION_NAME = re.compile(r"^[0-9a-f]{64}-\d{2,4}\.(webp|jpg)$")


def renditions(media_root: Path, digest: str) -> list[Path]:
    return sorted((media_root / digest[:2]).glob(f"{digest}-*"))


def reopen(path: Path) -> Image.Image:
    image = Image.open(path)
    image.load()
    return image


def is_red(pixel) -> bool:
    return pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60


def is_blue(pixel) -> bool:
    return pixel[2] > 200 and pixel[0] < 60 and pixel[1] < 60


def test_orientation_applied_and_all_metadata_stripped(app, media_root, tmp_path):
    data = jpeg_with_orientation_and_gps(orientation=6)
    assert GPS_MARKER.encode() in data  # the test file really carries GPS
    photo = accept_photo(data)

    assert photo.digest == hashlib.sha256(data).hexdigest()
    assert (photo.width, photo.height, photo.format) == (200, 400, "JPEG")
    files = renditions(media_root, photo.digest)
    assert [f.name for f in files] == [f"{photo.digest}-200.jpg", f"{photo.digest}-200.webp"]
    for path in files:
        raw = path.read_bytes()
        image = reopen(path)
        assert image.size == (200, 400)  # turned upright: portrait
        assert is_red(image.getpixel((100, 10))) and is_blue(image.getpixel((100, 390)))
        assert len(image.getexif()) == 0
        assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)
        for secret in (GPS_MARKER.encode(), b"TestPhone", b"Exif"):
            assert secret not in raw


def test_original_kept_privately_outside_served_media(app, media_root, tmp_path, client):
    data = jpeg_with_orientation_and_gps()
    photo = accept_photo(data)
    assert photo.original_path == tmp_path / "originals" / photo.digest[:2] / f"{photo.digest}.jpg"
    assert photo.original_path.read_bytes() == data
    assert media_root not in photo.original_path.parents
    # neither the original's name nor a path out of the media folder is served
    for name in (
        f"{photo.digest[:2]}/{photo.digest}.jpg",
        f"../originals/{photo.digest[:2]}/{photo.digest}.jpg",
        "..%2f..%2foriginals",
        "../../etc/passwd",
    ):
        assert client.get(f"/media/{name}").status_code == 404


def test_renditions_of_a_large_photo_are_sized_and_content_addressed(app, media_root):
    data = encode(noise(2400, 1800), "JPEG", quality=90)
    photo = accept_photo(data)
    assert (photo.width, photo.height) == (2400, 1800)
    assert photo.widths == [320, 800, 1600]
    files = renditions(media_root, photo.digest)
    assert len(files) == 6
    for path in files:
        assert RENDITION_NAME.match(path.name)
        width = int(path.stem.rsplit("-", 1)[1])
        assert reopen(path).size == (width, round(1800 * width / 2400))
    again = accept_photo(data)  # idempotent: same bytes, same files, nothing rewritten
    assert again.digest == photo.digest and renditions(media_root, photo.digest) == files


def test_png_alpha_is_flattened_on_white(app, media_root):
    photo = accept_photo(png_with_alpha())
    for path in renditions(media_root, photo.digest):
        image = reopen(path)
        assert image.mode == "RGB"
        assert min(image.getpixel((10, 100))) > 240  # transparent -> white, not black
        green = image.getpixel((290, 100))
        assert green[1] > 100 and green[0] < 40


def test_webp_and_multi_picture_jpeg_are_accepted(app, media_root):
    assert accept_photo(webp_photo()).format == "WEBP"
    mpo = accept_photo(mpo_phone_photo())
    assert mpo.format == "JPEG"
    image = reopen(renditions(media_root, mpo.digest)[0])
    assert is_red(image.getpixel((10, 10)))  # the first frame, not the green second one


def test_cmyk_jpeg_becomes_rgb(app, media_root):
    photo = accept_photo(cmyk_jpeg())
    for path in renditions(media_root, photo.digest):
        image = reopen(path)
        assert image.mode == "RGB" and is_red(image.getpixel((100, 50)))


def test_icc_profile_is_converted_to_srgb(app, media_root):
    data = jpeg_with_swapped_profile()
    assert is_red(Image.open(BytesIO(data)).convert("RGB").getpixel((5, 5)))  # raw pixels
    photo = accept_photo(data)
    for path in renditions(media_root, photo.digest):
        image = reopen(path)
        assert "icc_profile" not in image.info
        assert is_blue(image.getpixel((100, 50)))  # what the profile says the colour is


@pytest.mark.parametrize(
    "polyglot", [jpeg_zip_polyglot, jpeg_html_polyglot], ids=["jpeg+zip", "jpeg+html"]
)
def test_polyglots_do_not_survive_re_encoding(app, media_root, polyglot):
    data = polyglot()
    assert HTML_PAYLOAD in data or zipfile.is_zipfile(BytesIO(data))
    photo = accept_photo(data)
    for path in renditions(media_root, photo.digest):
        raw = path.read_bytes()
        assert b"PK\x03\x04" not in raw and b"<script" not in raw and b"<html" not in raw
        assert not zipfile.is_zipfile(path)


REJECTED = {
    "animated GIF": (lambda: animated("GIF"), "not_a_photo"),
    "animated WebP": (lambda: animated("WEBP"), "animated"),
    "animated PNG": (lambda: animated("PNG"), "animated"),
    "truncated JPEG": (truncated_jpeg, "damaged"),
    "bomb 3.6 gigapixels": (lambda: png_header_only(60000, 60000), "too_many_pixels"),
    "bomb 100 megapixels": (lambda: png_header_only(10000, 10000), "too_many_pixels"),
    "45 megapixels": (lambda: png_header_only(7500, 6000), "too_many_pixels"),
    "SVG": (lambda: SVG, "svg"),
    "HTML": (lambda: HTML_PAYLOAD, "not_a_photo"),
    "empty": (lambda: b"", "empty"),
    "tiny": (lambda: encode(Image.new("RGB", (40, 300)), "PNG"), "too_small"),
    "PDF": (lambda: b"%PDF-1.4\n" + b"0" * 100, "not_a_photo"),
}


@pytest.mark.parametrize("name", REJECTED)
def test_bad_files_are_refused_with_a_message_in_each_language(app, media_root, tmp_path, name):
    make, code = REJECTED[name]
    data = make()
    with pytest.raises(PhotoRejected) as caught:
        accept_photo(data)
    assert caught.value.code == code
    with force_locale("en"):
        english = str(caught.value.user_message)
    with force_locale("zh"):
        chinese = str(caught.value.user_message)
    assert english and chinese != english and re.search(r"[\u4e00-\u9fff]", chinese)
    assert not (tmp_path / "originals").exists()  # nothing stored for a refused file
    assert not list(media_root.glob(f"*/{hashlib.sha256(data).hexdigest()}*"))


def test_oversized_upload_is_refused_before_decoding(app):
    with pytest.raises(PhotoRejected) as caught:
        read_upload(BytesIO(b"\xff\xd8\xff" + b"\x00" * MAX_UPLOAD_BYTES))
    assert caught.value.code == "too_large"
    with pytest.raises(PhotoRejected):
        accept_photo(b"\xff\xd8\xff" + b"\x00" * MAX_UPLOAD_BYTES)
    assert read_upload(BytesIO(b"abc")) == b"abc"


def test_served_rendition_has_nosniff_and_immutable_caching(app, client):
    photo = accept_photo(webp_photo())
    response = client.get(f"/media/{photo.digest[:2]}/{photo.digest}-320.webp")
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "image/webp"
    assert response.cache_control.immutable and response.cache_control.max_age == 31536000
    assert response.cache_control.public
    response.close()


# --- product photos ------------------------------------------------------------------------


def product(slug: str = "wenchang-chicken") -> Product:
    return db.session.scalar(select(Product).filter_by(slug=slug))


def test_first_real_photo_becomes_the_cover_in_place_of_the_illustration(app, client):
    chicken = product()
    assert chicken.cover_image is None
    assert "art-tile" in client.get("/products/wenchang-chicken").get_data(as_text=True)
    image = add_product_photo(
        chicken, jpeg_with_orientation_and_gps(), "  文昌鸡\n白切 ", "Wenchang chicken"
    )
    db.session.commit()
    assert (image.alt_zh, image.alt_en) == ("文昌鸡 白切", "Wenchang chicken")
    assert chicken.cover_image is image and image.is_cover
    assert (image.width, image.height) == (200, 400)
    page = client.get("/products/wenchang-chicken").get_data(as_text=True)
    assert image.rendition_name(200, "webp") in page and "文昌鸡 白切" in page
    assert "art-tile" not in page.split('class="product-head"', 1)[1].split("</header>", 1)[0]

    second = add_product_photo(chicken, webp_photo(), "第二张")
    assert not second.is_cover and second.sort_order == image.sort_order + 1
    # the same bytes again (a double submit) attach nothing new
    assert add_product_photo(chicken, webp_photo(), "第二张") is second
    assert len(chicken.images) == 2


@pytest.mark.parametrize(
    "alt_zh, alt_en, code",
    [
        ("", "Chicken", "alt_required"),
        ("  \n ", None, "alt_required"),
        ("鸡" * 301, None, "alt_too_long"),
        ("鸡", "x" * 301, "alt_too_long"),
    ],
)
def test_chinese_alt_text_is_required(app, media_root, alt_zh, alt_en, code):
    chicken = product()
    before = len(chicken.images)
    data = encode(noise(300, 200), "PNG")
    with pytest.raises(MediaError) as caught:
        add_product_photo(chicken, data, alt_zh, alt_en)
    assert caught.value.code == code
    assert len(chicken.images) == before
    assert not list(media_root.glob(f"*/{hashlib.sha256(data).hexdigest()}*"))


def test_reorder_choose_cover_and_remove(app):
    chicken = product()
    earliest = add_product_photo(chicken, encode(noise(300, 200), "PNG"), "零")
    first = add_product_photo(chicken, webp_photo(), "一")
    second = add_product_photo(chicken, png_with_alpha(), "二")
    add_product_photo(product("hele-crab"), encode(noise(200, 300), "PNG"), "蟹")
    db.session.commit()

    reorder_photos(chicken, [second.id, earliest.id, first.id])
    db.session.commit()
    assert [i.id for i in chicken.images] == [second.id, earliest.id, first.id]

    for stale in (
        [second.id, first.id],
        [second.id, earliest.id, first.id, 999999],
        [first.id] * 3,
    ):
        with pytest.raises(MediaError):
            reorder_photos(chicken, stale)

    set_cover_photo(chicken, second.id)
    db.session.commit()
    assert [i.is_cover for i in chicken.images] == [True, False, False]

    other = product("hele-crab").images[0]
    with pytest.raises(MediaError):
        set_cover_photo(chicken, other.id)
    assert other.is_cover  # untouched

    update_alt_text(first, "新描述", "New")
    remove_photo(chicken, second.id)
    db.session.commit()
    assert [i.id for i in chicken.images] == [earliest.id, first.id]
    assert chicken.cover_image is earliest and earliest.is_cover
    assert db.session.get(ProductImage, second.id) is None
    assert (first.alt_zh, first.alt_en) == ("新描述", "New")
