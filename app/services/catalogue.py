"""Read side of the public catalogue: published listings only, loaded without N+1 queries."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import selectinload

from app.collation import by_name, name_key
from app.db import db
from app.models.brands import Brand, brand_products
from app.models.enterprises import Authorization, Enterprise
from app.models.expos import ExpoEvent
from app.models.industry import IndustryFact
from app.models.listing import Listing, PublicationStatus
from app.models.places import County
from app.models.products import Category, Product, product_counties
from app.models.signs import GISign, ProtectionAbroad, Regime, SignStatus, sign_counties

PUBLISHED = PublicationStatus.PUBLISHED
L = TypeVar("L", bound=Listing)


def published_signs() -> Select[tuple[GISign]]:
    """The GI signs the public sees: published, of a published product (a sign is shown on
    its product's page), with the product and protected counties loaded. Unordered."""
    return (
        select(GISign)
        .join(Product)
        .where(GISign.status == PUBLISHED, Product.status == PUBLISHED)
        .options(
            selectinload(GISign.product),
            selectinload(GISign.protected_counties),
            selectinload(GISign.protections_abroad),
        )
    )


def protects_county(county: County) -> ColumnElement[bool]:
    """Clause: the GI sign protects an area in this county."""
    return GISign.id.in_(
        select(sign_counties.c.sign_id).where(sign_counties.c.county_id == county.id)
    )


def published_authorizations() -> Select[tuple[Authorization]]:
    """The authorizations the public sees (open data, the verify page): published, with a
    published enterprise and a published GI sign. GISign is joined, for filters on it;
    nothing is loaded and nothing ordered: each caller says what it shows."""
    return (
        select(Authorization)
        .join(Enterprise)
        .join(GISign, GISign.id == Authorization.sign_id)
        .where(
            Authorization.status == PUBLISHED,
            Enterprise.status == PUBLISHED,
            GISign.status == PUBLISHED,
        )
    )


def local_today() -> date:
    """Today where the catalogue is (seasons, authorization expiry), not on the server."""
    return datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def _published_products() -> Select:
    return (
        select(Product)
        .where(Product.status == PUBLISHED)
        .options(selectinload(Product.images), selectinload(Product.counties))
    )


def _in_county(county_id: int):
    return Product.id.in_(
        select(product_counties.c.product_id).where(product_counties.c.county_id == county_id)
    )


def product_card_query() -> Select:
    return _published_products().options(selectinload(Product.category))


# --- home -------------------------------------------------------------------------------


def featured_products(limit: int = 8) -> list[Product]:
    stmt = product_card_query().where(Product.featured.is_(True)).order_by(Product.id).limit(limit)
    return list(db.session.scalars(stmt))


def in_season_products(month: int, limit: int = 12) -> list[Product]:
    bit = 1 << (month - 1)
    stmt = (
        product_card_query()
        .where(Product.season_mask.op("&")(bit) != 0)
        .order_by(Product.featured.desc(), Product.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def counties_with_counts() -> list[tuple[County, int]]:
    per_county = (
        select(product_counties.c.county_id, func.count())
        .join(Product, Product.id == product_counties.c.product_id)
        .where(Product.status == PUBLISHED)
        .group_by(product_counties.c.county_id)
    )
    return _with_counts(County, per_county)


def categories_with_counts() -> list[tuple[Category, int]]:
    per_category = (
        select(Product.category_id, func.count())
        .where(Product.status == PUBLISHED)
        .group_by(Product.category_id)
    )
    return _with_counts(Category, per_category)


P = TypeVar("P", County, Category)


def _with_counts(model: type[P], counts: Select[tuple[int, int]]) -> list[tuple[P, int]]:
    """Every row of model in its sort order, with the count that `counts` (rows of
    (model id, count)) gives it, or 0."""
    count = counts.subquery()
    key, counted = count.c
    stmt = (
        select(model, func.coalesce(counted, 0))
        .outerjoin(count, key == model.id)
        .order_by(model.sort_order)
    )
    return [(row, n) for row, n in db.session.execute(stmt)]


# --- lookups ----------------------------------------------------------------------------


def county_by_slug(slug: str) -> County | None:
    return db.session.scalar(select(County).where(County.slug == slug))


def category_by_slug(slug: str) -> Category | None:
    return db.session.scalar(select(Category).where(Category.slug == slug))


def all_counties() -> list[County]:
    return list(db.session.scalars(select(County).order_by(County.sort_order)))


def all_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.sort_order)))


# --- products ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductFilter:
    county: County | None = None
    category: Category | None = None
    regime: Regime | None = None


