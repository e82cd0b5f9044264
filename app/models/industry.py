"""Industry facts: the economy around a product, per year, each with its source."""

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Model
from app.models.listing import Listing

if TYPE_CHECKING:
    from app.models.products import Product


class IndustryFact(Listing, Model):
    __tablename__ = "industry_facts"
    __table_args__ = (UniqueConstraint("product_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    planted_area_mu: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    herd_size: Mapped[int | None] = mapped_column(Integer)
    output_tonnes: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    output_value_cny_10k: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    employment: Mapped[int | None] = mapped_column(Integer)
    enterprises_count: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(String(500))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    product: Mapped["Product"] = relationship(back_populates="industry_facts")
