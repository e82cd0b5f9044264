"""Load seed/ into the database idempotently: every record is found by its natural key and
only fields that differ are written, so a second run changes nothing (not even versions)."""

import csv
import json
import re
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import TypeVar

import yaml
from sqlalchemy import select

from app.db import Model, db
from app.media.illustrations import illustration_for
from app.models.brands import Brand
from app.models.enterprises import Authorization, Enterprise
from app.models.expos import Booth, ExpoEvent
from app.models.industry import IndustryFact
from app.models.listing import PublicationStatus
from app.models.partial_date import PartialDate
from app.models.places import County, Province
from app.models.products import GENUINE_CUES, Category, Product, months_to_mask
from app.models.signs import GISign, ProtectionAbroad

PUBLISHED = PublicationStatus.PUBLISHED
# How the data files name a sign: (product slug, regime, number); (slug, regime, None) names
# the product's first sign under that regime.
SignKey = tuple[str, str, str | None]
M = TypeVar("M", bound=Model)


def county_slug(name_en: str) -> str:
    """'Ding'an' -> 'dingan': the short pinyin name, lower case, no punctuation."""
    return re.sub(r"[^a-z0-9]", "", name_en.lower())


def _assign(obj, values: dict) -> None:
    for field, value in values.items():
        if getattr(obj, field) != value:
            setattr(obj, field, value)


def _assign_list(obj, field: str, items: list) -> None:
    if {i.id for i in getattr(obj, field)} != {i.id for i in items} or any(
        i.id is None for i in items
    ):
        setattr(obj, field, items)


def upsert(model: type[M], key: dict, values: dict) -> M:
    obj = db.session.scalar(select(model).filter_by(**key))
    if obj is None:
        obj = model(**key)
        db.session.add(obj)
    _assign(obj, values)
    return obj


