"""What a scanned code shows: the listing's "passport", loaded in a handful of queries."""
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.db import db
from app.models import (
    Authorization,
    Booth,
    Brand,
    Enterprise,
    ExpoEvent,
    GISign,
    Product,
    PublicationStatus,
)
from app.models.expos import booth_enterprises, booth_products
from app.models.qr import CodeTarget
from app.services import catalogue, codes

PUBLISHED = PublicationStatus.PUBLISHED


class Outcome:
    FOUND = "found"
    UNKNOWN = "unknown"  # no such code, or its listing was never published
    WITHDRAWN = "withdrawn"  # archived or deleted since the code was printed


@dataclass
class Passport:
    outcome: str
    code: str
    kind: CodeTarget | None = None
    target: object | None = None
    # For products: signs and authorizations; for booths: the event and what it shows.
    signs: list[GISign] = field(default_factory=list)
    authorizations: list[Authorization] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    enterprises: list[Enterprise] = field(default_factory=list)
    counties: list = field(default_factory=list)  # where a withdrawn listing came from
    event_id: int = 0
    codes: dict = field(default_factory=dict)  # {listing: short code} for links


def passport_for(code: str, today: date) -> Passport:
    short = codes.find_code(code)
    if short is None:
        return Passport(Outcome.UNKNOWN, code)
    target = codes.resolve(short)
    if target is None:
        return Passport(Outcome.WITHDRAWN, code, short.target_type)
    status = _status_of(target)
    if status == PublicationStatus.ARCHIVED:
        return Passport(Outcome.WITHDRAWN, code, short.target_type, target,
                        counties=_counties_of(target))
    if status != PUBLISHED:
        return Passport(Outcome.UNKNOWN, code)
    passport = Passport(Outcome.FOUND, code, short.target_type, target)
    LOADERS[short.target_type](passport, today)
    return passport


def _status_of(target) -> PublicationStatus:
    if isinstance(target, Booth):
        return PUBLISHED if target.event.published else PublicationStatus.DRAFT
    return target.status


def _counties_of(target) -> list:
    if isinstance(target, Product):
        return list(target.counties)
    if isinstance(target, Enterprise):
        return [target.county]
    if isinstance(target, Authorization):
        return [target.enterprise.county]
    if isinstance(target, Brand):
        if target.owner is not None:
            return [target.owner.county]
        return sorted({c for p in target.products for c in p.counties}, key=lambda c: c.sort_order)
    return []


def _load_product(passport: Passport, today: date) -> None:
    product = db.session.scalar(
        select(Product)
        .where(Product.id == passport.target.id)
        .options(selectinload(Product.images), selectinload(Product.counties))
    )
    passport.target = product
    passport.signs = list(
        db.session.scalars(
            select(GISign)
            .where(GISign.product_id == product.id, GISign.status == PUBLISHED)
            .order_by(GISign.approval_year.is_(None), GISign.approval_year, GISign.id)
        )
    )
    passport.authorizations = catalogue.authorizations_for_signs([s.id for s in passport.signs])
    passport.event_id = _running_event_showing(booth_products.c.product_id, product.id, today)


def _load_brand(passport: Passport, _today: date) -> None:
    brand = passport.target
    passport.products = catalogue.published_only(brand.products)
    passport.codes = codes.codes_for(passport.products)


def _load_enterprise(passport: Passport, today: date) -> None:
    enterprise = catalogue.enterprise_by_slug(passport.target.slug)
    passport.target = enterprise
    passport.authorizations = catalogue.published_only(enterprise.authorizations)
    passport.event_id = _running_event_showing(
        booth_enterprises.c.enterprise_id, enterprise.id, today
    )


def _load_authorization(passport: Passport, _today: date) -> None:
    authorization = passport.target
    if authorization.enterprise.status != PUBLISHED:
        passport.outcome = Outcome.UNKNOWN
    passport.authorizations = [authorization]


def _load_booth(passport: Passport, _today: date) -> None:
    booth = passport.target
    passport.event_id = booth.event_id
    passport.products = catalogue.published_only(booth.products)
    passport.enterprises = catalogue.published_only(booth.enterprises)
    passport.codes = codes.codes_for(passport.products)


LOADERS = {
    CodeTarget.PRODUCT: _load_product,
    CodeTarget.BRAND: _load_brand,
    CodeTarget.ENTERPRISE: _load_enterprise,
    CodeTarget.AUTHORIZATION: _load_authorization,
    CodeTarget.BOOTH: _load_booth,
}


def _running_event_showing(column, target_id: int, today: date) -> int:
    """The expo running today at which this listing is on show: its scans count there."""
    event_id = db.session.scalar(
        select(ExpoEvent.id)
        .join(Booth, Booth.event_id == ExpoEvent.id)
        .join(column.table, column.table.c.booth_id == Booth.id)
        .where(
            column == target_id,
            ExpoEvent.published.is_(True),
            ExpoEvent.starts_on <= today,
            ExpoEvent.ends_on >= today,
        )
        .order_by(ExpoEvent.starts_on, ExpoEvent.id)
        .limit(1)
    )
    return event_id or 0
