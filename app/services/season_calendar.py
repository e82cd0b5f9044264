"""A product's harvest season as iCalendar (RFC 5545) "in season" events.

A product's season is a 12-bit month mask (app/models/products.py, bit 0 = January). Each
contiguous run of months, a run across the new year included (November to February), is
one all-day event per year asked for. The `icalendar` library writes the file: CRLF line
ends, lines folded at 75 octets, text escaped."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from icalendar import Calendar, Event

ALL_MONTHS = 12


@dataclass(frozen=True)
class MonthRun:
    """`length` months from `first` (1-12); may run past December into the next year."""

    first: int
    length: int

    def span(self, year: int) -> tuple[date, date]:
        """(first day, day after the last) of the run starting in `year`, the end exclusive as
        DTEND of an all-day event is (RFC 5545 §3.6.1)."""
        after = self.first - 1 + self.length  # months after January of `year`
        return date(year, self.first, 1), date(year + after // 12, after % 12 + 1, 1)


def month_runs(mask: int) -> list[MonthRun]:
    """The contiguous runs of a month mask, by first month. No months: no runs; all twelve:
    one run from January (a year-round product has no season start of its own)."""
    months = {m for m in range(1, 13) if mask >> (m - 1) & 1}
    if len(months) == ALL_MONTHS:
        return [MonthRun(1, ALL_MONTHS)]
    runs = []
    for month in sorted(months):
        if (month - 2) % 12 + 1 in months:
            continue  # the month before is in season: not where a run starts
        length = 1
        while (month - 1 + length) % 12 + 1 in months:
            length += 1
        runs.append(MonthRun(month, length))
    return runs


@dataclass(frozen=True)
class SeasonEntry:
    """One product in a calendar: `key` (its slug) makes the event UIDs; `summary` and
    `description` are already in the reader's language; `url` is absolute."""

    key: str
    summary: str
    description: str
    url: str
    mask: int


def season_calendar(
    name: str,
    entries: Iterable[SeasonEntry],
    years: Sequence[int],
    stamp: datetime,
    host: str,
) -> bytes:
    """The calendar file: one VEVENT per month run per year of `years`. UIDs are stable
    (`season-<key>-<YYYYMM of the start>@<host>`), so a calendar that subscribes sees the
    same events again; DTSTAMP is `stamp` (aware, when the catalogue last changed)."""
    calendar = Calendar()
    calendar.add("prodid", f"-//{host}//GI season calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for entry in entries:
        for run in month_runs(entry.mask):
            for year in years:
                start, end = run.span(year)
                event = Event()
                event.add("uid", f"season-{entry.key}-{start:%Y%m}@{host}")
                event.add("dtstamp", stamp)
                event.add("dtstart", start)
                event.add("dtend", end)
                event.add("summary", entry.summary)
                event.add("description", entry.description)
                event.add("url", entry.url)
                event.add("transp", "TRANSPARENT")  # a season does not make anyone busy
                calendar.add_component(event)
    return calendar.to_ical()
