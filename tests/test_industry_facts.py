"""Industry figures as the public reads them (app/public/industry.py): one unit per column
named in its header, 万/亿 in Chinese and thousands separators in English, the source as a
link, and a trend chart only where there are two years or more."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.db import db
from app.models import IndustryFact, Product
from app.public.industry import MEASURES, column_for, industry_table

MEASURE = {m.field: m for m in MEASURES}


def fact(year=2024, **figures):
    blank = {m.field: None for m in MEASURES}
    return SimpleNamespace(year=year, **(blank | figures))


# (language, measure, stored value, header, cell)
FORMATS = [
    ("zh", "output_value_cny_10k", 340000, "产值（亿元）", "34"),
    ("zh", "output_value_cny_10k", 3000, "产值（万元）", "3,000"),
    ("zh", "output_value_cny_10k", Decimal("0.5"), "产值（元）", "5,000"),
    ("zh", "planted_area_mu", 210000, "种植面积（万亩）", "21"),
    ("zh", "planted_area_mu", 800, "种植面积（亩）", "800"),
    ("zh", "herd_size", 13000000, "存栏量（万头/只）", "1,300"),
    ("zh", "herd_size", 250000000, "存栏量（亿头/只）", "2.5"),
    ("zh", "output_tonnes", Decimal("550.5"), "产量（吨）", "550.5"),
    ("zh", "output_tonnes", 270000, "产量（万吨）", "27"),
    ("zh", "employment", 22000, "从业人数（万人）", "2.2"),
    ("zh", "enterprises_count", 130, "企业（家）", "130"),
    ("en", "output_value_cny_10k", 340000, "Output value (CNY)", "3,400,000,000"),
    ("en", "output_value_cny_10k", Decimal("0.5"), "Output value (CNY)", "5,000"),
    ("en", "planted_area_mu", 210000, "Planted area (mu)", "210,000"),
    ("en", "herd_size", 13000000, "Herd size (head)", "13,000,000"),
    ("en", "output_tonnes", Decimal("850.25"), "Output (t)", "850.25"),
    ("en", "employment", 900, "Employment", "900"),
    ("en", "enterprises_count", 130, "Enterprises", "130"),
]


@pytest.mark.parametrize(("lang", "field", "stored", "header", "cell"), FORMATS)
def test_figures_are_formatted_for_the_language_with_the_unit_in_the_header(
    app, lang, field, stored, header, cell
):
    measure = MEASURE[field]
    with app.test_request_context(f"/?lang={lang}"):
        column = column_for(measure, Decimal(stored) * measure.factor, lang)
        assert column.header == header
        assert column.cell(fact(**{field: stored}), lang) == cell


def test_a_column_has_one_unit_chosen_by_its_largest_figure(app):
    facts = [fact(2023, planted_area_mu=9000), fact(2024, planted_area_mu=12000)]
    with app.test_request_context("/?lang=zh"):
        table = industry_table(facts, "zh")
    (column,) = table.columns  # measures no year has are left out
    assert column.header == "种植面积（万亩）"
    assert [c for f in table.facts for _, c in table.cells(f, "zh")] == ["0.9", "1.2"]


@pytest.mark.parametrize(("years", "drawn"), [(0, 0), (1, 0), (2, 2), (3, 3)])
def test_the_trend_chart_needs_two_years(app, years, drawn):
    facts = [fact(2020 + i, output_tonnes=100 + 10 * i) for i in range(years)]
    with app.test_request_context("/?lang=en"):
        table = industry_table(list(reversed(facts)), "en")
    if drawn:
        assert table.trend is not None and len(table.trend.points) == drawn
        assert [p.year for p in table.trend.points] == [2020 + i for i in range(years)]
        assert table.trend.points[0].y > table.trend.points[-1].y  # growth goes up the box
    else:
        assert table.trend is None


def test_product_page_shows_units_source_link_and_trend(app, client):
    html = client.get("/products/wenchang-chicken?lang=zh").get_data(as_text=True)
    assert "存栏量（万头/只）" in html and "1,300" in html and "产值（亿元）" in html
    assert 'class="chart trend"' in html and "历年产值（亿元）" in html
    assert 'class="stacked industry"' in html and 'data-label="产量（万吨）"' in html
    english = client.get("/products/wenchang-chicken?lang=en").get_data(as_text=True)
    assert "Output value (CNY)" in english and "3,400,000,000" in english
    with app.app_context():
        chicken = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
        latest = db.session.scalar(
            select(IndustryFact).where(IndustryFact.product == chicken, IndustryFact.year == 2024)
        )
        latest.source_url = "https://tjj.hainan.gov.cn/example"
        db.session.commit()
    html = client.get("/products/wenchang-chicken?lang=en").get_data(as_text=True)
    assert '<a href="https://tjj.hainan.gov.cn/example" rel="nofollow">' in html


def test_a_single_year_has_no_chart(app, client):
    with app.app_context():
        tea = db.session.scalar(select(Product).where(Product.slug == "wuzhishan-black-tea"))
        db.session.delete(
            db.session.scalar(
                select(IndustryFact).where(IndustryFact.product == tea, IndustryFact.year == 2023)
            )
        )
        db.session.commit()
    html = client.get("/products/wuzhishan-black-tea?lang=en").get_data(as_text=True)
    assert "Planted area (mu)" in html and 'class="chart trend"' not in html