class SeedLoader:
    def __init__(self, seed_dir: Path, media_root: Path, progress: Callable = iter) -> None:
        self.seed_dir = seed_dir
        self.media_root = media_root
        self.progress = progress
        self.counties: dict[str, County] = {}
        self.products: dict[str, Product] = {}
        self.enterprises: dict[str, Enterprise] = {}

    def yaml(self, name: str):
        with open(self.seed_dir / name, encoding="utf-8") as handle:
            return yaml.safe_load(handle)

    def run(self) -> dict[str, int]:
        province = self.load_province()
        self.load_counties(province)
        categories = self.load_categories()
        self.load_products(categories)
        signs = self.load_signs()
        demo = self.yaml("demo.yaml")
        self.load_enterprises(demo["enterprises"])
        self.load_brands(demo["brands"])
        self.load_authorizations(demo["authorizations"], signs)
        self.load_industry_facts(demo["industry_facts"])
        self.load_expos(demo.get("expos") or [])
        self.load_genuine_cues(demo.get("genuine_cues") or [])
        self.load_synonyms()
        db.session.flush()
        return {
            "counties": len(self.counties),
            "products": len(self.products),
            "signs": len(set(signs.values())),
            "enterprises": len(self.enterprises),
        }

    def load_synonyms(self) -> None:
        """Search synonym groups (seed/synonyms.yaml), kept when already present."""
        from app.services.synonyms import seed_groups

        if (self.seed_dir / "synonyms.yaml").exists():
            seed_groups(self.yaml("synonyms.yaml") or [])

    # --- places -------------------------------------------------------------------------

    def load_province(self) -> Province:
        data = self.yaml("province.yaml")
        shapes = json.loads((self.seed_dir / "county_shapes.json").read_text(encoding="utf-8"))
        self.shapes = shapes["counties"]
        inset = shapes.get("inset") or {}
        return upsert(
            Province,
            {"code": str(data["code"])},
            {
                "slug": data["slug"],
                "name_zh": data["name_zh"],
                "name_en": data["name_en"],
                "map_view_box": shapes["viewBox"],
                "map_inset_path": inset.get("path"),
                "map_attribution": shapes.get("attribution"),
            },
        )

    def load_counties(self, province: Province) -> None:
        with open(self.seed_dir / "counties.tsv", encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        db.session.flush()
        for order, row in enumerate(rows):
            shape = self.shapes.get(row["code"], {})
            label = shape.get("label") or [None, None]
            county = upsert(
                County,
                {"code": row["code"]},
                {
                    "province_id": province.id,
                    "slug": county_slug(row["name_en"]),
                    "name_zh": row["name_zh"],
                    "name_en": row["name_en"],
                    "full_name_zh": row["name_zh"],
                    "full_name_en": row["name_en_full"],
                    "kind": row["kind"],
                    "seat_lat": float(row["seat_lat"]),
                    "seat_lon": float(row["seat_lon"]),
                    "map_path": shape.get("d"),
                    "map_label_x": label[0],
                    "map_label_y": label[1],
                    "sort_order": order,
                },
            )
            self.counties[county.slug] = county
        db.session.flush()

    def county_list(self, slugs: Iterable[str]) -> list[County]:
        return [self.counties[slug] for slug in slugs or []]

    # --- products and signs -------------------------------------------------------------

    def load_categories(self) -> dict[str, Category]:
        categories = {}
        for order, row in enumerate(self.yaml("categories.yaml")):
            categories[row["slug"]] = upsert(
                Category,
                {"slug": row["slug"]},
                {
                    "name_zh": row["name_zh"],
                    "name_en": row["name_en"],
                    "sort_order": order,
                    "illustration": _illustration(row),
                },
            )
        db.session.flush()
        return categories

    def load_products(self, categories: dict[str, Category]) -> None:
        for row in self.progress(self.yaml("products.yaml")):
            product = upsert(
                Product,
                {"slug": row["slug"]},
                {
                    "name_zh": row["name_zh"],
                    "name_en": row.get("name_en"),
                    "category_id": categories[row["category"]].id,
                    "province_wide": bool(row.get("province_wide")),
                    "summary_zh": row.get("summary_zh") or "",
                    "summary_en": row.get("summary_en") or None,
                    "description_zh": row.get("description_zh") or "",
                    "description_en": row.get("description_en") or None,
                    "characteristics_zh": row.get("characteristics_zh") or "",
                    "characteristics_en": row.get("characteristics_en") or None,
                    "season_mask": months_to_mask(row.get("season") or []),
                    "featured": bool(row.get("featured")),
                    "illustration": _illustration(row),
                    "status": PUBLISHED,
                },
            )
            _assign_list(product, "counties", self.county_list(row.get("counties")))
            self.products[product.slug] = product
        db.session.flush()

    def load_signs(self) -> dict[SignKey, GISign]:
        signs: dict[SignKey, GISign] = {}
        for row in self.yaml("signs.yaml"):
            product = self.products[row["product"]]
            nice = ",".join(str(c) for c in row.get("nice_classes") or []) or None
            sign = upsert(
                GISign,
                {
                    "product_id": product.id,
                    "regime": row["regime"],
                    "number": row.get("number"),
                    "nice_classes": nice,
                },
                {
                    "official_name_zh": row["official_name"],
                    "official_name_en": product.name_en,
                    "approval_date": PartialDate.parse(row.get("approval_date")),
                    "approval_note": row.get("approval_note"),
                    "issuing_body_zh": row.get("issuing_body_zh"),
                    "issuing_body_en": row.get("issuing_body_en"),
                    "holder_zh": row.get("holder"),
                    **_protected_area(row.get("protected_area")),
                    "standard": row.get("standard"),
                    "sign_status": row.get("status") or "valid",
                    "source": row.get("source"),
                    "source_url": row.get("source_url") or public_source_url(row.get("source")),
                    "notes": row.get("notes"),
                    "verified": bool(row.get("verified")),
                    "status": PUBLISHED,
                },
            )
            _assign_list(
                sign,
                "protected_counties",
                self.county_list(row.get("protected_counties")) or list(product.counties),
            )
            self.load_protections_abroad(sign, row.get("protections_abroad") or [])
            signs[(row["product"], row["regime"], row.get("number"))] = sign
            signs.setdefault((row["product"], row["regime"], None), sign)
        db.session.flush()
        return signs

    def load_protections_abroad(self, sign: GISign, rows: list[dict]) -> None:
        """A sign's protection abroad, keyed by jurisdiction; each row needs its source."""
        if not rows:
            return
        db.session.flush()
        for row in rows:
            upsert(
                ProtectionAbroad,
                {"sign_id": sign.id, "jurisdiction": row["jurisdiction"]},
                {
                    "basis_zh": row["basis_zh"],
                    "basis_en": row.get("basis_en"),
                    "protected_from": _date(row.get("protected_from")),
                    "source_url": row["source_url"],
                },
            )

    # --- demo enterprises, brands, authorizations, industry ------------------------------

    def load_enterprises(self, rows: list[dict]) -> None:
        for row in rows:
            enterprise = upsert(
                Enterprise,
                {"slug": row["slug"]},
                {
                    "name_zh": row["name_zh"],
                    "name_en": row.get("name_en"),
                    "credit_code": row["credit_code"],
                    "county_id": self.counties[row["county"]].id,
                    "address_zh": row.get("address_zh"),
                    "address_en": row.get("address_en"),
                    "phone": row.get("phone"),
                    "website": row.get("website"),
                    "description_zh": row.get("description_zh"),
                    "description_en": row.get("description_en"),
                    "is_demo": bool(row.get("demo")),
                    "status": PUBLISHED,
                },
            )
            self.enterprises[enterprise.slug] = enterprise
        db.session.flush()

    def load_brands(self, rows: list[dict]) -> None:
        for row in rows:
            owner = self.enterprises.get(row.get("owner") or "")
            brand = upsert(
                Brand,
                {"slug": row["slug"]},
                {
                    "name_zh": row["name_zh"],
                    "name_en": row.get("name_en"),
                    "registration_number": row.get("registration_number"),
                    "nice_class": row.get("nice_class"),
                    "kind": row["kind"],
                    "owner_id": owner.id if owner else None,
                    "holder_zh": row.get("holder_zh"),
                    "holder_en": row.get("holder_en"),
                    "description_zh": row.get("description_zh"),
                    "description_en": row.get("description_en"),
                    "is_demo": bool(row.get("demo")),
                    "status": PUBLISHED,
                },
            )
            _assign_list(brand, "products", [self.products[s] for s in row.get("products", [])])
        db.session.flush()

    def load_authorizations(self, rows: list[dict], signs: dict[SignKey, GISign]) -> None:
        for row in rows:
            upsert(
                Authorization,
                {"number": row["number"]},
                {
                    "enterprise_id": self.enterprises[row["enterprise"]].id,
                    "sign_id": signs[
                        (row["product"], row["sign_regime"], row.get("sign_number"))
                    ].id,
                    "valid_from": _date(row.get("valid_from")),
                    "valid_to": _date(row.get("valid_to")),
                    "auth_status": row["status"],
                    "is_demo": bool(row.get("demo")),
                    "status": PUBLISHED,
                },
            )
        db.session.flush()

    def load_industry_facts(self, rows: list[dict]) -> None:
        fields = (
            "planted_area_mu",
            "herd_size",
            "output_tonnes",
            "output_value_cny_10k",
            "employment",
            "enterprises_count",
        )
        for row in rows:
            values = {field: row.get(field) for field in fields}
            for field in ("planted_area_mu", "output_tonnes", "output_value_cny_10k"):
                if values[field] is not None:
                    values[field] = _decimal(values[field])
            values.update(
                source=row["source"],
                source_url=row.get("source_url"),
                is_demo=bool(row.get("demo")),
                status=PUBLISHED,
            )
            upsert(
                IndustryFact,
                {"product_id": self.products[row["product"]].id, "year": int(row["year"])},
                values,
            )
        db.session.flush()

    def load_expos(self, rows: list[dict]) -> None:
        """Demo expos and their booths (natural keys: event slug; event and booth number),
        booths in the file's order as the walking order."""
        for row in rows:
            event = upsert(
                ExpoEvent,
                {"slug": row["slug"]},
                {
                    "name_zh": row["name_zh"],
                    "name_en": row.get("name_en"),
                    "venue_zh": row.get("venue_zh") or "",
                    "venue_en": row.get("venue_en"),
                    "starts_on": _date(row["starts_on"]),
                    "ends_on": _date(row["ends_on"]),
                    "is_demo": bool(row.get("demo")),
                    "published": True,
                },
            )
            db.session.flush()
            for order, booth_row in enumerate(row.get("booths") or []):
                booth = upsert(
                    Booth,
                    {"event_id": event.id, "number": str(booth_row["number"])},
                    {
                        "hall_zh": booth_row.get("hall_zh") or "",
                        "hall_en": booth_row.get("hall_en"),
                        "sort_order": order,
                    },
                )
                _assign_list(booth, "products", [self.products[s] for s in booth_row["products"]])
                _assign_list(
                    booth,
                    "enterprises",
                    [self.enterprises[s] for s in booth_row.get("enterprises") or []],
                )
        db.session.flush()

    def load_genuine_cues(self, rows: list[dict]) -> None:
        """The cues of demo.yaml onto their products (cue_<name>_zh/_en, cues_demo)."""
        for row in rows:
            values: dict[str, object] = {"cues_demo": bool(row.get("demo"))}
            for cue in GENUINE_CUES:
                name = cue.removeprefix("cue_")
                values[f"{cue}_zh"] = row.get(f"{name}_zh")
                values[f"{cue}_en"] = row.get(f"{name}_en")
            _assign(self.products[row["product"]], values)
        db.session.flush()


def _illustration(row: dict) -> str | None:
    """The row's illustration key, refused at seed time when the registry lacks it."""
    key = row.get("illustration")
    if key is not None and illustration_for(key) is None:
        raise ValueError(f"{row['slug']}: unknown illustration {key!r}")
    return key


_WEB_ADDRESS = re.compile(r"https?://[^\s;]+")


def public_source_url(sources: str | None) -> str | None:
    """The one link the public register shows, out of a sign's research trail.

    sources: the TSV source column verbatim, "url ; url ; url" (gi_products.tsv). Only an
    official source (a host under .gov.cn: CNIPA, SAMR, the ministry of agriculture) is
    shown to the public as the announcement or official list; the rest of the trail is
    mostly pages copied onto commercial sites, kept for officials in `source`. None when
    the trail holds no official address."""
    found = _WEB_ADDRESS.findall(sources or "")
    official = [url for url in found if _host(url).endswith(".gov.cn")]
    return official[0] if official else None


def _host(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0].lower()


def _protected_area(text: str | None) -> dict:
    """'兴隆华侨农场 (Xinglong farm)' -> Chinese and English parts."""
    if not text:
        return {"protected_area_zh": None, "protected_area_en": None}
    match = re.match(r"^(.*?)\s*\(([^()]*[A-Za-z][^()]*)\)$", text.strip())
    if match:
        return {"protected_area_zh": match.group(1), "protected_area_en": match.group(2)}
    return {"protected_area_zh": text.strip(), "protected_area_en": None}


def _date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _decimal(value):
    from decimal import Decimal

    return Decimal(str(value))