class Pagination:
    """Page arithmetic for anything with `page`, `per_page` and `total` (lists, search)."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass(frozen=True)
class Page(Pagination):
    items: list
    page: int
    per_page: int
    total: int


def paginate(stmt: Select, page: int, per_page: int) -> Page:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, page, per_page, total or 0)


def filtered_products(filters: ProductFilter, page: int, per_page: int, lang: str) -> Page:
    """A page of the published products that pass the filters, in name order (`lang`)."""
    stmt = select(Product.id, Product.name_zh, Product.name_en).where(Product.status == PUBLISHED)
    if filters.county is not None:
        stmt = stmt.where(_in_county(filters.county.id))
    if filters.category is not None:
        stmt = stmt.where(Product.category_id == filters.category.id)
    if filters.regime is not None:
        stmt = stmt.where(
            Product.id.in_(
                select(GISign.product_id).where(
                    GISign.regime == filters.regime, GISign.status == PUBLISHED
                )
            )
        )
    # Pinyin is no SQL collation: the names of every match are ordered here (one narrow
    # read), then only the page's products are loaded whole.
    named = by_name(db.session.execute(stmt.order_by(Product.id)).all(), lang)
    ids = [row.id for row in named[(page - 1) * per_page : page * per_page]]
    loaded = {p.id: p for p in db.session.scalars(product_card_query().where(Product.id.in_(ids)))}
    return Page([loaded[i] for i in ids], page, per_page, len(named))


@dataclass
class ProductPage:
    """Everything the product page shows, on the path sign -> product -> brand -> industry."""

    product: Product
    signs: list[GISign]
    brands: list[Brand]
    authorizations: list[Authorization]
    facts: list[IndustryFact]


def product_page(slug: str, lang: str) -> ProductPage | None:
    """The product's page; brands and authorizations (by enterprise) in name order."""
    product = db.session.scalar(
        select(Product)
        .where(Product.slug == slug, Product.status == PUBLISHED)
        .options(
            selectinload(Product.images),
            selectinload(Product.counties),
            selectinload(Product.category),
        )
    )
    return None if product is None else product_page_of(product, lang)


def product_page_of(product: Product, lang: str) -> ProductPage:
    """What the product's page shows besides the product: its published signs, brands,
    authorisations and industry figures (also for a reviewer's preview of a draft)."""
    signs = list(
        db.session.scalars(
            select(GISign)
            .where(GISign.product_id == product.id, GISign.status == PUBLISHED)
            .options(selectinload(GISign.protected_counties))
            .order_by(GISign.approval_year.is_(None), GISign.approval_year, GISign.id)
        )
    )
    brands = by_name(
        db.session.scalars(
            select(Brand)
            .join(brand_products)
            .where(brand_products.c.product_id == product.id, Brand.status == PUBLISHED)
            .options(selectinload(Brand.owner))
            .order_by(Brand.id)
        ),
        lang,
    )
    authorizations = authorizations_for_signs([s.id for s in signs], lang)
    facts = list(
        db.session.scalars(
            select(IndustryFact)
            .where(IndustryFact.product_id == product.id, IndustryFact.status == PUBLISHED)
            .order_by(IndustryFact.year)
        )
    )
    return ProductPage(product, signs, brands, authorizations, facts)


def authorizations_for_signs(sign_ids: list[int], lang: str) -> list[Authorization]:
    """Published authorizations of these signs, by their enterprise's name (`lang`), then
    the date they start."""
    if not sign_ids:
        return []
    stmt = (
        select(Authorization)
        .join(Enterprise)
        .where(
            Authorization.sign_id.in_(sign_ids),
            Authorization.status == PUBLISHED,
            Enterprise.status == PUBLISHED,
        )
        .options(selectinload(Authorization.enterprise), selectinload(Authorization.sign))
        .order_by(Authorization.valid_from, Authorization.id)
    )
    return by_name(db.session.scalars(stmt), lang, lambda a: a.enterprise)


# --- counties ---------------------------------------------------------------------------


@dataclass
class CountyPage:
    county: County
    products: list[Product]
    signs: list[GISign]
    brands: list[Brand]
    enterprises: list[Enterprise]


def county_products(county: County, lang: str) -> list[Product]:
    """The county's published products in name order (`lang`): its page, its season
    calendar, its GeoJSON."""
    stmt = product_card_query().where(_in_county(county.id)).order_by(Product.id)
    return by_name(db.session.scalars(stmt), lang)


def county_page(county: County, lang: str) -> CountyPage:
    """The county's products, brands and enterprises in name order (`lang`); its signs by
    approval year."""
    products = county_products(county, lang)
    product_ids = [p.id for p in products]
    signs = list(
        db.session.scalars(
            select(GISign)
            .join(Product)
            .where(
                GISign.status == PUBLISHED,
                Product.status == PUBLISHED,
                or_(
                    GISign.product_id.in_(product_ids),
                    GISign.id.in_(
                        select(sign_counties.c.sign_id).where(
                            sign_counties.c.county_id == county.id
                        )
                    ),
                ),
            )
            .options(selectinload(GISign.product))
            .order_by(GISign.approval_year.is_(None), GISign.approval_year, GISign.id)
        )
    )
    brands = by_name(
        db.session.scalars(
            select(Brand)
            .where(
                Brand.status == PUBLISHED,
                Brand.id.in_(
                    select(brand_products.c.brand_id).where(
                        brand_products.c.product_id.in_(product_ids)
                    )
                ),
            )
            .order_by(Brand.id)
        ),
        lang,
    )
    enterprises = by_name(
        db.session.scalars(
            select(Enterprise)
            .where(Enterprise.status == PUBLISHED, Enterprise.county_id == county.id)
            .order_by(Enterprise.id)
        ),
        lang,
    )
    return CountyPage(county, products, signs, brands, enterprises)


