"""The published catalogue as plain data: the JSON API, the downloads and their filters.

Only published rows are exported; demo (fictitious) rows carry `is_demo: true`."""

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import Select, Table, func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.base import ExecutableOption

from app.db import Model, db
from app.models.brands import Brand, BrandKind, brand_products
from app.models.enterprises import Authorization, AuthorizationStatus, Enterprise
from app.models.listing import PublicationStatus
from app.models.places import County
from app.models.products import Category, Product, product_counties
from app.models.signs import GISign, ProtectionAbroad, Regime, SignStatus
from app.services import catalogue, codes

PUBLISHED = PublicationStatus.PUBLISHED
# The query-string filters of a list (request.args, or {} for everything).
Filters = Mapping[str, str]
E = TypeVar("E", bound=Enum)
Filtered = TypeVar("Filtered", County, Category, Product, Enterprise)  # filters name them by slug
# (rows of the resource's model, today) -> their plain data
Serialiser = Callable[[Sequence[Any], date], list[dict]]


class UnknownFilterValue(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


# --- serialisers ---------------------------------------------------------------------------


def county_data(c: County) -> dict:
    return {
        "slug": c.slug,
        "code": c.code,
        "name_zh": c.name_zh,
        "name_en": c.name_en,
        "kind": c.kind,
        "seat_lat": c.seat_lat,
        "seat_lon": c.seat_lon,
    }


def category_data(c: Category) -> dict:
    return {"slug": c.slug, "name_zh": c.name_zh, "name_en": c.name_en}


def sign_data(s: GISign) -> dict:
    return {
        "id": s.id,
        "regime": s.regime.value,
        "official_name_zh": s.official_name_zh,
        "official_name_en": s.official_name_en,
        "number": s.number,
        "approval_date": s.approval_date.isoformat() or None,
        "issuing_body_zh": s.issuing_body_zh,
        "holder_zh": s.holder_zh,
        "standard": s.standard,
        "status": s.sign_status.value,
        "verified": s.verified,
        "product": s.product.slug,
        "counties": [c.slug for c in s.protected_counties],
        "protected_abroad": [protection_data(p) for p in s.protections_abroad],
    }


def protection_data(p: ProtectionAbroad) -> dict:
    return {
        "jurisdiction": p.jurisdiction,
        "basis_zh": p.basis_zh,
        "basis_en": p.basis_en,
        "protected_from": p.protected_from.isoformat() if p.protected_from else None,
        "source_url": p.source_url,
    }


def _named(row: Product | Brand | Enterprise, code: str | None) -> dict:
    """The keys every named listing starts with: its slug, short code and names."""
    return {"slug": row.slug, "short_code": code, "name_zh": row.name_zh, "name_en": row.name_en}


def product_data(p: Product, code: str | None) -> dict:
    return {
        **_named(p, code),
        "category": p.category.slug,
        "counties": [c.slug for c in p.counties],
        "province_wide": p.province_wide,
        "summary_zh": p.summary_zh,
        "summary_en": p.summary_en,
        "season_months": p.season_months,
    }


def brand_data(b: Brand, code: str | None) -> dict:
    return {
        **_named(b, code),
        "kind": b.kind.value,
        "registration_number": b.registration_number,
        "owner": b.owner.slug if b.owner else None,
        "products": [p.slug for p in b.products if p.status == PUBLISHED],
        "is_demo": b.is_demo,
    }


def enterprise_data(e: Enterprise, code: str | None) -> dict:
    return {
        **_named(e, code),
        "credit_code": e.credit_code,
        "county": e.county.slug,
        "is_demo": e.is_demo,
    }


def authorization_data(a: Authorization, code: str | None, today: date) -> dict:
    return {
        "id": a.id,
        "short_code": code,
        "number": a.number,
        "enterprise": a.enterprise.slug,
        "sign": a.sign_id,
        "product": a.sign.product.slug,
        "valid_from": a.valid_from.isoformat() if a.valid_from else None,
        "valid_to": a.valid_to.isoformat() if a.valid_to else None,
        "status": a.effective_status(today).value,
        "is_demo": a.is_demo,
    }


# --- queries with the site's filters --------------------------------------------------------


def _slug_lookup(model: type[Filtered], slug: str | None, name: str) -> Filtered | None:
    if not slug:
        return None
    found = db.session.scalar(select(model).where(model.slug == slug))
    if found is None:
        raise UnknownFilterValue(name)
    return found


def _enum(enum_cls: type[E], raw: str | None, name: str) -> E | None:
    if not raw:
        return None
    try:
        return enum_cls(raw)
    except ValueError:
        raise UnknownFilterValue(name) from None


def _linked(link: Table, wanted: str, **given: int) -> Select:
    """Ids in column `wanted` of a link table, on the rows whose other column has the given
    value (`product_id=3`)."""
    ((column, value),) = given.items()
    return select(link.c[wanted]).where(link.c[column] == value)


def _published(model: type[Product | Brand | Enterprise], *loads: ExecutableOption) -> Select:
    """A listing's published rows with what its data reads, in id order."""
    return select(model).where(model.status == PUBLISHED).options(*loads).order_by(model.id)


def counties_query(_args: Filters) -> Select:
    return select(County).order_by(County.sort_order, County.id)


def categories_query(_args: Filters) -> Select:
    return select(Category).order_by(Category.sort_order, Category.id)


def signs_query(args: Filters) -> Select:
    stmt = catalogue.published_signs().order_by(GISign.id)
    if regime := _enum(Regime, args.get("regime"), "regime"):
        stmt = stmt.where(GISign.regime == regime)
    if status := _enum(SignStatus, args.get("status"), "status"):
        stmt = stmt.where(GISign.sign_status == status)
    if year := args.get("year"):
        stmt = stmt.where(GISign.approval_year == year)
    if county := _slug_lookup(County, args.get("county"), "county"):
        stmt = stmt.where(catalogue.protects_county(county))
    return stmt


def products_query(args: Filters) -> Select:
    stmt = _published(Product, selectinload(Product.category), selectinload(Product.counties))
    if county := _slug_lookup(County, args.get("county"), "county"):
        stmt = stmt.where(
            Product.id.in_(_linked(product_counties, "product_id", county_id=county.id))
        )
    if category := _slug_lookup(Category, args.get("category"), "category"):
        stmt = stmt.where(Product.category_id == category.id)
    if regime := _enum(Regime, args.get("regime"), "regime"):
        stmt = stmt.where(
            Product.id.in_(
                select(GISign.product_id).where(GISign.regime == regime, GISign.status == PUBLISHED)
            )
        )
    return stmt


def brands_query(args: Filters) -> Select:
    stmt = _published(Brand, selectinload(Brand.owner), selectinload(Brand.products))
    if kind := _enum(BrandKind, args.get("kind"), "kind"):
        stmt = stmt.where(Brand.kind == kind)
    if product := _slug_lookup(Product, args.get("product"), "product"):
        stmt = stmt.where(Brand.id.in_(_linked(brand_products, "brand_id", product_id=product.id)))
    return stmt


def enterprises_query(args: Filters) -> Select:
    stmt = _published(Enterprise, selectinload(Enterprise.county))
    if county := _slug_lookup(County, args.get("county"), "county"):
        stmt = stmt.where(Enterprise.county_id == county.id)
    return stmt


def authorizations_query(args: Filters) -> Select:
    stmt = (
        catalogue.published_authorizations()
        .options(
            selectinload(Authorization.enterprise),
            selectinload(Authorization.sign).selectinload(GISign.product),
        )
        .order_by(Authorization.id)
    )
    if enterprise := _slug_lookup(Enterprise, args.get("enterprise"), "enterprise"):
        stmt = stmt.where(Authorization.enterprise_id == enterprise.id)
    if product := _slug_lookup(Product, args.get("product"), "product"):
        stmt = stmt.where(GISign.product_id == product.id)
    # "status" filters on the stored status; expiry by date is applied in the payload.
    if status := _enum(AuthorizationStatus, args.get("status"), "status"):
        stmt = stmt.where(Authorization.auth_status == status)
    return stmt


@dataclass(frozen=True)
class Resource:
    name: str
    query: Callable[[Filters], Select]
    serialise: Serialiser
    detail_key: str  # attribute looked up by /<resource>/<key>
    model: type[Model]


def _with_codes(make: Callable[[Any, str | None], dict]) -> Serialiser:
    def serialise(rows: Sequence[Any], _today: date) -> list[dict]:
        found = codes.codes_for(list(rows))
        return [make(row, found.get(row)) for row in rows]

    return serialise


def _authorizations(rows: Sequence[Authorization], today: date) -> list[dict]:
    found = codes.codes_for(list(rows))
    return [authorization_data(row, found.get(row), today) for row in rows]


RESOURCES = {
    "counties": Resource(
        "counties", counties_query, lambda rows, _t: [county_data(r) for r in rows], "slug", County
    ),
    "categories": Resource(
        "categories",
        categories_query,
        lambda rows, _t: [category_data(r) for r in rows],
        "slug",
        Category,
    ),
    "signs": Resource(
        "signs", signs_query, lambda rows, _t: [sign_data(r) for r in rows], "id", GISign
    ),
    "products": Resource("products", products_query, _with_codes(product_data), "slug", Product),
    "brands": Resource("brands", brands_query, _with_codes(brand_data), "slug", Brand),
    "enterprises": Resource(
        "enterprises", enterprises_query, _with_codes(enterprise_data), "slug", Enterprise
    ),
    "authorizations": Resource(
        "authorizations", authorizations_query, _authorizations, "id", Authorization
    ),
}


@dataclass(frozen=True)
class ListPage:
    items: list[dict]
    total: int


def list_resource(name: str, args: Filters, page: int, per_page: int, today: date) -> ListPage:
    resource = RESOURCES[name]
    stmt = resource.query(args)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return ListPage(resource.serialise(rows, today), total or 0)


def get_resource(name: str, key: str | int, today: date) -> dict | None:
    resource = RESOURCES[name]
    column = getattr(resource.model, resource.detail_key)
    row = db.session.scalar(resource.query({}).where(column == key))
    if row is None:
        return None
    return resource.serialise([row], today)[0]


# --- full downloads --------------------------------------------------------------------------

DOWNLOADS = tuple(RESOURCES)  # every resource, in the order of RESOURCES


def full_table(name: str, today: date) -> list[dict]:
    resource = RESOURCES[name]
    rows = list(db.session.scalars(resource.query({})))
    return resource.serialise(rows, today)


def catalogue_json(meta: dict, today: date) -> bytes:
    document = {"meta": meta, **{name: full_table(name, today) for name in DOWNLOADS}}
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=False).encode()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        # A list of records (a sign's protection abroad) keeps its keys: one JSON object each.
        return ";".join(
            json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else str(v) for v in value
        )
    return str(value)


