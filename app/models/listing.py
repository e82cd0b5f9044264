"""What models share, declared once: every editable listing's publication status,
optimistic-lock version, timestamps and the users who created and last changed it;
bilingual text access; the id and address name (slug) of a page-owning row; and the shape
of a many-to-many link table."""

import enum
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Enum, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.db import db


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


class Slugged:
    """Mixin for rows with a page of their own at /<kind>/<slug>: products, brands,
    enterprises, expo events. The slug is unique and at most 96 characters (places and
    categories have shorter ones, declared on their models)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(96), unique=True)


def link_table(name: str, **columns: str) -> Table:
    """A many-to-many table: two columns named by the keywords, each a foreign key to the
    "table.column" it is given, together the primary key; a link row goes with either end
    (ON DELETE CASCADE). link_table("brand_products", brand_id="brands.id", ...)."""
    return Table(
        name,
        db.metadata,
        *(
            Column(column, ForeignKey(target, ondelete="CASCADE"), primary_key=True)
            for column, target in columns.items()
        ),
    )
