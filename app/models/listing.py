"""What every editable listing shares: publication status, optimistic-lock version,
timestamps and the users who created and last changed it; and bilingual text access."""

import enum
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum, ForeignKey, Integer
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def str_enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """Enum stored as its value in a VARCHAR with a CHECK constraint (portable, migratable)."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class PublicationStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Listing:
    """Mixin for catalogue listings. SQLAlchemy bumps `version` on every UPDATE and refuses
    an UPDATE whose version no longer matches (StaleDataError): optimistic locking."""

    status: Mapped[PublicationStatus] = mapped_column(
        str_enum(PublicationStatus, "publication_status"),
        default=PublicationStatus.DRAFT,
        index=True,
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    @declared_attr
    def created_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @declared_attr
    def updated_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.version}

    @property
    def is_published(self) -> bool:
        return self.status == PublicationStatus.PUBLISHED


class Bilingual:
    """Chinese is required and English optional: `text('name', 'en')` falls back to Chinese."""

    def text(self, field: str, lang: str) -> str:
        return self.localized(field, lang)[0]

    def localized(self, field: str, lang: str) -> tuple[str, bool]:
        """(text, is_fallback): is_fallback is True when Chinese stands in for missing English."""
        zh = getattr(self, f"{field}_zh") or ""
        if lang == "en":
            en = getattr(self, f"{field}_en") or ""
            if en.strip():
                return en, False
            return zh, bool(zh)
        return zh, False
