"""Dates known only to the year or month, as registration dates often are."""

import calendar
import re
from dataclasses import dataclass

_PATTERN = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


@dataclass(frozen=True)
class PartialDate:
    year: int | None
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.year is None:
            if self.month is not None or self.day is not None:
                raise ValueError("a month or day needs a year")
            return
        if not 1000 <= self.year <= 9999:
            raise ValueError(f"year out of range: {self.year}")
        if self.month is not None and not 1 <= self.month <= 12:
            raise ValueError(f"month out of range: {self.month}")
        if self.day is not None:
            if self.month is None:
                raise ValueError("a day needs a month")
            last = calendar.monthrange(self.year, self.month)[1]
            if not 1 <= self.day <= last:
                raise ValueError(f"day out of range: {self.day}")

    @classmethod
    def parse(cls, value: str | None) -> "PartialDate":
        """'2007', '2007-12' or '2007-12-26'; empty means unknown."""
        if value is None or not str(value).strip():
            return cls(None)
        match = _PATTERN.match(str(value).strip())
        if not match:
            raise ValueError(f"not a date (YYYY, YYYY-MM or YYYY-MM-DD): {value!r}")
        year, month, day = (int(part) if part else None for part in match.groups())
        return cls(year, month, day)

    def __composite_values__(self) -> tuple:
        return self.year, self.month, self.day

    @property
    def known(self) -> bool:
        return self.year is not None

    def isoformat(self) -> str:
        if self.year is None:
            return ""
        parts = [f"{self.year:04d}"]
        if self.month is not None:
            parts.append(f"{self.month:02d}")
        if self.day is not None:
            parts.append(f"{self.day:02d}")
        return "-".join(parts)

    def sort_key(self) -> tuple[int, int, int]:
        return (self.year or 0, self.month or 0, self.day or 0)

    def __str__(self) -> str:
        return self.isoformat()
