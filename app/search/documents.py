"""From database rows to search documents, and back. Only published listings (and every
county) become documents; anything else is removed from the index."""

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import selectinload

from app.db import db
from app.models import (
    Authorization,
    Brand,
    County,
    Enterprise,
    GISign,
    Product,
    PublicationStatus,
    brand_products,
    product_counties,
)
from app.models.listing import Bilingual
from app.search import text

PUBLISHED = PublicationStatus.PUBLISHED
MODELS: dict[str, type[Product | Brand | Enterprise | GISign | County]] = {
    "product": Product,
    "brand": Brand,
    "enterprise": Enterprise,
    "sign": GISign,
    "county": County,
}


@dataclass(frozen=True)
class DocKey:
    kind: str
    obj_id: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.obj_id}"

    @classmethod
    def parse(cls, key: str) -> "DocKey":
        kind, obj_id = key.split(":", 1)
        return cls(kind, int(obj_id))


def _join(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p and p.strip())


def _compact(value: str) -> str:
    return "".join(text.normalize(value).lower().split())


def exact_names(*names: str | None) -> str:
    """Whole names as single comma-separated keywords (commas inside names dropped)."""
    return ",".join(
        " ".join(text.normalize(n).lower().replace(",", " ").split()) for n in names if n
    )


def _names_for_suggest(*names: str | None) -> str:
    return " ".join(text.normalize(n) for n in names if n)


def _pinyin(*names: str | None) -> list[str]:
    forms: list[str] = []
    for name in names:
        if name:
            forms.extend(text.pinyin_forms(name))
    return list(dict.fromkeys(forms))


def _document(
    kind: str,
    obj,
    *,
    name_zh: str,
    name_en: str | None,
    slug: str,
    refs: Iterable[str | None] = (),
    places: Iterable[County] = (),
    body: str = "",
    category: str | None = None,
    regimes: Iterable[str] = (),
    target: str | None = None,
) -> dict:
    places = list(places)
    pinyin = _pinyin(name_zh)
    english_words = text.normalize(name_en or "").lower()
    place_text = _join(*(f"{c.name_zh} {c.full_name_zh or ''} {c.name_en or ''}" for c in places))
    return {
        "key": f"{kind}:{obj.id}",
        "kind": kind,
        "obj_id": obj.id,
        "name_exact": exact_names(
            name_zh,
            name_en,
            _strip_demo(name_zh),
            _strip_demo(name_en),
            *(short_place_name(c.name_zh) for c in places if kind == "county"),
        ),
        "name": _join(name_zh, name_en),
        "name_chars": name_zh,
        "pinyin": " ".join(pinyin),
        "refs": ",".join(_compact(r) for r in refs if r and r.strip()),
        "place": place_text,
        "body": body,
        "spell": " ".join([english_words, *pinyin]),
        "suggest": _names_for_suggest(name_zh, name_en, _compact(name_en or ""), *pinyin[:2]),
        "label": {"zh": name_zh, "en": name_en or "", "slug": slug, "target": target or slug},
        "f_county": ",".join(c.slug for c in places),
        "f_category": category or "",
        "f_regime": ",".join(sorted(set(regimes))),
        "f_county_set": ",".join(sorted(c.slug for c in places)),
        "f_regime_set": ",".join(sorted(set(regimes))),
    }


def short_place_name(name: str) -> str:
    """乐东黎族自治县 -> 乐东, 文昌市 -> 文昌: what people call the place."""
    return re.sub(r"(黎族|苗族|自治县|自治州|市|县|区)+$", "", name) or name


def _strip_demo(name: str | None) -> str | None:
    if not name:
        return None
    for suffix in ("（示例）", "(示例)", "(Demo)", "（Demo）"):
        name = name.replace(suffix, "")
    return name.strip()


def _in_both_languages(row: object, *stems: str) -> list[str | None]:
    """The Chinese and then the English value of each bilingual field named by its stem
    ("summary" -> summary_zh, summary_en), in the order given."""
    return [getattr(row, f"{stem}_{lang}") for stem in stems for lang in ("zh", "en")]


def _named_document(kind: str, row: Product | Brand | Enterprise | County, **rest: Any) -> dict:
    """A document named like the row itself: its Chinese and English names and its slug."""
    return _document(kind, row, name_zh=row.name_zh, name_en=row.name_en, slug=row.slug, **rest)


