"""The numbers a GI sign is known by, as printed on a package or typed from one.

Three kinds, each read from what app/text_input.normalize_code makes of the text (full-width
forms, spaces, a pasted label, dash forms and separators already undone):

- announcement numbers of the issuing body: 国家质检总局公告2007年第209号, 农业部公告第2651号
  (issuer, optional year, serial; "公告" may come before or after the serial, 第 and 号 may
  be left out; GB/T 9704-2012 §7.2.4 writes the year as 〔2007〕);
- agricultural GI certificate numbers: AGI + digits (农产品地理标志登记证书, AGI01234);
- trademark registration numbers: 6 to 9 digits, often printed as 第12345678号.

Plain functions over str: no database, no Flask."""

import re
from dataclasses import dataclass

from app.text_input import CodeKind, normalize_code

ANNOUNCEMENT = "announcement"
AGI_CERTIFICATE = "agi_certificate"
TRADEMARK = "trademark"

# The names people give each issuing body, as one key (the body's own English initials).
# A name not listed here stands for itself.
_ISSUERS = {
    "国家质量监督检验检疫总局": "AQSIQ",
    "国家质检总局": "AQSIQ",
    "质检总局": "AQSIQ",
    "AQSIQ": "AQSIQ",
    "中华人民共和国农业部": "MOA",
    "农业部": "MOA",
    "MOA": "MOA",
    # 农业农村部 succeeded 农业部 in 2018 and numbers its announcements afresh.
    "农业农村部": "MARA",
    "国家知识产权局": "CNIPA",
    "知识产权局": "CNIPA",
    "CNIPA": "CNIPA",
    "国家工商行政管理总局": "SAIC",
    "工商总局": "SAIC",
    "商标局": "SAIC",
}
_AGI = re.compile(r"^AGI-?(\d{4,8})$")
# A label without a colon may stand before a trademark number ("注册号12345678").
_TRADEMARK = re.compile(r"^(?:[\u4e00-\u9fff]*?(?:注册号|注册证号|证号|商标))?第?(\d{6,9})号?$")
_DIGIT_GROUPS = re.compile(r"(?<=\d)-(?=\d)")
_ANNOUNCEMENT = re.compile(
    r"^(?P<issuer>[\u4e00-\u9fffA-Z]*?)(?:公告)?"
    r"(?:〔?(?P<year>(?:19|20)\d{2})〕?年?)?"
    r"第?(?P<serial>\d{1,5})号?(?:公告)?$"
)


@dataclass(frozen=True)
class SignNumber:
    kind: str  # ANNOUNCEMENT, AGI_CERTIFICATE or TRADEMARK
    serial: int
    printed: str  # the normalised text, as the verify page repeats it
    issuer: str | None = None  # announcements only: a key of _ISSUERS' values, or the name
    year: int | None = None  # announcements only, when printed


def parse(raw: str | None) -> SignNumber | None:
    """The sign number in `raw`, or None when the text is none of the three kinds."""
    text = normalize_code(raw, CodeKind.REFERENCE)
    found = _AGI.match(text)
    if found:
        return SignNumber(AGI_CERTIFICATE, int(found.group(1)), f"AGI{found.group(1)}")
    # Digits grouped as people read them out ("3136 3028") are one number.
    found = _TRADEMARK.match(_DIGIT_GROUPS.sub("", text))
    if found:
        return SignNumber(TRADEMARK, int(found.group(1)), found.group(1))
    found = _ANNOUNCEMENT.match(text)
    # A bare serial ("209") is too little to name an announcement: a marker must be there.
    if found and any(marker in text for marker in ("公告", "第", "号")):
        issuer = found.group("issuer") or None
        year = found.group("year")
        return SignNumber(
            ANNOUNCEMENT,
            int(found.group("serial")),
            text,
            issuer=_ISSUERS.get(issuer, issuer) if issuer else None,
            year=int(year) if year else None,
        )
    return None


def same_number(typed: SignNumber | None, stored: SignNumber | None) -> bool:
    """Whether what a person typed names the stored number. Issuer and year are compared
    only when both sides carry them: "第2651号" finds 农业部公告第2651号, and
    "2007年第209号" finds 国家质检总局公告2007年第209号."""
    if typed is None or stored is None:
        return False
    if (typed.kind, typed.serial) != (stored.kind, stored.serial):
        return False
    return all(
        mine is None or theirs is None or mine == theirs
        for mine, theirs in ((typed.issuer, stored.issuer), (typed.year, stored.year))
    )
