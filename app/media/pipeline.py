"""Image pipeline: re-encode any accepted image into content-addressed WebP and JPEG
renditions. The back office's upload (app/media/upload.py) and the seed feed this."""

import hashlib
from io import BytesIO
from pathlib import Path
from typing import Any

from PIL import Image, ImageCms, ImageOps

from app import storage
from app.models.media import RENDITION_WIDTHS

# File extension -> Pillow's save() options.
FORMATS: dict[str, dict[str, Any]] = {
    "webp": {"format": "WEBP", "quality": 78, "method": 4},
    "jpg": {"format": "JPEG", "quality": 82, "optimize": True, "progressive": True},
}
# WebP's slower methods search harder: worth it for the phone-sized renditions; for the
# large one, method 2 halves the encode (the biggest cost of an upload) for ~4% more bytes.
LARGE_WEBP: dict[str, Any] = {"format": "WEBP", "quality": 78, "method": 2}
LARGE_WIDTH = 1200
BACKGROUND = (255, 255, 255)  # transparent areas become white: JPEG has no alpha
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rendition_widths(width: int) -> list[int]:
    """Same rule as ProductImage.widths: the standard widths, never upscaled."""
    return sorted({min(w, width) for w in RENDITION_WIDTHS})


def to_srgb(image: Image.Image) -> Image.Image:
    """Plain sRGB pixels and nothing else: colour-managed through an embedded ICC profile
    when there is one, alpha flattened onto white, every metadata block dropped."""
    icc = image.info.get("icc_profile")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, BACKGROUND)
        image.paste(rgba, mask=rgba.getchannel("A"))
    if icc:
        image = _convert_with_profile(image, icc)
    if image.mode != "RGB":
        image = image.convert("RGB")
    image.info = {}
    return image


# Pillow mode -> the ICC colour space a profile must describe to apply to it.
_PROFILE_SPACES = {"RGB": "RGB", "CMYK": "CMYK", "L": "GRAY"}


def _convert_with_profile(image: Image.Image, icc: bytes) -> Image.Image:
    try:
        source = ImageCms.ImageCmsProfile(BytesIO(icc))
        if source.profile.xcolor_space.strip() != _PROFILE_SPACES.get(image.mode):
            return image.convert("RGB")  # a profile for other pixels than these: ignore it
        # Pillow types the result as optional: it is None only when converting in place.
        return ImageCms.profileToProfile(  # type: ignore[return-value]  # see above
            image, source, _SRGB, outputMode="RGB"
        )
    except (OSError, ImageCms.PyCMSError):
        # A broken profile: fall back to the plain conversion, never refuse the photo.
        return image.convert("RGB")


def prepare(image: Image.Image) -> Image.Image:
    """Upright sRGB pixels without metadata: what every rendition is encoded from."""
    return to_srgb(ImageOps.exif_transpose(image))


def write_renditions(image: Image.Image, digest: str, media_root: Path) -> list[int]:
    """Write each rendition width (never upscaled) in each format; returns the widths."""
    return write_prepared(prepare(image), digest, media_root)


def write_prepared(
    image: Image.Image, digest: str, media_root: Path, created: list[Path] | None = None
) -> list[int]:
    """Write the renditions of prepared pixels; each file this call creates is appended to
    `created`. Raises storage.StorageUnavailable when a file cannot be written (disk full,
    I/O error, read-only): the files this call created are removed again, and no
    temporary file remains."""
    created = [] if created is None else created
    mark = len(created)
    try:
        return _write_renditions(image, digest, media_root, created)
    except BaseException:
        remove_files(created[mark:])
        del created[mark:]
        raise


def remove_files(paths: list[Path]) -> None:
    """Best effort: a file that cannot be removed now is complete, content-addressed and
    harmless (a later upload of the same photo reuses it)."""
    for path in paths:
        path.unlink(missing_ok=True)


def _write_renditions(
    image: Image.Image, digest: str, media_root: Path, created: list[Path]
) -> list[int]:
    widths = rendition_widths(image.width)
    folder = media_root / digest[:2]  # created by storage.write_bytes
    # Largest first, each from the previous: a 12-megapixel source is resampled once.
    source = image
    for width in reversed(widths):
        height = max(1, round(image.height * width / image.width))
        if width != source.width:
            source = source.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        for ext, options in FORMATS.items():
            if ext == "webp" and width >= LARGE_WIDTH:
                options = LARGE_WEBP
            target = folder / f"{digest}-{width}.{ext}"
            if target.exists():
                continue
            buffer = BytesIO()
            source.save(buffer, **options)
            storage.write_bytes(target, buffer.getvalue())  # a reader never sees half a file
            created.append(target)
    return widths
