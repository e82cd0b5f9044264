"""Authenticity checks: is this enterprise authorised to use the official GI mark?"""

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.db import db
from app.models import Authorization, Enterprise, GISign, PublicationStatus
from app.models.enterprises import (
    CREDIT_CODE_ALPHABET,
    is_valid_credit_code,
    normalize_credit_code,
)
from app.services import codes, sign_numbers
from app.services.catalogue import published_authorizations, published_signs
from app.text_input import CodeKind, clean_text, normalize_code

PUBLISHED = PublicationStatus.PUBLISHED
_AUTH_NUMBER = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff（）()〔〕\[\]【】第号年\-_/\.·]{3,128}$")


class Problem:
    EMPTY = "empty"
    TOO_LONG = "too_long"
    CREDIT_SHAPE = "credit_shape"  # 18 characters but letters outside the alphabet
    CREDIT_CHECK = "credit_check"  # the check character does not match: a typo
    NOT_A_CODE = "not_a_code"


@dataclass
class Verdict:
    query: str
    # "credit_code", "authorization_number", "sign_number" or "short_code"
    kind: str | None = None
    problem: str | None = None
    enterprise: Enterprise | None = None
    authorizations: list[Authorization] = field(default_factory=list)
    short_code: str | None = None  # a printed short code: the caller sends the person to /q/
    # A GI sign number (announcement, AGI certificate, trademark registration): every sign
    # that carries it, and `authorizations` holds their authorised enterprises.
    signs: list[GISign] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.authorizations) or self.enterprise is not None or bool(self.signs)

    def authorizations_of(self, sign: GISign) -> list[Authorization]:
        return [a for a in self.authorizations if a.sign_id == sign.id]


def verify(raw: str | None, today: date) -> Verdict:
    """A credit code (GB 32100-2015, check character), an authorization number or a GI sign's
    number (app/services/sign_numbers.py: announcement, AGI certificate, trademark), as a
    person types or pastes it: both go through app/text_input.normalize_code first, so
    full-width and other scripts' digits, zero-width spaces, grouping spaces, any dash form,
    separators in a number and a pasted label are read. A printed short code that exists
    (app/services/codes.printed_code) gives a verdict with `short_code` set."""
    typed = (raw or "")[:512]
    query = clean_text(typed).strip()
    if not query:
        return Verdict(query, problem=Problem.EMPTY)
    if len(query) > 128:
        return Verdict(query[:128], problem=Problem.TOO_LONG)
    # The normalisers read what was typed: NFKC would make "№" a plain "No".
    code = normalize_credit_code(typed)
    if len(code) == 18 and code.isalnum() and code.isascii():
        if any(char not in CREDIT_CODE_ALPHABET for char in code):
            return Verdict(code, "credit_code", Problem.CREDIT_SHAPE)
        if not is_valid_credit_code(code):
            return Verdict(code, "credit_code", Problem.CREDIT_CHECK)
        return _by_credit_code(code)
    number = normalize_code(typed, CodeKind.REFERENCE)
    verdict = _by_reference(number, query)
    if verdict.found:
        return verdict
    by_sign = _by_sign_number(typed)
    if by_sign.found:
        return by_sign
    # The short code under a QR code is what many labels print most visibly.
    short_code = codes.printed_code(typed)
    if short_code is not None:
        return Verdict(short_code, "short_code", short_code=short_code)
    return verdict


# Chinese document numbers end in 号 ("No."), printed or typed after the number itself
# (GB/T 9704-2012 §7.2.4: 发文字号 "…〔2023〕12号").
_NUMBER_SUFFIX = "号"


def _by_reference(number: str, query: str) -> Verdict:
    """An authorization number as typed, else without the 号 a person added after it."""
    readings = [number]
    if number.endswith(_NUMBER_SUFFIX):
        readings.append(number.removesuffix(_NUMBER_SUFFIX).rstrip("-"))
    verdict = Verdict(query, problem=Problem.NOT_A_CODE)
    for reading in readings:
        if _AUTH_NUMBER.match(reading):
            verdict = _by_authorization_number(reading)
            if verdict.found:
                return verdict
    return verdict


def _authorizations():
    return (
        published_authorizations()
        .options(
            selectinload(Authorization.enterprise).selectinload(Enterprise.county),
            selectinload(Authorization.sign).selectinload(GISign.product),
        )
        .order_by(Authorization.valid_from.desc(), Authorization.id)
    )


def _by_credit_code(code: str) -> Verdict:
    enterprise = db.session.scalar(
        select(Enterprise).where(Enterprise.credit_code == code, Enterprise.status == PUBLISHED)
    )
    verdict = Verdict(code, "credit_code", enterprise=enterprise)
    if enterprise is not None:
        verdict.authorizations = list(
            db.session.scalars(
                _authorizations().where(Authorization.enterprise_id == enterprise.id)
            )
        )
    return verdict


def _by_authorization_number(number: str) -> Verdict:
    found = list(
        db.session.scalars(
            _authorizations().where(func.upper(Authorization.number) == number.upper())
        )
    )
    enterprise = found[0].enterprise if found else None
    return Verdict(number, "authorization_number", enterprise=enterprise, authorizations=found)


def _by_sign_number(typed: str) -> Verdict:
    """Every published sign whose number reads as `typed` (sign_numbers.same_number), with
    the published authorizations of each. Several signs may share one announcement."""
    wanted = sign_numbers.parse(typed)
    if wanted is None:
        return Verdict(typed, problem=Problem.NOT_A_CODE)
    signs = [
        sign
        for sign in db.session.scalars(
            published_signs()
            .where(GISign.number.is_not(None))
            .order_by(GISign.approval_year, GISign.id)
        )
        if sign_numbers.same_number(wanted, sign_numbers.parse(sign.number))
    ]
    verdict = Verdict(wanted.printed, "sign_number", signs=signs)
    if signs:
        verdict.authorizations = list(
            db.session.scalars(
                _authorizations().where(Authorization.sign_id.in_([s.id for s in signs]))
            )
        )
    return verdict
