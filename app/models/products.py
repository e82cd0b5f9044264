"""Categories and products: the thing itself, what makes it special, where and when."""

from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Model
from app.models.listing import Bilingual, Listing, Slugged, link_table
from app.models.places import County

if TYPE_CHECKING:
    from app.models.brands import Brand
    from app.models.industry import IndustryFact
    from app.models.media import ProductImage
    from app.models.signs import GISign

# The "How to recognise the genuine product" cues, in the order pages show them.
GENUINE_CUES = ("cue_packaging", "cue_mark", "cue_number")

product_counties = link_table("product_counties", product_id="products.id", county_id="counties.id")


def months_to_mask(months: list[int]) -> int:
    mask = 0
    for month in months:
        if not 1 <= int(month) <= 12:
            raise ValueError(f"month out of range: {month}")
        mask |= 1 << (int(month) - 1)
    return mask


class Category(Bilingual, Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str | None] = mapped_column(String(128))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    # Key in app/media/illustrations.py: the drawing its products show until a photo exists.
    illustration: Mapped[str | None] = mapped_column(String(32))


class Product(Slugged, Bilingual, Listing, Model):
    __tablename__ = "products"

    name_zh: Mapped[str] = mapped_column(String(128), index=True)
    name_en: Mapped[str | None] = mapped_column(String(200))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    province_wide: Mapped[bool] = mapped_column(Boolean, default=False)
    summary_zh: Mapped[str] = mapped_column(String(300), default="")
    summary_en: Mapped[str | None] = mapped_column(String(500))
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str | None] = mapped_column(Text)
    characteristics_zh: Mapped[str] = mapped_column(Text, default="")
    characteristics_en: Mapped[str | None] = mapped_column(Text)
    # Production season as a 12-bit month mask (bit 0 = January): one integer test per row.
    season_mask: Mapped[int] = mapped_column(Integer, default=0)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    # Key in app/media/illustrations.py; empty means "the category's drawing".
    illustration: Mapped[str | None] = mapped_column(String(32))
    # "How to recognise the genuine product" (issue 11): cues an official writes, each
    # optional; a product without any shows no such section. cues_demo marks text written
    # for the demonstration (seed/demo.yaml), shown with the demo badge.
    cue_packaging_zh: Mapped[str | None] = mapped_column(Text)
    cue_packaging_en: Mapped[str | None] = mapped_column(Text)
    cue_mark_zh: Mapped[str | None] = mapped_column(Text)
    cue_mark_en: Mapped[str | None] = mapped_column(Text)
    cue_number_zh: Mapped[str | None] = mapped_column(Text)
    cue_number_en: Mapped[str | None] = mapped_column(Text)
    cues_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    category: Mapped[Category] = relationship()
    counties: Mapped[list[County]] = relationship(
        secondary=product_counties, order_by=County.sort_order
    )
    signs: Mapped[list["GISign"]] = relationship(
        back_populates="product", order_by="GISign.id", cascade="all, delete-orphan"
    )
    images: Mapped[list["ProductImage"]] = relationship(
        back_populates="product",
        order_by="(ProductImage.sort_order, ProductImage.id)",
        cascade="all, delete-orphan",
    )
    industry_facts: Mapped[list["IndustryFact"]] = relationship(
        back_populates="product", order_by="IndustryFact.year", cascade="all, delete-orphan"
    )
    brands: Mapped[list["Brand"]] = relationship(
        secondary="brand_products", back_populates="products"
    )

    @property
    def season_months(self) -> list[int]:
        return [m for m in range(1, 13) if self.season_mask & (1 << (m - 1))]

    @season_months.setter
    def season_months(self, months: list[int]) -> None:
        self.season_mask = months_to_mask(months)

    def in_season(self, month: int) -> bool:
        return bool(self.season_mask & (1 << (month - 1)))

    @property
    def cover_image(self):
        for image in self.images:
            if image.is_cover:
                return image
        return self.images[0] if self.images else None

    @property
    def genuine_cues(self) -> list[str]:
        """The cue fields (without _zh/_en) this product has text for, in reading order:
        packaging, the official GI mark, where the authorization number is. Chinese is the
        required language, so a cue counts once its Chinese text is given."""
        return [cue for cue in GENUINE_CUES if (getattr(self, f"{cue}_zh") or "").strip()]

    @property
    def illustration_key(self) -> str | None:
        return self.illustration or self.category.illustration

    def __repr__(self) -> str:
        return f"<Product {self.slug}>"