def product_document(product: Product) -> dict:
    return _named_document(
        "product",
        product,
        places=product.counties,
        body=_join(
            *_in_both_languages(product, "summary", "description", "characteristics"),
            *_in_both_languages(product.category, "name"),
        ),
        category=product.category.slug,
        regimes=[s.regime.value for s in product.signs if s.status == PUBLISHED],
    )


def brand_document(brand: Brand) -> dict:
    products = [p for p in brand.products if p.status == PUBLISHED]
    places = {c.slug: c for p in products for c in p.counties}
    return _named_document(
        "brand",
        brand,
        refs=[brand.registration_number],
        places=places.values(),
        body=_join(
            *_in_both_languages(brand, "holder", "description"),
            *(f"{p.name_zh} {p.name_en or ''}" for p in products),
        ),
        category=products[0].category.slug if len({p.category_id for p in products}) == 1 else None,
    )


def enterprise_document(enterprise: Enterprise) -> dict:
    authorizations = [a for a in enterprise.authorizations if a.status == PUBLISHED]
    return _named_document(
        "enterprise",
        enterprise,
        refs=[enterprise.credit_code, *(a.number for a in authorizations)],
        places=[enterprise.county],
        body=_join(*_in_both_languages(enterprise, "address", "description")),
        regimes=[a.sign.regime.value for a in authorizations],
    )


def sign_document(sign: GISign) -> dict:
    product = sign.product
    return _document(
        "sign",
        sign,
        name_zh=sign.official_name_zh,
        name_en=sign.official_name_en or product.name_en,
        slug=product.slug,
        target=product.slug,
        refs=[sign.number, sign.standard],
        places=sign.protected_counties or product.counties,
        body=_join(
            # Not approval_note: it is an officials' research note, never public text.
            *_in_both_languages(sign, "issuing_body", "holder", "protected_area"),
            sign.number,
            sign.standard,
        ),
        category=product.category.slug,
        regimes=[sign.regime.value],
    )


def county_document(county: County) -> dict:
    return _named_document(
        "county",
        county,
        places=[county],
        body=_join(county.full_name_zh, county.full_name_en, county.kind),
    )


# Each builder takes a row of its kind's model.
BUILDERS: dict[str, Callable[[Any], dict]] = {
    "product": product_document,
    "brand": brand_document,
    "enterprise": enterprise_document,
    "sign": sign_document,
    "county": county_document,
}


# What each kind's document reads beyond the row itself, loaded with the rows.
_DOCUMENT_LOADS = {
    "product": (
        selectinload(Product.counties),
        selectinload(Product.category),
        selectinload(Product.signs),
    ),
    "brand": (
        selectinload(Brand.products).selectinload(Product.counties),
        selectinload(Brand.products).selectinload(Product.category),
    ),
    "enterprise": (
        selectinload(Enterprise.county),
        selectinload(Enterprise.authorizations).selectinload(Authorization.sign),
    ),
    "sign": (
        selectinload(GISign.protected_counties),
        selectinload(GISign.product).selectinload(Product.category),
        selectinload(GISign.product).selectinload(Product.counties),
    ),
}


def published_query(kind: str) -> Select:
    """The rows of one kind that belong in the index, with what their documents need."""
    if kind == "county":
        return select(County).order_by(County.sort_order)
    model = cast(type[Product | Brand | Enterprise | GISign], MODELS[kind])
    stmt = select(model)
    if kind == "sign":
        # A sign is shown on its product's page: both must be published.
        stmt = stmt.join(Product, Product.id == GISign.product_id).where(
            Product.status == PUBLISHED
        )
    return stmt.where(model.status == PUBLISHED).options(*_DOCUMENT_LOADS[kind])


def count_published() -> dict[str, int]:
    counts = {}
    for kind in MODELS:
        stmt = published_query(kind).order_by(None).options()
        counts[kind] = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return counts


# Kinds whose documents are listed in an order of their own, not by id (see
# published_query): a rebuild's worker takes such a kind whole (app.search.build).
ORDERED_OTHERWISE = frozenset({"county"})


