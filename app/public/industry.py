"""Industry facts as the public reads them: one column per measure, each with one unit named
in its header, numbers formatted for the reader's language, and a small trend where there
are several years.

The unit table (MEASURES) is the one place a measure's label and units are declared. Chinese
readers get 万/亿 scaled columns (亩, 头/只, 吨, 元); English readers full figures with
thousands separators (mu, head, t, CNY). Formatting is Babel's (babel.numbers)."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_decimal
from flask_babel import lazy_gettext as _l

from app.models.industry import IndustryFact


@dataclass(frozen=True)
class Measure:
    field: str  # IndustryFact attribute
    label: str  # lazy gettext
    unit_zh: str  # "" for a plain count
    unit_en: str
    factor: int = 1  # stored value x factor = value in the unit (output value is in 10k CNY)


MEASURES: tuple[Measure, ...] = (
    Measure("planted_area_mu", _l("Planted area"), "亩", "mu"),
    Measure("herd_size", _l("Herd size"), "头/只", "head"),
    Measure("output_tonnes", _l("Output"), "吨", "t"),
    Measure("output_value_cny_10k", _l("Output value"), "元", "CNY", factor=10_000),
    Measure("employment", _l("Employment"), "人", ""),
    Measure("enterprises_count", _l("Enterprises"), "家", ""),
)

# Chinese groups large numbers by 10^4: a column whose largest figure reaches 亿 (10^8) or 万
# (10^4) is shown in that unit, so 340000 万元 reads 34 亿元, not 3,400,000,000 元.
ZH_SCALES: tuple[tuple[int, str], ...] = ((100_000_000, "亿"), (10_000, "万"), (1, ""))
# The trend chart draws the first of these the product has for two years or more.
TREND_ORDER = ("output_value_cny_10k", "output_tonnes", "planted_area_mu", "herd_size")
NUMBER_FORMAT = "#,##0.##"


@dataclass(frozen=True)
class Column:
    measure: Measure
    header: str  # "Output value (CNY)", "产值（亿元）"
    divisor: int  # value in the unit / divisor = the figure shown

    def cell(self, fact: IndustryFact, lang: str) -> str:
        value = getattr(fact, self.measure.field)
        if value is None:
            return "–"
        return format_figure(Decimal(value) * self.measure.factor / self.divisor, lang)


@dataclass(frozen=True)
class TrendPoint:
    x: float
    y: float
    year: int
    label: str


@dataclass(frozen=True)
class Trend:
    """A line over the years in a width x height box (SVG user units)."""

    title: str  # the column header: what and in which unit
    points: list[TrendPoint]
    width: int = 320
    height: int = 120
    top: int = 22
    bottom: int = 96

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class IndustryTable:
    columns: list[Column]
    facts: list[IndustryFact]  # oldest year first
    trend: Trend | None

    def cells(self, fact: IndustryFact, lang: str) -> list[tuple[str, str]]:
        """(column header, figure) for each column of one year's row."""
        return [(column.header, column.cell(fact, lang)) for column in self.columns]


def format_figure(value: Decimal | int, lang: str) -> str:
    """A figure in the reader's language: '340,000', '2.5' (at most two decimals)."""
    return format_decimal(
        value, format=NUMBER_FORMAT, locale="zh_Hans_CN" if lang == "zh" else "en"
    )


def column_for(measure: Measure, largest: Decimal, lang: str) -> Column:
    """The column of `measure` whose largest figure (in the unit) is `largest`."""
    if lang == "zh":
        divisor, prefix = next((d, p) for d, p in ZH_SCALES if largest >= d or d == 1)
        unit = f"{prefix}{measure.unit_zh}"
        header = f"{measure.label}（{unit}）" if unit else str(measure.label)
    else:
        divisor, unit = 1, measure.unit_en
        header = f"{measure.label} ({unit})" if unit else str(measure.label)
    return Column(measure, header, divisor)


def industry_table(facts: Sequence[IndustryFact], lang: str) -> IndustryTable:
    """The columns the facts have figures for (a measure no year has is left out) and the
    trend of the first TREND_ORDER measure with two years or more."""
    ordered = sorted(facts, key=lambda f: f.year)
    columns = []
    for measure in MEASURES:
        values = [getattr(f, measure.field) for f in ordered]
        known = [Decimal(v) * measure.factor for v in values if v is not None]
        if known:
            columns.append(column_for(measure, max(known), lang))
    return IndustryTable(columns, ordered, _trend(ordered, columns, lang))


def _trend(facts: list[IndustryFact], columns: list[Column], lang: str) -> Trend | None:
    by_field = {c.measure.field: c for c in columns}
    for field in TREND_ORDER:
        column = by_field.get(field)
        years = [f for f in facts if getattr(f, field) is not None] if column else []
        if column and len(years) >= 2:
            return _draw(column, years, lang)
    return None


def _draw(column: Column, facts: list[IndustryFact], lang: str) -> Trend:
    shape = Trend(column.header, [])
    values = [Decimal(getattr(f, column.measure.field)) for f in facts]
    low, high = min(values), max(values)
    # A flat line sits mid-height; otherwise the range fills the box (a trend, not a scale).
    spread = (high - low) or 1
    left, right = 8, shape.width - 8
    step = (right - left) / (len(facts) - 1)
    points = [
        TrendPoint(
            left + i * step,
            float(shape.bottom - (shape.bottom - shape.top) * ((v - low) / spread))
            if high != low
            else (shape.top + shape.bottom) / 2,
            fact.year,
            column.cell(fact, lang),
        )
        for i, (fact, v) in enumerate(zip(facts, values, strict=True))
    ]
    return Trend(column.header, points)
