"""Expos: events with booths showing enterprises and products; visitors' saved lists."""

from datetime import date, datetime

from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Model, db
from app.models.enterprises import Enterprise
from app.models.listing import Bilingual, Slugged, link_table, utcnow
from app.models.products import Product

booth_enterprises = link_table(
    "booth_enterprises", booth_id="expo_booths.id", enterprise_id="enterprises.id"
)

booth_products = link_table("booth_products", booth_id="expo_booths.id", product_id="products.id")

# A visitor's list keeps the order they saved it in (floor order as ticked), hence `position`;
# rows are written by app/services/expos.create_saved_list, the relationship only reads.
saved_list_products = Table(
    "saved_list_products",
    db.metadata,
    Column(
        "list_code",
        ForeignKey("saved_lists.code", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, nullable=False, server_default="0"),
)


class ExpoEvent(Slugged, Bilingual, Model):
    __tablename__ = "expo_events"

    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(300))
    venue_zh: Mapped[str] = mapped_column(String(200), default="")
    venue_en: Mapped[str | None] = mapped_column(String(300))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    published: Mapped[bool] = mapped_column(default=True)
    # Fictitious events shipped with the seed (seed/demo.yaml), badged like demo enterprises.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    booths: Mapped[list["Booth"]] = relationship(
        back_populates="event",
        order_by="(Booth.sort_order, Booth.number)",
        cascade="all, delete-orphan",
    )

    def is_running(self, today: date) -> bool:
        return self.starts_on <= today <= self.ends_on


class Booth(Bilingual, Model):
    __tablename__ = "expo_booths"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("expo_events.id"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    hall_zh: Mapped[str] = mapped_column(String(100), default="")
    hall_en: Mapped[str | None] = mapped_column(String(150))
    # Walking order through the halls, for the floor-order list.
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    event: Mapped[ExpoEvent] = relationship(back_populates="booths")
    enterprises: Mapped[list[Enterprise]] = relationship(
        secondary=booth_enterprises, order_by=Enterprise.name_zh
    )
    products: Mapped[list[Product]] = relationship(
        secondary=booth_products, order_by=Product.name_zh
    )


class SavedList(Model):
    """A visitor's shortlist, shared by its code; no account and nothing personal."""

    __tablename__ = "saved_lists"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("expo_events.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    products: Mapped[list[Product]] = relationship(
        secondary=saved_list_products,
        order_by=saved_list_products.c.position,
        viewonly=True,
    )
    event: Mapped[ExpoEvent | None] = relationship()
