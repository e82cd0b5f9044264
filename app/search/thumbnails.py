"""The picture beside each search result: its product's cover photo (the smallest
rendition) or, until an official uploads one, its illustration (app/media/illustrations.py).
A sign, brand or enterprise shows the picture of its product; a county shows none (a tile
with its name's first character).

Pictures are catalogue data, read for every product at once (four statements) and kept
for a catalogue generation (every flush touching a listing, a category or a product image
bumps it): none per search."""

from dataclasses import dataclass

from flask import url_for
from sqlalchemy import select

from app.db import db
from app.media.illustrations import illustration_for
from app.models import (
    Authorization,
    Category,
    GISign,
    Product,
    ProductImage,
    PublicationStatus,
    brand_products,
)
from app.search.documents import DocKey

PUBLISHED = PublicationStatus.PUBLISHED
# Shown at 4.5rem (72 CSS px): the 320 px rendition is sharp up to 4x screens.
THUMBNAIL_PX = 72


@dataclass(frozen=True)
class Thumbnail:
    """src: a URL (a media rendition or a static drawing); alt_zh/alt_en: the photo's own
    description, or the drawing's subject (the template says "Illustration: ..."); tile:
    the category slug that colours an illustration's tile (static/css/site.css .art-*)."""

    src: str
    photo: bool
    alt_zh: str
    alt_en: str
    tile: str

    def alt(self, lang: str) -> str:
        return self.alt_en if lang == "en" and self.alt_en else self.alt_zh


@dataclass(frozen=True)
class PictureTable:
    """product id -> Thumbnail; brand and enterprise id -> the product whose picture they
    show (a brand: its first published product by Chinese name, as its page lists them;
    an enterprise: the product of its first published authorisation)."""

    products: dict[int, Thumbnail]
    brand_products: dict[int, int]
    enterprise_products: dict[int, int]

    def for_key(self, key: DocKey, obj: object) -> Thumbnail | None:
        """The picture of a hit's row (`obj`: the row loaded for `key`); None for a county
        or a listing without a published product."""
        if key.kind == "product":
            product_id: int | None = key.obj_id
        elif key.kind == "sign":
            product_id = getattr(obj, "product_id", None)
        elif key.kind == "brand":
            product_id = self.brand_products.get(key.obj_id)
        elif key.kind == "enterprise":
            product_id = self.enterprise_products.get(key.obj_id)
        else:
            return None
        return self.products.get(product_id) if product_id is not None else None


def read_picture_table() -> PictureTable:
    """Every product's picture, and which product each brand and enterprise shows; the
    caller keeps it for a catalogue generation (app/search/views.py page_catalogue)."""
    return PictureTable(_product_thumbnails(), _brand_products(), _enterprise_products())


def _product_thumbnails() -> dict[int, Thumbnail]:
    covers = _cover_images()
    rows = db.session.execute(
        select(Product.id, Product.illustration, Category.illustration, Category.slug).join(
            Category, Category.id == Product.category_id
        )
    )
    found: dict[int, Thumbnail] = {}
    for product_id, own, of_category, category_slug in rows:
        cover = covers.get(product_id)
        if cover is not None:
            found[product_id] = cover
            continue
        art = illustration_for(own or of_category)
        if art is not None:
            found[product_id] = Thumbnail(
                url_for("static", filename=art.static_path),
                False,
                art.label_zh,
                art.label_en,
                category_slug,
            )
    return found


def _cover_images() -> dict[int, Thumbnail]:
    """product id -> its cover photo as Product.cover_image chooses it (the image marked
    as cover, else the first in order)."""
    images = db.session.scalars(
        select(ProductImage).order_by(
            ProductImage.product_id,
            ProductImage.is_cover.desc(),
            ProductImage.sort_order,
            ProductImage.id,
        )
    )
    found: dict[int, Thumbnail] = {}
    for image in images:
        if image.product_id in found:
            continue
        width = image.widths[0]
        found[image.product_id] = Thumbnail(
            url_for("media.rendition", name=image.rendition_name(width, "jpg")),
            True,
            image.alt_zh,
            image.alt_en or "",
            "",
        )
    return found


def _brand_products() -> dict[int, int]:
    rows = db.session.execute(
        select(brand_products.c.brand_id, Product.id)
        .join(Product, Product.id == brand_products.c.product_id)
        .where(Product.status == PUBLISHED)
        .order_by(brand_products.c.brand_id, Product.name_zh, Product.id)
    )
    found: dict[int, int] = {}
    for brand_id, product_id in rows:
        found.setdefault(brand_id, product_id)
    return found


def _enterprise_products() -> dict[int, int]:
    rows = db.session.execute(
        select(Authorization.enterprise_id, GISign.product_id)
        .join(GISign, GISign.id == Authorization.sign_id)
        .join(Product, Product.id == GISign.product_id)
        .where(
            Authorization.status == PUBLISHED,
            GISign.status == PUBLISHED,
            Product.status == PUBLISHED,
        )
        .order_by(Authorization.enterprise_id, Authorization.id)
    )
    found: dict[int, int] = {}
    for enterprise_id, product_id in rows:
        found.setdefault(enterprise_id, product_id)
    return found
