"""Consumers' reports of suspected counterfeits or misuse: a back-office queue, never public."""

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Model
from app.models.listing import str_enum, utcnow
from app.models.places import County
from app.models.products import Product


class ReportStatus(enum.StrEnum):
    NEW = "new"
    INVESTIGATING = "investigating"
    CLOSED = "closed"


class CounterfeitReport(Model):
    __tablename__ = "counterfeit_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    # Two counties' officials handle it (issue 11): the county where the fake was bought or
    # seen (the reporter's choice; rows older than migration 0011 may hold the product's
    # county here instead) and the GI's home county (the product's first county).
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), index=True)
    home_county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), index=True)
    where_bought: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    # Re-encoded photo stored outside the public media folder (see services/reports).
    photo_name: Mapped[str | None] = mapped_column(String(80))
    report_status: Mapped[ReportStatus] = mapped_column(
        str_enum(ReportStatus, "report_status"), default=ReportStatus.NEW, index=True
    )
    official_note: Mapped[str | None] = mapped_column(Text)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    product: Mapped[Product | None] = relationship()
    county: Mapped[County | None] = relationship(foreign_keys=[county_id])
    home_county: Mapped[County | None] = relationship(foreign_keys=[home_county_id])
