"""What a scanned code shows: the listing's "passport", loaded in a handful of queries."""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Column, select
from sqlalchemy.orm import selectinload

from app.collation import by_name
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
from app.models.places import County
from app.models.qr import CodeTarget
from app.services import catalogue, codes

PUBLISHED = PublicationStatus.PUBLISHED
# What a short code can point at.
Coded = Product | Brand | Enterprise | Authorization | Booth


class Outcome:
    FOUND = "found"
    UNKNOWN = "unknown"  # no such code, or its listing was never published
    WITHDRAWN = "withdrawn"  # archived or deleted since the code was printed


@dataclass
class Passport:
    outcome: str
    code: str
    kind: CodeTarget | None = None
    target: Coded | None = None
    # For products: signs and authorizations; for booths: the event and what it shows.
    signs: list[GISign] = field(default_factory=list)
    authorizations: list[Authorization] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    enterprises: list[Enterprise] = field(default_factory=list)
    counties: list[County] = field(default_factory=list)  # where a withdrawn listing came from
    event_id: int = 0
    codes: dict = field(default_factory=dict)  # {listing: short code} for links


def passport_for(code: str, today: date, lang: str) -> Passport:
    """The passport of a short code; its lists of products, enterprises and authorizations
    in name order for `lang` (app/collation.py)."""
    short = codes.find_code(code)
    if short is None:
        return Passport(Outcome.UNKNOWN, code)
    target = codes.resolve(short)
    if target is None:
        return Passport(Outcome.WITHDRAWN, code, short.target_type)
    status = _status_of(target)
    if status == PublicationStatus.ARCHIVED:
        return Passport(
            Outcome.WITHDRAWN, code, short.target_type, target, counties=_counties_of(target)
        )
    if status != PUBLISHED:
        return Passport(Outcome.UNKNOWN, code)
    passport = Passport(Outcome.FOUND, code, short.target_type, target)
    _load(passport, target, today, lang)
    return passport


def _status_of(target: Coded) -> PublicationStatus:
    if isinstance(target, Booth):
        return PUBLISHED if target.event.published else PublicationStatus.DRAFT
    return target.status


def _counties_of(target: Coded) -> list[County]:
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


def _load(passport: Passport, target: Coded, today: date, lang: str) -> None:
    """What the passport shows beside the listing itself, by kind."""
    if isinstance(target, Product):
        _load_product(passport, target, today, lang)
    elif isinstance(target, Brand):
        passport.products = by_name(catalogue.published_only(target.products), lang)
        passport.codes = codes.codes_for(passport.products)
    elif isinstance(target, Enterprise):
        _load_enterprise(passport, target, today, lang)
    elif isinstance(target, Authorization):
        if target.enterprise.status != PUBLISHED:
            passport.outcome = Outcome.UNKNOWN
        passport.authorizations = [target]
    else:
        passport.event_id = target.event_id
        passport.products = by_name(catalogue.published_only(target.products), lang)
        passport.enterprises = by_name(catalogue.published_only(target.enterprises), lang)
        passport.codes = codes.codes_for(passport.products)


def _load_product(passport: Passport, product: Product, today: date, lang: str) -> None:
    # The same row again, with its images and counties loaded in two queries, not lazily.
    product = (
        db.session.scalar(
            select(Product)
            .where(Product.id == product.id)
            .options(selectinload(Product.images), selectinload(Product.counties))
        )
        or product
    )
    passport.target = product
    passport.signs = list(
        db.session.scalars(
            select(GISign)
            .where(GISign.product_id == product.id, GISign.status == PUBLISHED)
            .order_by(GISign.approval_year.is_(None), GISign.approval_year, GISign.id)
        )
    )
    passport.authorizations = catalogue.authorizations_for_signs(
        [s.id for s in passport.signs], lang
    )
    passport.event_id = _running_event_showing(booth_products.c.product_id, product.id, today)


def _load_enterprise(passport: Passport, enterprise: Enterprise, today: date, lang: str) -> None:
    # The same row again, with its county and authorizations loaded.
    enterprise = catalogue.enterprise_by_slug(enterprise.slug) or enterprise
    passport.target = enterprise
    passport.authorizations = by_name(
        catalogue.published_only(enterprise.authorizations), lang, lambda a: a.sign.product
    )
    passport.event_id = _running_event_showing(
        booth_enterprises.c.enterprise_id, enterprise.id, today
    )


def _running_event_showing(column: Column[int], target_id: int, today: date) -> int:
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
