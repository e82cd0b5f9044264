"""Permanent short codes behind every printed QR code, and anonymous scan counts."""

import enum
from datetime import date, datetime

from sqlalchemy import Date, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Model
from app.models.listing import str_enum, utcnow


class CodeTarget(enum.StrEnum):
    PRODUCT = "product"
    BRAND = "brand"
    ENTERPRISE = "enterprise"
    AUTHORIZATION = "authorization"
    BOOTH = "booth"


class ShortCode(Model):
    """A code is printed on packaging and posters, so it is never deleted, never reassigned
    and independent of names and slugs: the row outlives even its target."""

    __tablename__ = "short_codes"
    __table_args__ = (UniqueConstraint("target_type", "target_id"),)

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    target_type: Mapped[CodeTarget] = mapped_column(str_enum(CodeTarget, "code_target"))
    target_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ScanKind(enum.StrEnum):
    SCAN = "scan"  # a person opening the page
    HEAD = "head"  # HEAD requests (link checkers)
    PREVIEW = "preview"  # chat apps fetching a link preview
    BOT = "bot"  # crawlers and scripts


class ScanCount(Model):
    """How often a code was opened, per local day, per expo event (0 = none) and kind.
    Only counters: no IP address, cookie or user agent is ever stored."""

    __tablename__ = "scan_counts"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, default=0)
    kind: Mapped[ScanKind] = mapped_column(str_enum(ScanKind, "scan_kind"), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
