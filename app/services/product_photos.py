"""Product photos in the back office: who may change them, and an audit entry for every
change. The photo rules themselves (formats, limits, cover, order) are app.media.photos.

Photos are rows of their own, not fields of the listing, so the revision workflow (which
keeps a published listing's next version as JSON until a reviewer publishes it) cannot
hold them back. Rather than let an editor change a public page unreviewed, photos of a
published product are changed by reviewers and administrators only; editors add photos
while the product is a draft or submitted, and the reviewer sees them before publishing.

Plain functions: no request; they flush, the caller commits."""

from flask_babel import lazy_gettext as _l

from app.media import photos
from app.media.upload import MediaError
from app.models import Product, ProductImage
from app.models.users import User
from app.services import access, audit
from app.services.listings import KINDS

PRODUCTS = KINDS["products"]


def can_change(user: User, product: Product) -> bool:
    if not access.can_edit(user, PRODUCTS, product):
        return False
    return user.can_review or not product.is_published


def ensure_can_change(user: User, product: Product) -> None:
    access.ensure_can_edit(user, PRODUCTS, product)
    if product.is_published and not user.can_review:
        raise access.AccessDenied(
            _l(
                "This product is published: its photos are changed by a reviewer. "
                "Ask the provincial office to add or change them."
            )
        )


def photo_of(product: Product, image_id: int) -> ProductImage | None:
    return next((image for image in product.images if image.id == image_id), None)


def _record(action: str, actor: User, product: Product, image: ProductImage, **details) -> None:
    audit.record_listing(
        action,
        actor,
        PRODUCTS,
        product,
        {"photo": image.id, "content_hash": image.content_hash, **details},
    )


def add(
    actor: User, product: Product, data: bytes, alt_zh: str, alt_en: str | None
) -> ProductImage:
    """Process and attach an upload; raises PhotoRejected / MediaError (nothing written)."""
    ensure_can_change(actor, product)
    known = {image.id for image in product.images}
    image = photos.add_product_photo(product, data, alt_zh, alt_en)
    if image.id not in known:  # the same photo uploaded again is attached once, logged once
        _record(
            "photo_add",
            actor,
            product,
            image,
            alt_zh=image.alt_zh,
            alt_en=image.alt_en,
            size=[image.width, image.height],
            cover=image.is_cover,
        )
    return image


def change_alt_text(
    actor: User, product: Product, image: ProductImage, alt_zh: str, alt_en: str | None
) -> None:
    ensure_can_change(actor, product)
    before = {"alt_zh": image.alt_zh, "alt_en": image.alt_en}
    photos.update_alt_text(image, alt_zh, alt_en)
    after = {"alt_zh": image.alt_zh, "alt_en": image.alt_en}
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        _record("photo_alt", actor, product, image, **changes)


def move(actor: User, product: Product, image: ProductImage, step: int) -> None:
    """Move a photo one place earlier (step -1) or later (+1); at an end nothing moves."""
    ensure_can_change(actor, product)
    order = [i.id for i in product.images]
    here = order.index(image.id)
    there = here + step
    if step not in (-1, 1) or not 0 <= there < len(order):
        return
    order[here], order[there] = order[there], order[here]
    photos.reorder_photos(product, order)
    _record("photo_order", actor, product, image, order=order)


def make_cover(actor: User, product: Product, image: ProductImage) -> None:
    ensure_can_change(actor, product)
    if image.is_cover:
        return
    before = product.cover_image
    photos.set_cover_photo(product, image.id)
    _record("photo_cover", actor, product, image, previous=before.id if before else None)


def remove(actor: User, product: Product, image: ProductImage) -> None:
    ensure_can_change(actor, product)
    # Read before the row goes: the entry must name what was removed.
    details = {
        "photo": image.id,
        "content_hash": image.content_hash,
        "alt_zh": image.alt_zh,
        "was_cover": image.is_cover,
    }
    photos.remove_photo(product, image.id)
    audit.record_listing("photo_remove", actor, PRODUCTS, product, details)


__all__ = [
    "MediaError",
    "add",
    "can_change",
    "change_alt_text",
    "ensure_can_change",
    "make_cover",
    "move",
    "photo_of",
    "remove",
]
