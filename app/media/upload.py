"""Accepting an uploaded photo: check it, decode it with Pillow under strict limits, then
re-encode it into content-addressed renditions and keep the original privately.

Nothing the user sent is ever served: the renditions are new files written from decoded
pixels (so no polyglot, script or metadata survives), named by the SHA-256 of the upload,
never by the user's file name. The original bytes are kept under ORIGINALS_ROOT
(default INSTANCE_DIR/originals), outside the served media directory.

    processed = accept_photo(data)                 # raises PhotoRejected
    processed.digest, processed.width, processed.height, processed.widths

Errors carry `user_message`, a lazy translation rendered in the user's language.
"""

import warnings
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from app import storage
from app.media.pipeline import content_hash, prepare, remove_files, rendition_widths, write_prepared
from app.models.media import RENDITION_WIDTHS
from app.refusals import Refusal

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_SIDE = 100  # smaller is no product photo (and rendition names need 2+ digit widths)
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
# Pillow reports a phone's multi-picture JPEG (primary photo + depth map or preview) as
# MPO; it is a JPEG whose first frame is the photo, so it is accepted as one.
_EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp"}
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF")


class MediaError(Refusal):
    """A refusal the user can act on; `user_message` is shown in their language."""


class PhotoRejected(MediaError):
    """The uploaded file is not a photo this site accepts."""


@dataclass(frozen=True)
class ProcessedPhoto:
    digest: str  # SHA-256 of the uploaded bytes: names every rendition and the original
    width: int  # after EXIF orientation
    height: int
    format: str  # JPEG, PNG or WEBP (as detected from the content)
    widths: list[int]  # rendition widths written, each as WebP and JPEG
    original_path: Path


def _rejections() -> dict:
    return {
        "empty": _l("No file was received. Please choose a photo to upload."),
        "too_large": _l(
            "The photo is larger than %(limit)s MB. Please upload a smaller file.",
            limit=MAX_UPLOAD_BYTES // (1024 * 1024),
        ),
        "svg": _l("SVG drawings are not accepted. Please upload a JPEG, PNG or WebP photo."),
        "not_a_photo": _l("This file is not a JPEG, PNG or WebP photo."),
        "too_many_pixels": _l(
            "The photo has more than %(limit)s megapixels. Please upload a smaller one.",
            limit=MAX_PIXELS // 1_000_000,
        ),
        "too_small": _l(
            "The photo is too small: it must be at least %(min)s pixels wide and high.",
            min=MIN_SIDE,
        ),
        "animated": _l(
            "Animated or multi-frame images are not accepted. Please upload a single photo."
        ),
        "damaged": _l("The photo is damaged or incomplete. Please upload it again."),
    }


def reject(code: str) -> PhotoRejected:
    return PhotoRejected(code, _rejections()[code])


def read_upload(stream, limit: int = MAX_UPLOAD_BYTES) -> bytes:
    """Read a file-like upload, refusing it as soon as it passes the limit."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise reject("too_large")
    return data


def accept_photo(
    data: bytes, media_root: Path | None = None, originals_root: Path | None = None
) -> ProcessedPhoto:
    """Validate, re-encode and store one uploaded photo. Idempotent: the same bytes give
    the same digest and the files already written are kept. Raises PhotoRejected, or
    storage.StorageUnavailable (a 503) when the disk cannot take the files, in which case
    none of the files this call created remain."""
    media_root = Path(media_root or current_app.config["MEDIA_ROOT"])
    originals_root = Path(originals_root or default_originals_root())
    image, fmt, (width, height) = open_photo(data)
    digest = content_hash(data)
    created: list[Path] = []
    widths = write_prepared(image, digest, media_root, created)
    try:
        original = store_original(data, digest, fmt, originals_root)
    except BaseException:
        remove_files(created)  # all or nothing: no renditions without their original
        raise
    return ProcessedPhoto(digest, width, height, fmt, widths, original)


def default_originals_root() -> Path:
    config = current_app.config
    return Path(config.get("ORIGINALS_ROOT") or Path(config["INSTANCE_DIR"]) / "originals")


def open_photo(data: bytes) -> tuple[Image.Image, str, tuple[int, int]]:
    """Decode under limits. Returns upright sRGB pixels without metadata (reduced while
    decoding when much larger than the largest rendition), the format detected from the
    content, and the full size of the upright original."""
    if not data:
        raise reject("empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise reject("too_large")
    if _looks_like_svg(data):
        raise reject("svg")
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # a global some library may flip: never here
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False")
    with warnings.catch_warnings():
        # Pillow warns (and over twice its limit raises) on decompression bombs.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(BytesIO(data), formats=ACCEPTED_FORMATS)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise reject("too_many_pixels") from None
        except UnidentifiedImageError:
            raise reject("damaged" if data.startswith(_SIGNATURES) else "not_a_photo") from None
        except (OSError, SyntaxError, ValueError):
            raise reject("damaged") from None
        if image.width * image.height > MAX_PIXELS:
            raise reject("too_many_pixels")
        if min(image.size) < MIN_SIDE:
            raise reject("too_small")
        if image.format != "MPO" and getattr(image, "n_frames", 1) > 1:
            raise reject("animated")
        if image.format is None:  # Image.open names what it read; only new images have none
            raise reject("not_a_photo")
        fmt = "JPEG" if image.format == "MPO" else image.format
        try:
            oriented_size = _oriented_size(image)
            _reduce_while_decoding(image, oriented_size)
            image.load()
            prepared = prepare(image)
        except (OSError, SyntaxError, ValueError, EOFError):
            raise reject("damaged") from None
    return prepared, fmt, oriented_size


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def _oriented_size(image: Image.Image) -> tuple[int, int]:
    orientation = image.getexif().get(ImageOps.ExifTags.Base.Orientation, 1)
    if orientation in (5, 6, 7, 8):  # quarter turns: width and height swap
        return image.height, image.width
    return image.width, image.height


def _reduce_while_decoding(image: Image.Image, oriented_size: tuple[int, int]) -> None:
    """JPEG can decode at 1/2, 1/4 or 1/8 scale: ask for the smallest scale that still
    covers the largest rendition. A 12-megapixel photo then decodes at a quarter of the
    pixels, which is most of the time and memory saved."""
    if image.format not in ("JPEG", "MPO"):
        return
    width, height = oriented_size
    target_w = min(max(RENDITION_WIDTHS), width)
    target_h = max(1, round(height * target_w / width))
    if (width, height) != (image.width, image.height):  # stored sideways
        target_w, target_h = target_h, target_w
    image.draft(None, (target_w, target_h))


def store_original(data: bytes, digest: str, fmt: str, originals_root: Path) -> Path:
    """Keep the uploaded bytes (metadata included: GPS stays private) for re-processing."""
    folder = originals_root / digest[:2]  # created by storage.write_bytes
    target = folder / f"{digest}.{_EXTENSIONS[fmt]}"
    if not target.exists():
        storage.write_bytes(target, data, mode=0o600)
    return target


def original_path(digest: str, originals_root: Path | None = None) -> Path | None:
    """Where the original of a rendition set is kept, if it is."""
    root = Path(originals_root or default_originals_root())
    for ext in ("jpg", "png", "webp"):
        candidate = root / digest[:2] / f"{digest}.{ext}"
        if candidate.exists():
            return candidate
    return None


__all__ = [
    "MAX_PIXELS",
    "MAX_UPLOAD_BYTES",
    "MediaError",
    "PhotoRejected",
    "ProcessedPhoto",
    "accept_photo",
    "open_photo",
    "original_path",
    "read_upload",
    "rendition_widths",
]
