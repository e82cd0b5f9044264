"""The seed: real facts from shared data, merged per product, idempotent, nothing invented."""

import csv
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from app.caching.store import read_generation
from app.db import db
from app.media.illustrations import ILLUSTRATIONS, illustration_for
from app.models.brands import Brand
from app.models.enterprises import Authorization, Enterprise, is_valid_credit_code
from app.models.industry import IndustryFact
from app.models.media import ProductImage
from app.models.places import County
from app.models.products import Product
from app.models.signs import GISign, Regime
from app.services.seed import _illustration

# Most tests here call services or db.session themselves (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("app_ctx")


SEED = Path(__file__).resolve().parents[1] / "seed"


def snapshot() -> dict:
    """Every seeded table as comparable rows, versions and timestamps included."""
    tables = (County, Product, GISign, Brand, Enterprise, Authorization, IndustryFact, ProductImage)
    result = {}
    for model in tables:
        rows = db.session.execute(select(model.__table__).order_by(model.__table__.c.id)).all()
        result[model.__tablename__] = [tuple(row) for row in rows]
    return result


def test_seed_twice_changes_nothing(app, runner):
    before = snapshot()
    generation = read_generation()
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert snapshot() == before
    assert read_generation() == generation


def test_seed_if_empty_skips_a_filled_catalogue(runner):
    result = runner.invoke(args=["seed", "--if-empty"])
    assert result.exit_code == 0 and "skipped" in result.output


def test_nineteen_counties_with_map_shapes(app):
    counties = db.session.scalars(select(County)).all()
    assert len(counties) == 19
    assert all(c.map_path and c.map_path.startswith("M") for c in counties)
    assert {c.slug for c in counties} >= {"wenchang", "dingan", "sansha", "qiongzhong"}


def test_every_registration_row_becomes_one_sign_and_products_are_merged(app):
    with open(SEED / "counties.tsv", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle, delimiter="\t"))) == 19
    signs = yaml.safe_load((SEED / "signs.yaml").read_text(encoding="utf-8"))
    assert db.session.scalar(select(func.count(GISign.id))) == len(signs) >= 63
    mango = db.session.scalar(select(Product).where(Product.name_zh == "三亚芒果"))
    assert {s.regime for s in mango.signs} == set(Regime)
    assert db.session.scalar(select(func.count(Product.id))) < len(signs)


def test_likely_rows_are_unverified(app):
    signs = yaml.safe_load((SEED / "signs.yaml").read_text(encoding="utf-8"))
    unverified = sum(1 for s in signs if not s["verified"])
    assert unverified > 0
    assert (
        db.session.scalar(select(func.count(GISign.id)).where(GISign.verified.is_(False)))
        == unverified
    )


def test_no_announcement_number_is_invented(app):
    """Every sign number must appear verbatim in the shared source row it came from."""
    shared = SEED.parent.parent / "shared" / "data" / "hainan" / "gi_products.tsv"
    source_text = shared.read_text(encoding="utf-8") if shared.exists() else None
    for sign in db.session.scalars(select(GISign).where(GISign.number.is_not(None))):
        assert sign.number in (sign.notes or ""), sign.number
        if source_text is not None:
            assert sign.number in source_text, sign.number


def test_demo_records_are_marked_and_credit_codes_valid(app):
    enterprises = db.session.scalars(select(Enterprise)).all()
    assert enterprises and all(e.is_demo for e in enterprises)
    assert all(is_valid_credit_code(e.credit_code) for e in enterprises)
    assert all(b.is_demo for b in db.session.scalars(select(Brand)))
    assert all(a.is_demo for a in db.session.scalars(select(Authorization)))
    demo_file = (SEED / "demo.yaml").read_text(encoding="utf-8")
    assert "DEMO DATA" in demo_file


def test_every_seeded_product_has_an_illustration_on_disk_and_no_generated_picture(app):
    static = Path(app.static_folder)
    products = db.session.scalars(select(Product)).all()
    assert products
    for product in products:
        art = illustration_for(product.illustration_key)
        assert art is not None, product.slug
        assert (static / art.static_path).is_file(), art.static_path
    assert db.session.scalar(select(func.count()).select_from(ProductImage)) == 0


def test_every_registered_illustration_is_vendored_with_its_licence(app):
    folder = Path(app.static_folder) / "vendor" / "openmoji"
    assert {p.stem for p in folder.glob("*.svg")} == set(ILLUSTRATIONS)
    assert "Attribution-ShareAlike 4.0" in (folder / "LICENSE.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "row",
    [
        {"slug": "x", "illustration": "lychee"},
        {"slug": "x", "illustration": "Chicken"},
        {"slug": "x", "illustration": ""},
    ],
)
def test_seed_refuses_an_unknown_illustration_key(row):
    with pytest.raises(ValueError, match="unknown illustration"):
        _illustration(row)