def table_csv(name: str, today: date) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese correctly;
    list cells are joined with ';'."""
    rows = full_table(name, today)
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- harvestable description of the downloads --------------------------------------------

# The downloads are rebuilt whenever the catalogue changes, which officials do at no fixed
# interval: Dublin Core's "irregular" (DCAT's dct:accrualPeriodicity takes this vocabulary).
UPDATE_FREQUENCY = "http://purl.org/cld/freq/irregular"


@dataclass(frozen=True)
class Distribution:
    """One download: its file name, absolute URL and media type."""

    name: str
    url: str
    media_type: str


def dataset_jsonld(
    meta: dict,
    *,
    name: str,
    description: str,
    url: str,
    publisher: str,
    distributions: Sequence[Distribution],
    first_year: int | None,
) -> dict:
    """schema.org `Dataset` (what Google Dataset Search reads) with the DCAT terms portals
    harvest (dcat:Dataset, dct:accrualPeriodicity), for /data/. `meta` is snapshot_meta;
    temporal coverage runs from the first approval year of a published sign to now
    (ISO 8601 open interval "2004/..")."""
    document: dict = {
        "@context": {
            "@vocab": "https://schema.org/",
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
        },
        "@type": ["Dataset", "dcat:Dataset"],
        "name": name,
        "description": description,
        "url": url,
        "license": meta["licence_url"],
        "isAccessibleForFree": True,
        "publisher": {"@type": "Organization", "name": publisher, "url": meta["source"]},
        "creator": {"@type": "Organization", "name": publisher, "url": meta["source"]},
        "dateModified": meta["snapshot_date"],
        "inLanguage": ["zh-Hans", "en"],
        "spatialCoverage": {"@type": "Place", "name": "Hainan, China"},
        "dct:accrualPeriodicity": {"@id": UPDATE_FREQUENCY},
        "distribution": [
            {
                "@type": ["DataDownload", "dcat:Distribution"],
                "name": d.name,
                "contentUrl": d.url,
                "encodingFormat": d.media_type,
                "dcat:downloadURL": {"@id": d.url},
                "dcat:mediaType": d.media_type,
            }
            for d in distributions
        ],
    }
    if first_year is not None:
        document["temporalCoverage"] = f"{first_year}/.."
    return document
