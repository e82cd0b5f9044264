"""GI signs: the registrations (protected GI product, GI trademark, agricultural GI)."""

import enum
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, composite, mapped_column, relationship

from app.db import Model
from app.models.listing import Bilingual, Listing, link_table, str_enum
from app.models.partial_date import PartialDate
from app.models.places import County

if TYPE_CHECKING:
    from app.models.products import Product


class Regime(enum.StrEnum):
    CNIPA_GI_PRODUCT = "cnipa_gi_product"  # 地理标志保护产品
    GI_TRADEMARK = "gi_trademark"  # 地理标志证明商标 / 集体商标
    AGRI_GI = "agri_gi"  # 农产品地理标志


class SignStatus(enum.StrEnum):
    VALID = "valid"
    CHANGED = "changed"
    REVOKED = "revoked"


sign_counties = link_table("sign_counties", sign_id="gi_signs.id", county_id="counties.id")


class GISign(Bilingual, Listing, Model):
    __tablename__ = "gi_signs"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    regime: Mapped[Regime] = mapped_column(str_enum(Regime, "regime"), index=True)
    official_name_zh: Mapped[str] = mapped_column(String(128))
    official_name_en: Mapped[str | None] = mapped_column(String(200))
    # Announcement or registration number; null when none has been found (never invented).
    number: Mapped[str | None] = mapped_column(String(128), index=True)
    approval_year: Mapped[int | None] = mapped_column(Integer, index=True)
    approval_month: Mapped[int | None] = mapped_column(Integer)
    approval_day: Mapped[int | None] = mapped_column(Integer)
    approval_date = composite(PartialDate, approval_year, approval_month, approval_day)
    # Officials only: how the date was (or was not) established. Never rendered publicly:
    # the public pages say "not yet verified" where the date is missing (issue 11).
    approval_note: Mapped[str | None] = mapped_column(String(200))
    issuing_body_zh: Mapped[str | None] = mapped_column(String(200))
    issuing_body_en: Mapped[str | None] = mapped_column(String(200))
    holder_zh: Mapped[str | None] = mapped_column(String(200))
    holder_en: Mapped[str | None] = mapped_column(String(200))
    protected_area_zh: Mapped[str | None] = mapped_column(Text)
    protected_area_en: Mapped[str | None] = mapped_column(Text)
    standard: Mapped[str | None] = mapped_column(String(200))
    nice_classes: Mapped[str | None] = mapped_column(String(64))
    sign_status: Mapped[SignStatus] = mapped_column(
        str_enum(SignStatus, "sign_status"), default=SignStatus.VALID
    )
    # Officials only: the research trail (every source consulted, free text).
    source: Mapped[str | None] = mapped_column(Text)
    # The one public source: the announcement or official list the register links to.
    source_url: Mapped[str | None] = mapped_column(String(500))
    # Officials only: research notes.
    notes: Mapped[str | None] = mapped_column(Text)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)

    product: Mapped["Product"] = relationship(back_populates="signs")
    protected_counties: Mapped[list[County]] = relationship(
        secondary=sign_counties, order_by=County.sort_order
    )
    protections_abroad: Mapped[list["ProtectionAbroad"]] = relationship(
        back_populates="sign",
        cascade="all, delete-orphan",
        order_by="ProtectionAbroad.jurisdiction, ProtectionAbroad.id",
    )

    def __repr__(self) -> str:
        return f"<GISign {self.regime} {self.official_name_zh}>"


class ProtectionAbroad(Bilingual, Model):
    """Where else a sign is protected, as one public source states it (issue 13): never
    recorded without `source_url`. A child of its sign: edited, published and removed
    with it."""

    __tablename__ = "protections_abroad"

    id: Mapped[int] = mapped_column(primary_key=True)
    sign_id: Mapped[int] = mapped_column(ForeignKey("gi_signs.id", ondelete="CASCADE"), index=True)
    # "EU" or an ISO 3166-1 alpha-2 code; app/labels.JURISDICTION_LABELS names it.
    jurisdiction: Mapped[str] = mapped_column(String(8), index=True)
    # The legal basis as the source words it, e.g. the agreement and which of its lists.
    basis_zh: Mapped[str] = mapped_column(String(300))
    basis_en: Mapped[str | None] = mapped_column(String(300))
    # Since when protection applies; empty when the source gives no date (never guessed).
    protected_from: Mapped[date | None] = mapped_column(Date)
    source_url: Mapped[str] = mapped_column(String(500))

    sign: Mapped[GISign] = relationship(back_populates="protections_abroad")

    def __repr__(self) -> str:
        return f"<ProtectionAbroad {self.jurisdiction} sign={self.sign_id}>"
