"""Image pipeline: re-encode any accepted image into content-addressed WebP and JPEG
renditions. The back office's upload form feeds this; the seed feeds generated images."""
import hashlib
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageOps

from app.models.media import RENDITION_WIDTHS

FORMATS = {"webp": {"format": "WEBP", "quality": 78, "method": 4}, "jpg": {"format": "JPEG", "quality": 82, "optimize": True, "progressive": True}}


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_renditions(image: Image.Image, digest: str, media_root: Path) -> list[int]:
    """Write each rendition width (never upscaled) in each format; returns the widths."""
    image = ImageOps.exif_transpose(image).convert("RGB")
    widths = sorted({min(w, image.width) for w in RENDITION_WIDTHS})
    folder = media_root / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    for width in widths:
        height = round(image.height * width / image.width)
        resized = image if width == image.width else image.resize((width, height), Image.LANCZOS)
        for ext, options in FORMATS.items():
            target = folder / f"{digest}-{width}.{ext}"
            if target.exists():
                continue
            buffer = BytesIO()
            resized.save(buffer, **options)
            tmp = target.with_suffix(target.suffix + ".tmp")
            tmp.write_bytes(buffer.getvalue())
            tmp.replace(target)  # atomic: a reader never sees half a file
    return widths
