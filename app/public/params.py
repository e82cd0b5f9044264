"""Query-string parsing for public pages: a malformed parameter is a 400, never a 500."""
from collections.abc import Callable
from enum import Enum
from typing import TypeVar

from flask import request
from flask_babel import gettext as _

from app.errors import BadInput

T = TypeVar("T")


def bad_parameter(name: str):
    raise BadInput(_("The parameter “%(name)s” has an invalid value.", name=name))


def page_number(name: str = "page") -> int:
    raw = request.args.get(name, "1")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 10_000:
        bad_parameter(name)
    return int(raw)


def lookup(name: str, find: Callable[[str], T | None]) -> T | None:
    """An optional slug parameter resolved through `find`; unknown values are a 400."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    found = find(raw)
    if found is None:
        bad_parameter(name)
    return found


def enum_value(name: str, enum_cls: type[Enum]):
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return enum_cls(raw)
    except ValueError:
        bad_parameter(name)


def year(name: str = "year") -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) != 4:
        bad_parameter(name)
    return int(raw)


def choice(name: str, allowed, default: str) -> str:
    raw = request.args.get(name, default)
    if raw not in allowed:
        bad_parameter(name)
    return raw
