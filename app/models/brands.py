"""Trademark brands built on GI products."""

import enum
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Model, db
from app.models.listing import Bilingual, Listing, str_enum

if TYPE_CHECKING:
    from app.models.enterprises import Enterprise
    from app.models.products import Product


class BrandKind(enum.StrEnum):
    REGIONAL_PUBLIC = "regional_public"
    ENTERPRISE = "enterprise"
    TIME_HONOURED = "time_honoured"
    WELL_KNOWN = "well_known"


brand_products = Table(
    "brand_products",
    db.metadata,
    Column("brand_id", ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
)


class Brand(Bilingual, Listing, Model):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(96), unique=True)
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
