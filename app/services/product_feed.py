"""The newly published products, for the Atom feed (RFC 4287).

A product's publish time is in the audit log (app/services/workflow.publish records
"publish"): `published` is the first, `updated` the latest (a published revision is news
again). Rows never published through the workflow (seeded ones) fall back to when they
were created."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.db import db
from app.models.audit import AuditEntry
from app.models.listing import PublicationStatus
from app.models.products import Product

AUDIT_TYPE = "products"  # the listing kind's key, as record_listing writes it
FEED_LENGTH = 50


@dataclass(frozen=True)
class FeedEntry:
    product: Product
    published: datetime  # aware, UTC
    updated: datetime  # aware, UTC


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC), PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def newly_published(limit: int = FEED_LENGTH) -> list[FeedEntry]:
    """Published products, latest publish time first (then the newest id)."""
    publishes = (
        select(
            AuditEntry.object_id.label("product_id"),
            func.min(AuditEntry.at).label("first"),
            func.max(AuditEntry.at).label("last"),
        )
        .where(AuditEntry.action == "publish", AuditEntry.object_type == AUDIT_TYPE)
        .group_by(AuditEntry.object_id)
        .subquery()
    )
    updated = func.coalesce(publishes.c.last, Product.created_at)
    stmt = (
        select(Product, publishes.c.first, publishes.c.last)
        .outerjoin(publishes, publishes.c.product_id == Product.id)
        .where(Product.status == PublicationStatus.PUBLISHED)
        .options(selectinload(Product.category))
        .order_by(updated.desc(), Product.id.desc())
        .limit(limit)
    )
    return [
        FeedEntry(product, as_utc(first or product.created_at), as_utc(last or product.created_at))
        for product, first, last in db.session.execute(stmt)
    ]
