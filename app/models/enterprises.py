"""Enterprises and their authorizations to use the official GI mark."""

import enum
import re
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.db import Model
from app.models.listing import Bilingual, Listing, Slugged, str_enum
from app.models.places import County
from app.text_input import CodeKind, normalize_code

if TYPE_CHECKING:
    from app.models.signs import GISign

# GB 32100-2015 unified social credit code: 18 characters from a 31-character alphabet
# (no I, O, S, V, Z); the last is a check character over the first 17.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_CODE_SHAPE = re.compile(rf"^[{CREDIT_CODE_ALPHABET}]{{18}}$")


def credit_code_check_char(first17: str) -> str:
    total = sum(
        CREDIT_CODE_ALPHABET.index(char) * weight
        for char, weight in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(code: str) -> str:
    """As typed or pasted: full-width, spaced, dashed, lower case (app/text_input.py)."""
    return normalize_code(code, CodeKind.CREDIT_CODE)


def is_valid_credit_code(code: str) -> bool:
    code = normalize_credit_code(code)
    if not _CREDIT_CODE_SHAPE.match(code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


class AuthorizationStatus(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"


class Enterprise(Slugged, Bilingual, Listing, Model):
    __tablename__ = "enterprises"

    name_zh: Mapped[str] = mapped_column(String(200), index=True)
    name_en: Mapped[str | None] = mapped_column(String(300))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), index=True)
    address_zh: Mapped[str | None] = mapped_column(String(300))
    address_en: Mapped[str | None] = mapped_column(String(400))
    phone: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(300))
    description_zh: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    county: Mapped[County] = relationship()
    authorizations: Mapped[list["Authorization"]] = relationship(
        back_populates="enterprise", order_by="Authorization.valid_from"
    )

    @validates("credit_code")
    def _check_credit_code(self, _key: str, code: str) -> str:
        code = normalize_credit_code(code)
        if not is_valid_credit_code(code):
            raise ValueError(f"invalid unified social credit code: {code}")
        return code


class Authorization(Listing, Model):
    """Permission for an enterprise to use the official GI mark under one sign."""

    __tablename__ = "authorizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    sign_id: Mapped[int] = mapped_column(ForeignKey("gi_signs.id"), index=True)
    number: Mapped[str | None] = mapped_column(String(128), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    auth_status: Mapped[AuthorizationStatus] = mapped_column(
        str_enum(AuthorizationStatus, "authorization_status"),
        default=AuthorizationStatus.VALID,
    )
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    enterprise: Mapped[Enterprise] = relationship(back_populates="authorizations")
    sign: Mapped["GISign"] = relationship()

    def effective_status(self, today: date) -> AuthorizationStatus:
        """A 'valid' record past its end date is expired, whatever the stored status says."""
        if (
            self.auth_status == AuthorizationStatus.VALID
            and self.valid_to
            and self.valid_to < today
        ):
            return AuthorizationStatus.EXPIRED
        return self.auth_status
