"""The database fallback: what answers searches and suggestions while the index cannot
(missing, damaged, being rebuilt). Slower and plainer than the index, still correct:
names, slugs, summaries and numbers by LIKE, and pinyin from the search_pinyin table."""

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError

from app.db import db
from app.models import Brand, County, Enterprise, GISign, Product
from app.search import documents
from app.search.documents import DocKey
from app.search.outbox import SearchPinyin
from app.search.results import Hit, SearchFilters, SearchResults, Suggestion


def abandon_failed_transaction() -> None:
    """After a database error inside the index path, PostgreSQL refuses every statement
    until the transaction ends; a read-only search may simply start a new one."""
    try:
        db.session.execute(select(1))
    except SQLAlchemyError:
        db.session.rollback()


def label_of(kind: str, obj) -> dict:
    """The label an index document stores for a row (documents._document): names, slug, and
    the slug of the page it opens (a sign opens its product's)."""
    if kind == "sign":
        return {
            "zh": obj.official_name_zh,
            "en": obj.official_name_en or "",
            "slug": obj.product.slug,
            "target": obj.product.slug,
        }
    return {"zh": obj.name_zh, "en": obj.name_en or "", "slug": obj.slug, "target": obj.slug}


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _pinyin_pattern(query: str) -> str | None:
    """LIKE pattern for a query typed as pinyin ('wenchangji', 'wen chang ji', 'wcj'):
    the start of one stored form. None for anything that is not plain Latin letters."""
    compact = "".join(query.lower().split())
    if len(compact) < 2 or not (compact.isascii() and compact.isalpha()):
        return None
    return f"% {compact}%"


def database_matches(query: str, limit: int) -> list[tuple[str, Any]]:
    """(kind, row) of the published rows whose names, slugs, summaries, numbers or pinyin
    match the query: up to `limit` of each kind, kinds in the order below."""
    if not query:
        return []
    pattern = _like(query)
    slug_pattern = _like("-".join(query.lower().split()))
    columns = {
        "product": (
            Product.name_zh,
            Product.name_en,
            Product.slug,
            Product.summary_zh,
            Product.summary_en,
        ),
        "county": (County.name_zh, County.name_en, County.slug),
        "brand": (Brand.name_zh, Brand.name_en, Brand.slug, Brand.registration_number),
        "enterprise": (Enterprise.name_zh, Enterprise.name_en, Enterprise.credit_code),
        "sign": (GISign.official_name_zh, GISign.official_name_en, GISign.number),
    }
    pinyin = _pinyin_pattern(query)
    found: list[tuple[str, Any]] = []
    for kind, cols in columns.items():
        conditions = [c.ilike(pattern, escape="\\") for c in cols]
        conditions += [c.ilike(slug_pattern, escape="\\") for c in cols if c.key == "slug"]
        if pinyin:
            # Full pinyin, per-word pinyin and initials, as the index's pinyin field has.
            conditions.append(
                documents.MODELS[kind].id.in_(
                    select(SearchPinyin.obj_id).where(
                        SearchPinyin.kind == kind, SearchPinyin.forms.like(pinyin)
                    )
                )
            )
        stmt = documents.published_query(kind).where(or_(*conditions)).limit(limit)
        found.extend((kind, obj) for obj in db.session.scalars(stmt))
    return found


def database_search(query: str, filters: SearchFilters, page: int, per_page: int) -> SearchResults:
    """One page of the published rows matching the query (at most 500 looked at), kind
    filter applied; no facets, no ranking beyond the kinds' order."""
    matches = [
        (kind, obj)
        for kind, obj in database_matches(query, 500)
        if not filters.kind or filters.kind == kind
    ]
    start = (page - 1) * per_page
    hits = [Hit(DocKey(kind, obj.id), obj) for kind, obj in matches[start : start + per_page]]
    return SearchResults(query, hits, len(matches), page, per_page, source="database")


def database_suggestions(query: str, limit: int) -> list[Suggestion]:
    """Autocomplete from the database: up to `limit` matches of each kind."""
    return [
        Suggestion(DocKey(kind, obj.id), label_of(kind, obj))
        for kind, obj in database_matches(query, limit)
    ]
