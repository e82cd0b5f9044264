"""Geometry for the dashboard's server-side SVG charts (templates/_macros/charts.html draws
them): no JavaScript, no chart library, so they render under the CSP and print as they are."""

from dataclasses import dataclass

# Dark enough for 3:1 against white (WCAG non-text contrast); the data table is the fallback.
PALETTE = ("#0b5394", "#b45f06", "#38761d", "#741b47", "#134f5c", "#7f6000", "#3d3d3d")


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 x 10^k at or above value (at least 1), for round axis ticks."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    value: int


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: list[int]
    points: list[Point]

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    labels: list[str]
    series: list[Series]
    x_ticks: list[Tick]
    y_ticks: list[Tick]


def line_chart(
    labels: list[str],
    series: dict[str, list[int]],
    width: int = 760,
    height: int = 280,
    max_x_ticks: int = 8,
) -> LineChart:
    """One line per series over the categories in `labels` (days, oldest first)."""
    left, top, right, bottom = 48, 12, width - 12, height - 32
    peak = nice_ceiling(max((max(v, default=0) for v in series.values()), default=0))
    span = max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return left + (right - left) * (i / span if len(labels) > 1 else 0.5)

    def y(v: int) -> float:
        return bottom - (bottom - top) * v / peak

    drawn = [
        Series(
            name,
            PALETTE[n % len(PALETTE)],
            values,
            [Point(x(i), y(v), labels[i], v) for i, v in enumerate(values)],
        )
        for n, (name, values) in enumerate(series.items())
    ]
    every = max(1, -(-len(labels) // max_x_ticks))
    x_ticks = [Tick(x(i), labels[i]) for i in range(0, len(labels), every)]
    y_ticks = [Tick(y(peak * k // 4), str(peak * k // 4)) for k in range(5)]
    return LineChart(width, height, left, top, right, bottom, labels, drawn, x_ticks, y_ticks)


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: float
    length: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    right: int
    bar_height: int
    bars: list[Bar]
    peak: int
    colour: str = PALETTE[0]


def bar_chart(
    items: list[tuple[str, int]],
    width: int = 760,
    label_width: int = 300,
    bar_height: int = 22,
    gap: int = 6,
) -> BarChart:
    """Horizontal bars, largest first as given, labels on the left."""
    peak = nice_ceiling(max((v for _, v in items), default=0))
    right = width - 56  # room for the value after the longest bar
    bars = [
        Bar(label, value, 8 + i * (bar_height + gap), (right - label_width) * value / peak)
        for i, (label, value) in enumerate(items)
    ]
    height = 16 + len(items) * (bar_height + gap)
    return BarChart(width, height, label_width, right, bar_height, bars, peak)
