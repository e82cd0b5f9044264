"""Trademark brands built on GI products."""
import enum

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import db
from app.models.listing import Bilingual, Listing, str_enum


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


class Brand(Bilingual, Listing, db.Model):
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

    owner: Mapped["Enterprise | None"] = relationship()  # noqa: F821
    products: Mapped[list["Product"]] = relationship(  # noqa: F821
        secondary=brand_products, order_by="Product.name_zh", backref="brands"
    )
