"""Permanent short codes: 7 random Crockford base-32 characters and a Luhn mod 32 check
character. The check catches every single mistyped character and nearly every swap of two
neighbours, so a mistyped code is told apart from an unknown one without a query.

Codes are assigned when a coded listing is first flushed (by the flush hook,
app/services/flush.py, in the same transaction), are never reused and never change: the
row does not mention names or slugs."""

import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from app.db import db
from app.models import Authorization, Booth, Brand, Enterprise, Product
from app.models.qr import CodeTarget, ShortCode
from app.text_input import CodeKind, normalize_code

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
CODE_LENGTH = 8
_VALUE = {char: i for i, char in enumerate(ALPHABET)}
# Crockford decoding: letters people confuse with digits read as those digits.
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})

# What a short code can point at.
CodedRow = Product | Brand | Enterprise | Authorization | Booth
CODED_MODELS: dict[type[CodedRow], CodeTarget] = {
    Product: CodeTarget.PRODUCT,
    Brand: CodeTarget.BRAND,
    Enterprise: CodeTarget.ENTERPRISE,
    Authorization: CodeTarget.AUTHORIZATION,
    Booth: CodeTarget.BOOTH,
}
MODEL_FOR_TARGET = {target: model for model, target in CODED_MODELS.items()}


def check_character(body: str) -> str:
    """Luhn mod N over the alphabet (N = 32)."""
    factor, total = 2, 0
    for char in reversed(body):
        addend = factor * _VALUE[char]
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return ALPHABET[(32 - total % 32) % 32]


def random_code(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    body = "".join(ALPHABET[randbelow(32)] for _ in range(CODE_LENGTH - 1))
    return body + check_character(body)


def normalize(raw: str) -> str:
    """What a person typed or a scanner read: any case and width, dashes and spaces,
    invisible characters, wrapping punctuation (app/text_input.py), and Crockford's
    look-alikes I/L/O for 1/1/0. Whether the result is a code is code_problem's question."""
    return normalize_code(raw, CodeKind.SHORT_CODE).translate(_READ_AS)


class CodeProblem:
    SHAPE = "shape"  # wrong length or characters outside the alphabet
    CHECK = "check"  # well formed, but the check character does not match: a typo


def code_problem(code: str) -> str | None:
    """None when `code` (normalised) is well formed with a matching check character."""
    if len(code) != CODE_LENGTH or any(char not in _VALUE for char in code):
        return CodeProblem.SHAPE
    if check_character(code[:-1]) != code[-1]:
        return CodeProblem.CHECK
    return None


def printed_code(raw: str) -> str | None:
    """The short code a person typed from a label into /verify or the search box, when it
    is one that exists: read as /q/ reads it (normalize), with its check character or with
    only the 7 characters before it. None for anything else. Without the check character a
    typo goes unnoticed, so only a code that exists is ever answered."""
    code = normalize(raw)
    if len(code) == CODE_LENGTH - 1 and all(char in _VALUE for char in code):
        code += check_character(code)
    if code_problem(code) or find_code(code) is None:
        return None
    return code


def _insert_ignoring_taken(connection: Connection):
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return (
        dialect.insert(ShortCode.__table__)
        .on_conflict_do_nothing(index_elements=["code"])
        .returning(ShortCode.__table__.c.code)
    )


def assign_code(
    connection: Connection,
    target: CodeTarget,
    target_id: int,
    make_code: Callable[[], str] = random_code,
) -> str:
    """Insert a fresh code for one target. A collision with an existing code (possible in
    principle, 34 billion codes) makes the insert a no-op, and another code is drawn."""
    stmt = _insert_ignoring_taken(connection)
    for _attempt in range(20):
        code = make_code()
        result = connection.execute(
            stmt.values(
                code=code,
                target_type=target.value,
                target_id=target_id,
                created_at=datetime.now(UTC),
            )
        )
        if result.scalar() is not None:  # rowcount is not reliable here on every driver
            return code
    raise RuntimeError("could not draw an unused short code")


def assign_codes(connection: Connection, new: Iterable[Any]) -> None:
    """A code for each coded listing among a flush's new objects (app/services/flush.py)."""
    for obj in new:
        target = CODED_MODELS.get(type(obj))
        if target is not None:
            assign_code(connection, target, obj.id)


def backfill_codes(connection: Connection) -> int:
    """Give a code to every coded row that has none (migrations, repairs). Returns how many."""
    assigned = 0
    for model, target in CODED_MODELS.items():
        coded = select(ShortCode.target_id).where(ShortCode.target_type == target.value)
        ids = connection.scalars(select(model.id).where(model.id.not_in(coded)).order_by(model.id))
        for target_id in list(ids):
            assign_code(connection, target, target_id)
            assigned += 1
    return assigned


def code_for(obj) -> str | None:
    target = CODED_MODELS.get(type(obj))
    if target is None or obj.id is None:
        return None
    return db.session.scalar(
        select(ShortCode.code).where(ShortCode.target_type == target, ShortCode.target_id == obj.id)
    )


def find_code(code: str) -> ShortCode | None:
    return db.session.get(ShortCode, code)


def resolve(short: ShortCode):
    """The listing a code points at, or None when it has been deleted."""
    return db.session.get(MODEL_FOR_TARGET[short.target_type], short.target_id)


def codes_for(targets: list) -> dict:
    """{obj: code} for several listings in one query per type."""
    by_type: dict[CodeTarget, dict[int, object]] = {}
    for obj in targets:
        by_type.setdefault(CODED_MODELS[type(obj)], {})[obj.id] = obj
    found = {}
    for target, objs in by_type.items():
        rows = db.session.execute(
            select(ShortCode.target_id, ShortCode.code).where(
                ShortCode.target_type == target, ShortCode.target_id.in_(list(objs))
            )
        )
        for target_id, code in rows:
            found[objs[target_id]] = code
    return found


def short_url(base_url: str, code: str) -> str:
    return f"{base_url}/q/{code}"
