"""Trademark brands built on GI products."""

import enum
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Model
from app.models.listing import Bilingual, Listing, Slugged, link_table, str_enum

if TYPE_CHECKING:
    from app.models.enterprises import Enterprise
    from app.models.products import Product


class BrandKind(enum.StrEnum):
    REGIONAL_PUBLIC = "regional_public"
    ENTERPRISE = "enterprise"
    TIME_HONOURED = "time_honoured"
    WELL_KNOWN = "well_known"


brand_products = link_table("brand_products", brand_id="brands.id", product_id="products.id")


class Brand(Slugged, Bilingual, Listing, Model):
    __tablename__ = "brands"

    name_zh: Mapped[str] = mapped_column(String(200), index=True)
    name_en: Mapped[str | None] = mapped_column(String(300))
    registration_number: Mapped[str | None] = mapped_column(String(64), index=True)
    nice_class: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[BrandKind] = mapped_column(str_enum(BrandKind, "brand_kind"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    holder_zh: Mapped[str | None] = mapped_column(String(200))
    holder_en: Mapped[str | None] = mapped_column(String(300))
    description_zh: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    owner: Mapped["Enterprise | None"] = relationship()
    products: Mapped[list["Product"]] = relationship(
        secondary=brand_products, order_by="Product.name_zh", back_populates="brands"
    )
