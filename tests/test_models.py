"""Model rules: credit codes, partial dates, seasons, bilingual fallback, authorization
status, optimistic locking."""

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from app.db import db
from app.models import Authorization, AuthorizationStatus, Enterprise, PartialDate, Product
from app.models.enterprises import credit_code_check_char, is_valid_credit_code
from app.models.products import months_to_mask

# A real published code (Alibaba (China) Co., Ltd.), checked by hand against GB 32100.
KNOWN_GOOD = "91330100799655058B"


def test_credit_code_check_character_accepts_known_good_code():
    assert credit_code_check_char(KNOWN_GOOD[:17]) == "B"
    assert is_valid_credit_code(KNOWN_GOOD)
    assert is_valid_credit_code(KNOWN_GOOD.lower())


@pytest.mark.parametrize(
    "code",
    [
        "91330100799655058C",  # wrong check character
        "91330100799655058",  # too short
        "91330100799655058BB",  # too long
        "91330100799655O58B",  # letter O is not in the alphabet
        "",
    ],
)
def test_credit_code_rejects_bad_codes(code):
    assert not is_valid_credit_code(code)


def test_enterprise_refuses_invalid_credit_code(app):
    with pytest.raises(ValueError, match="credit code"):
        Enterprise(slug="x", name_zh="某公司", credit_code="91330100799655058C", county_id=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2007", (2007, None, None)), ("2007-12", (2007, 12, None)), ("2007-12-26", (2007, 12, 26))],
)
def test_partial_date_parses_year_month_day(text, expected):
    parsed = PartialDate.parse(text)
    assert (parsed.year, parsed.month, parsed.day) == expected
    assert parsed.isoformat() == text


@pytest.mark.parametrize("text", ["2007-13", "2019-02-30", "07", "2007/12/01", "≤2016"])
def test_partial_date_rejects_impossible_dates(text):
    with pytest.raises(ValueError):
        PartialDate.parse(text)


def test_partial_date_unknown_and_ordering():
    assert not PartialDate.parse("").known
    assert PartialDate.parse("2007").sort_key() < PartialDate.parse("2007-01").sort_key()


def test_partial_date_round_trips_through_the_database(app_ctx):
    from app.models import GISign

    sign = db.session.scalars(select(GISign).where(GISign.approval_month.is_(None))).first()
    sign.approval_date = PartialDate(2011)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(GISign, sign.id).approval_date == PartialDate(2011, None, None)


def test_season_mask_round_trip():
    product = Product(slug="p", name_zh="产品")
    product.season_months = [12, 1, 6]
    assert product.season_months == [1, 6, 12]
    assert product.in_season(6) and not product.in_season(7)
    with pytest.raises(ValueError):
        months_to_mask([13])


def test_english_falls_back_to_chinese_and_says_so():
    product = Product(
        slug="p", name_zh="牛大力", name_en=None, description_zh="根", description_en=""
    )
    assert product.localized("description", "en") == ("根", True)
    assert product.localized("description", "zh") == ("根", False)
    product.description_en = "Root"
    assert product.localized("description", "en") == ("Root", False)


def test_authorization_past_its_end_date_is_expired():
    auth = Authorization(auth_status=AuthorizationStatus.VALID, valid_to=date(2024, 1, 1))
    assert auth.effective_status(date(2024, 1, 1)) == AuthorizationStatus.VALID
    assert auth.effective_status(date(2024, 1, 2)) == AuthorizationStatus.EXPIRED
    revoked = Authorization(auth_status=AuthorizationStatus.REVOKED, valid_to=date(2030, 1, 1))
    assert revoked.effective_status(date(2024, 1, 2)) == AuthorizationStatus.REVOKED


def test_saving_over_a_newer_version_is_refused(app_ctx):
    """Optimistic locking: an UPDATE carrying a stale version changes nothing."""
    product = db.session.scalars(select(Product).order_by(Product.id)).first()
    loaded_version = product.version
    # Another editor saves first.
    other = db.engine.connect()
    other.execute(
        Product.__table__.update()
        .where(Product.id == product.id)
        .values(version=loaded_version + 1, summary_zh="另一位编辑的修改")
    )
    other.commit()
    other.close()
    product.summary_zh = "我的修改"
    with pytest.raises(StaleDataError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Product, product.id).summary_zh == "另一位编辑的修改"


def test_version_increments_on_update(app_ctx):
    product = db.session.scalars(select(Product).order_by(Product.id)).first()
    before = product.version
    product.summary_zh = product.summary_zh + "。"
    db.session.commit()
    assert product.version == before + 1


@pytest.mark.parametrize("compare_type", [False, True])
def test_migrations_build_exactly_the_schema_the_models_declare(app_ctx, compare_type):
    """Autogenerate against the migrated test database finds nothing to do: the shared
    declarations (the Slugged mixin, link_table) make the columns, keys and indexes the
    migrations made, with the same types."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.search.postgresql import autogenerate_includes

    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": compare_type, "include_object": autogenerate_includes},
        )
        assert compare_metadata(context, db.metadata) == []
