"""Product photos as catalogue records: attach an uploaded photo with its bilingual alt
text, edit the alt text, reorder, choose the cover, remove.

Plain functions for the back office: no request, they add/flush and the caller commits.
Who may touch which product is the caller's object-level check; these functions only
guard the photo's own rules. Errors are MediaError with a translated `user_message`.
"""

from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.db import db
from app.media.upload import MediaError, accept_photo
from app.models import Product, ProductImage
from app.models.media import ALT_MAX_LENGTH


def add_product_photo(
    product: Product,
    data: bytes,
    alt_zh: str,
    alt_en: str | None = None,
    *,
    media_root: Path | None = None,
    originals_root: Path | None = None,
) -> ProductImage:
    """Process an upload (raises PhotoRejected) and attach it after the product's other
    photos. The first real photo becomes the cover, also in place of a generated
    illustration. The same photo uploaded twice to a product is attached once."""
    alt_zh, alt_en = clean_alt_text(alt_zh, alt_en)
    processed = accept_photo(data, media_root, originals_root)
    existing = db.session.scalar(
        select(ProductImage).filter_by(product_id=product.id, content_hash=processed.digest)
    )
    if existing is not None:
        return existing
    last = db.session.scalar(
        select(func.max(ProductImage.sort_order)).filter_by(product_id=product.id)
    )
    cover = product.cover_image
    image = ProductImage(
        product=product,
        content_hash=processed.digest,
        width=processed.width,
        height=processed.height,
        alt_zh=alt_zh,
        alt_en=alt_en,
        sort_order=(last if last is not None else -1) + 1,
        is_cover=cover is None or cover.generated,
        generated=False,
    )
    db.session.add(image)
    if image.is_cover:
        _only_cover(product, image)
    db.session.flush()
    return image


def update_alt_text(image: ProductImage, alt_zh: str, alt_en: str | None) -> ProductImage:
    alt_zh, alt_en = clean_alt_text(alt_zh, alt_en)
    if image.alt_zh != alt_zh:
        image.alt_zh = alt_zh
    if image.alt_en != alt_en:
        image.alt_en = alt_en
    db.session.flush()
    return image


def reorder_photos(product: Product, image_ids: list[int]) -> None:
    """Put the product's photos in the given order; the ids must be exactly its photos
    (a stale form listing a removed photo, or another product's photo, is refused)."""
    images = {image.id: image for image in product.images}
    if sorted(image_ids) != sorted(images):
        raise MediaError(
            "order_mismatch",
            _l("The photo list has changed since the page was loaded. Please reload it."),
        )
    for position, image_id in enumerate(image_ids):
        if images[image_id].sort_order != position:
            images[image_id].sort_order = position
    db.session.flush()
    db.session.expire(product, ["images"])  # reload in the new order


def set_cover_photo(product: Product, image_id: int) -> ProductImage:
    image = _photo_of(product, image_id)
    _only_cover(product, image)
    db.session.flush()
    return image


def remove_photo(product: Product, image_id: int) -> None:
    """Detach a photo; if it was the cover, the next photo in order becomes the cover.
    Files stay: they are content-addressed and may be shared or cached by browsers."""
    image = _photo_of(product, image_id)
    was_cover = image.is_cover
    product.images.remove(image)
    db.session.delete(image)
    if was_cover and product.images:
        _only_cover(product, product.images[0])
    db.session.flush()


def clean_alt_text(alt_zh: str | None, alt_en: str | None) -> tuple[str, str | None]:
    alt_zh, alt_en = _one_line(alt_zh), _one_line(alt_en) or None
    if not alt_zh:
        raise MediaError(
            "alt_required",
            _l("Describe the photo in Chinese: alt text is required for people who cannot see it."),
        )
    if len(alt_zh) > ALT_MAX_LENGTH or len(alt_en or "") > ALT_MAX_LENGTH:
        raise MediaError(
            "alt_too_long",
            _l(
                "The photo description is too long (at most %(max)s characters).",
                max=ALT_MAX_LENGTH,
            ),
        )
    return alt_zh, alt_en


def _one_line(text: str | None) -> str:
    """Collapse whitespace and drop control characters (NUL is refused by PostgreSQL)."""
    return " ".join("".join(c for c in (text or "") if c.isprintable() or c.isspace()).split())


def _photo_of(product: Product, image_id: int) -> ProductImage:
    for image in product.images:
        if image.id == image_id:
            return image
    raise MediaError("not_this_product", _l("This photo does not belong to this product."))


def _only_cover(product: Product, cover: ProductImage) -> None:
    for image in product.images:
        if image is not cover and image.is_cover:
            image.is_cover = False
    if not cover.is_cover:
        cover.is_cover = True
