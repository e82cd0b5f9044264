"""Query-string parsing for the public site, the back office and the API, and the one slug
pattern. Numbers are ASCII digits only: str.isdigit() also accepts '²' or '١', which int()
then refuses or reads differently, so a digit test alone would turn a typo into a 500.

The public site answers a malformed parameter with a 400 (BadInput); the back office falls
back to the default (an official's stale bookmark should still open); the API words its own
400 (see app/api/views.py) around `ascii_int`."""

from collections.abc import Callable, Collection
from enum import Enum
from typing import NoReturn, TypeVar

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter, PathConverter

from app.errors import BadInput

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

# An address name: lower-case letters and digits in hyphen-separated runs (wenchang-chicken).
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
PUBLIC_MAX_PAGE = 10_000
ADMIN_MAX_PAGE = 99_999


def ascii_int(raw: str, low: int, high: int) -> int | None:
    """`raw` as an integer from `low` to `high` inclusive, or None if it is anything else
    (empty, signed, non-ASCII digits, out of range)."""
    if not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def bad_parameter(name: str) -> NoReturn:
    """Raise the public 400 for query parameter `name`."""
    raise BadInput(_("The parameter “%(name)s” has an invalid value.", name=name))


def page_number(name: str = "page") -> int:
    """Public pages: the page number, 1 to 10,000 (default 1); anything else is a 400."""
    page = ascii_int(request.args.get(name, "1"), 1, PUBLIC_MAX_PAGE)
    if page is None:
        bad_parameter(name)
    return page


def admin_page_number() -> int:
    """Back-office lists: the `page` parameter, 1 to 99,999; anything else is page 1."""
    return ascii_int(request.args.get("page", "1"), 1, ADMIN_MAX_PAGE) or 1


def lookup(name: str, find: Callable[[str], T | None]) -> T | None:
    """An optional slug parameter resolved through `find`; unknown values are a 400."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    found = find(raw)
    if found is None:
        bad_parameter(name)
    return found


def enum_value(name: str, enum_cls: type[E]) -> E | None:
    """An optional enumeration parameter given by value; unknown values are a 400."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return enum_cls(raw)
    except ValueError:
        bad_parameter(name)


def year(name: str = "year") -> int | None:
    """An optional four-digit year; anything else is a 400."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if len(raw) != 4 or ascii_int(raw, 0, 9999) is None:
        bad_parameter(name)
    return int(raw)


def choice(name: str, allowed: Collection[str], default: str) -> str:
    """One of `allowed` (default `default`); anything else is a 400."""
    raw = request.args.get(name, default)
    if raw not in allowed:
        bad_parameter(name)
    return raw


# Row ids are INTEGER columns: PostgreSQL's hold 2**31 - 1 at most, and SQLite's driver
# refuses anything past 2**63 - 1 with an OverflowError (a 500 before this converter).
MAX_ROW_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """`<int:...>` in every route: a positive id a database column can hold, so a larger
    number is simply no such page (404), never an error in the database driver."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


class TypedCodeConverter(PathConverter):
    """`<typed_code:...>`: a printed code as a scanner or a person sent it, slashes and line
    breaks included (keyboard-emulating scanners end with Enter); the view canonicalises it.
    Werkzeug's `path` stops at a newline (its `.` does not match one)."""

    regex = r"[^/][\s\S]*?"


def register_converters(app: Flask) -> None:
    """Before any route is added: rules bind their converters when they are registered."""
    app.url_map.converters["int"] = RowIdConverter
    app.url_map.converters["typed_code"] = TypedCodeConverter