def iter_documents(
    kind: str,
    ids: Iterable[int] | None = None,
    batch: int = 500,
    id_range: tuple[int, int] | None = None,
) -> Iterator[tuple[DocKey, dict]]:
    """Documents for the published rows of one kind (all of them, only these ids, or
    those with ids from id_range[0] to id_range[1] inclusive)."""
    model = MODELS[kind]
    stmt = published_query(kind).order_by(model.id)
    if ids is not None:
        ids = sorted(set(ids))
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            for obj in db.session.scalars(stmt.where(model.id.in_(chunk))):
                yield DocKey(kind, obj.id), BUILDERS[kind](obj)
        return
    last_id = 0
    if id_range is not None:
        stmt = stmt.where(model.id <= id_range[1])
        last_id = id_range[0] - 1
    while True:
        rows = list(db.session.scalars(stmt.where(model.id > last_id).limit(batch)))
        for obj in rows:
            yield DocKey(kind, obj.id), BUILDERS[kind](obj)
        if len(rows) < batch:
            return
        last_id = rows[-1].id
        db.session.expunge_all()  # keep memory flat on big catalogues


def with_dependants(keys: Iterable[DocKey]) -> dict[str, set[int]]:
    """kind -> ids of these documents and of those copying their text (a product's signs
    and brands), what a search engine rewrites when these rows change."""
    by_kind: dict[str, set[int]] = {}
    for key in keys:
        by_kind.setdefault(key.kind, set()).add(key.obj_id)
    for kind, ids in list(by_kind.items()):
        for extra in _dependent_keys(kind, ids):
            by_kind.setdefault(extra.kind, set()).add(extra.obj_id)
    return by_kind


def _dependent_keys(kind: str, ids: set[int]) -> set[DocKey]:
    """Documents that copy text from these rows: a product's signs and brands."""
    keys: set[DocKey] = set()
    if kind == "product" and ids:
        keys |= {
            DocKey("sign", i)
            for i in db.session.scalars(select(GISign.id).where(GISign.product_id.in_(ids)))
        }
        keys |= {
            DocKey("brand", i)
            for i in db.session.scalars(
                select(brand_products.c.brand_id).where(brand_products.c.product_id.in_(ids))
            )
        }
    return keys


def place_names() -> list[tuple[str, str]]:
    return [(c.name_zh, c.slug) for c in db.session.scalars(select(County))]


def catalogue_words() -> list[str]:
    """The catalogue's own product, brand, place and enterprise names, for jieba."""
    words: list[str] = []
    for model in (Product, Brand, County, Enterprise):
        words.extend(_strip_demo(n) or "" for n in db.session.scalars(select(model.name_zh)))
    words.extend(db.session.scalars(select(GISign.official_name_zh)))
    words = [w for w in words if w]
    named = db.session.execute(select(Product.name_zh, Product.slug)).all()
    return words + place_prefixes([(_strip_demo(n) or "", slug) for n, slug in named])


def document_words(doc: dict) -> list[str]:
    """The catalogue words (catalogue_words) one document brings: its Chinese name (a
    sign's official name as it stands, other names without the demo marker) and, for a
    product, the place its name starts with. What an engine teaches jieba after an edit,
    instead of the whole catalogue again."""
    name = doc["name_chars"] if doc["kind"] == "sign" else _strip_demo(doc["name_chars"])
    if not name:
        return []
    if doc["kind"] == "product":
        return [name, *place_prefixes([(name, doc["label"]["slug"])])]
    return [name]


def place_prefixes(products: list[tuple[str, str]]) -> list[str]:
    """The place a product's name starts with, read off its slug, where jieba's dictionary
    does not know it: (三门坡荔枝, sanmenpo-lychee) -> 三门坡, (霸王岭山鸡, bawangling-...)
    -> 霸王岭. Without them jieba cuts the place 三门坡镇 into 三门 / 坡镇. Places jieba's
    own dictionary has are left out (learning them again would change their frequency)."""
    found = []
    for name, slug in products:
        name, place = text.normalize(name).strip(), slug.split("-", 1)[0]
        for cut in range(2, min(5, len(name))):
            prefix = name[:cut]
            if "".join(text.syllables(prefix)) == place and all(map(text.is_cjk, prefix)):
                if not text.in_dictionary(prefix):
                    found.append(prefix)
                break
    return list(dict.fromkeys(found))


# --- what a result line shows ----------------------------------------------------------

# The description a result's snippet is cut from, per kind (app/search/lines.py picks the
# page's language); loaded in both languages with the rows.
SNIPPET_FIELDS = {
    "product": ("summary", "description", "characteristics"),
    "brand": ("holder", "description"),
    "enterprise": ("address", "description"),
    "sign": ("holder", "protected_area", "issuing_body"),
    "county": ("full_name",),
}
# The name a result line shows, per kind (a sign: its official name).
TITLE_FIELDS = {"sign": "official_name"}