# --- brands, enterprises, categories ------------------------------------------------------


def brand_by_slug(slug: str) -> Brand | None:
    return db.session.scalar(
        select(Brand)
        .where(Brand.slug == slug, Brand.status == PUBLISHED)
        .options(selectinload(Brand.owner), selectinload(Brand.products))
    )


def published_only(items: Iterable[L]) -> list[L]:
    return [item for item in items if item.status == PUBLISHED]


def enterprise_by_slug(slug: str) -> Enterprise | None:
    return db.session.scalar(
        select(Enterprise)
        .where(Enterprise.slug == slug, Enterprise.status == PUBLISHED)
        .options(
            selectinload(Enterprise.county),
            selectinload(Enterprise.authorizations)
            .selectinload(Authorization.sign)
            .selectinload(GISign.product),
        )
    )


def brands_owned_by(enterprise: Enterprise, lang: str) -> list[Brand]:
    return by_name(
        db.session.scalars(
            select(Brand)
            .where(Brand.owner_id == enterprise.id, Brand.status == PUBLISHED)
            .order_by(Brand.id)
        ),
        lang,
    )


def category_products(category: Category, lang: str) -> list[Product]:
    """The category's published products in name order (`lang`)."""
    return by_name(
        db.session.scalars(
            product_card_query().where(Product.category_id == category.id).order_by(Product.id)
        ),
        lang,
    )


# --- the register -----------------------------------------------------------------------

# The register's orders: what a sign is sorted by before its name (app/collation.py, in
# the reader's language), which orders ties and is the whole of the "name" order.
REGISTER_SORTS: dict[str, Callable[[GISign], tuple]] = {
    "name": lambda s: (),
    "regime": lambda s: (s.regime.value,),
    "year": lambda s: (s.approval_year is None, s.approval_year or 0),
    "status": lambda s: (s.sign_status.value,),
}


@dataclass(frozen=True)
class RegisterFilter:
    regime: Regime | None = None
    county: County | None = None
    year: int | None = None
    status: SignStatus | None = None
    # A jurisdiction code (ProtectionAbroad.jurisdiction), or ANYWHERE_ABROAD.
    abroad: str | None = None
    sort: str = "year"
    descending: bool = False


ANYWHERE_ABROAD = "any"


def register_signs(filters: RegisterFilter, lang: str) -> list[GISign]:
    """The published signs that pass the filters, in the chosen order (`lang` for names)."""
    stmt = published_signs()
    if filters.regime is not None:
        stmt = stmt.where(GISign.regime == filters.regime)
    if filters.status is not None:
        stmt = stmt.where(GISign.sign_status == filters.status)
    if filters.year is not None:
        stmt = stmt.where(GISign.approval_year == filters.year)
    if filters.county is not None:
        stmt = stmt.where(protects_county(filters.county))
    if filters.abroad == ANYWHERE_ABROAD:
        stmt = stmt.where(GISign.protections_abroad.any())
    elif filters.abroad is not None:
        stmt = stmt.where(
            GISign.protections_abroad.any(ProtectionAbroad.jurisdiction == filters.abroad)
        )
    before_name = REGISTER_SORTS[filters.sort]
    return sorted(
        db.session.scalars(stmt.order_by(GISign.id)),
        key=lambda s: (before_name(s), name_key(s.official_name_zh, s.official_name_en, lang)),
        reverse=filters.descending,
    )


def abroad_jurisdictions() -> list[str]:
    """The jurisdictions where some published sign is protected: the register's filter."""
    stmt = (
        select(ProtectionAbroad.jurisdiction)
        .join(GISign)
        .where(GISign.status == PUBLISHED)
        .distinct()
        .order_by(ProtectionAbroad.jurisdiction)
    )
    return list(db.session.scalars(stmt))


def register_years() -> list[int]:
    stmt = (
        select(GISign.approval_year)
        .where(GISign.status == PUBLISHED, GISign.approval_year.is_not(None))
        .distinct()
        .order_by(GISign.approval_year.desc())
    )
    return list(db.session.scalars(stmt))


# --- sitemap ----------------------------------------------------------------------------


def sitemap_entries() -> dict[str, list]:
    def published(model):
        return list(
            db.session.execute(
                select(model.slug, model.updated_at)
                .where(model.status == PUBLISHED)
                .order_by(model.slug)
            )
        )

    return {
        "products": published(Product),
        "brands": published(Brand),
        "enterprises": published(Enterprise),
        "counties": list(db.session.scalars(select(County.slug).order_by(County.sort_order))),
        "categories": list(db.session.scalars(select(Category.slug).order_by(Category.sort_order))),
        "expos": list(
            db.session.scalars(
                select(ExpoEvent.slug).where(ExpoEvent.published.is_(True)).order_by(ExpoEvent.slug)
            )
        ),
    }