class DisplayRow(Bilingual):
    """The columns of a row a result line shows, by the model's own attribute names
    (name_zh, slug, text('name', lang)...), without the ORM's identity map and relationship
    loading: a hit's related rows are DisplayRows too (a product's `counties`, an
    enterprise's `county`, a sign's `product` with its slug)."""

    def __init__(self, **columns: Any) -> None:
        self.__dict__.update(columns)

    def __getattr__(self, name: str) -> Any:  # the columns set in __init__, for mypy
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"<DisplayRow {self.__dict__.get('slug') or self.__dict__.get('id')}>"


def _bilingual(model: Any, *fields: str) -> list:
    return [getattr(model, f"{field}_{lang}") for field in fields for lang in ("zh", "en")]


def _shown_columns(kind: str) -> list:
    """The row's own columns a result line reads: id, names, slug, snippet text."""
    model: Any = MODELS[kind]
    title = TITLE_FIELDS.get(kind, "name")
    columns = [model.id, *_bilingual(model, title, *SNIPPET_FIELDS[kind])]
    if kind == "sign":
        return [*columns, GISign.product_id, GISign.regime, GISign.number, Product.slug]
    return [*columns, model.slug]


def _place_columns() -> list:
    """A joined county's columns, labelled apart from the row's own."""
    return [
        County.slug.label("place_slug"),
        County.name_zh.label("county_name_zh"),
        County.name_en.label("county_name_en"),
    ]


@functools.cache
def _display_statement(kind: str) -> Select:
    """One statement per kind for a list of ids (`ids`, expanding), built once: published
    rows with what their result lines read (a product's counties as one joined row each)."""
    model: Any = MODELS[kind]
    ids: Any = bindparam("ids", expanding=True)
    if kind == "sign":
        return (
            select(*_shown_columns(kind))
            .join(Product, Product.id == GISign.product_id)
            .where(GISign.id.in_(ids), GISign.status == PUBLISHED, Product.status == PUBLISHED)
        )
    if kind == "county":  # every county is shown
        return select(*_shown_columns(kind)).where(County.id.in_(ids))
    stmt = select(*_shown_columns(kind)).where(model.id.in_(ids), model.status == PUBLISHED)
    if kind == "product":
        places = product_counties
        return (
            stmt.add_columns(*_place_columns())
            .outerjoin(places, places.c.product_id == Product.id)
            .outerjoin(County, County.id == places.c.county_id)
            .order_by(Product.id, County.sort_order)
        )
    if kind == "enterprise":
        return stmt.add_columns(*_place_columns()).join(County, County.id == Enterprise.county_id)
    return stmt


def _display_rows(kind: str, ids: list[int]) -> dict[int, DisplayRow]:
    """id -> DisplayRow of the published rows of one kind among `ids` (one statement)."""
    found: dict[int, DisplayRow] = {}
    for row in db.session.execute(_display_statement(kind), {"ids": ids}).mappings():
        columns = dict(row)
        place = _place(columns)
        shown = found.get(columns["id"])
        if shown is None:
            if kind == "sign":
                columns["product"] = DisplayRow(id=columns["product_id"], slug=columns.pop("slug"))
            elif kind == "product":
                columns["counties"] = []
            elif kind == "enterprise":
                columns["county"] = place
            shown = found[columns["id"]] = DisplayRow(**columns)
        if kind == "product" and place is not None:
            shown.counties.append(place)
    return found


def _place(columns: dict) -> DisplayRow | None:
    """The joined county of a row's columns (taken out of them), None when none joined."""
    slug = columns.pop("place_slug", None)
    if "county_name_zh" not in columns:
        return None
    name_zh, name_en = columns.pop("county_name_zh"), columns.pop("county_name_en")
    return DisplayRow(slug=slug, name_zh=name_zh, name_en=name_en) if slug else None


def load_in_order(keys: list[DocKey]) -> list[tuple[DocKey, DisplayRow]]:
    """DisplayRows for ranked keys, in rank order; anything no longer published is dropped.
    One statement per kind among the keys, nothing per hit (tests/test_search_speed.py)."""
    by_kind: dict[str, list[int]] = {}
    for key in keys:
        by_kind.setdefault(key.kind, []).append(key.obj_id)
    found: dict[DocKey, DisplayRow] = {}
    for kind, ids in by_kind.items():
        for obj_id, row in _display_rows(kind, ids).items():
            found[DocKey(kind, obj_id)] = row
    return [(key, found[key]) for key in keys if key in found]
