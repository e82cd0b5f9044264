"""Print-ready sheets for the back office: an A4 page of product labels and a booth poster,
as HTML with print CSS (static/css/qr-print.css: @page sizes, millimetre grid). Browsers
print them to PDF exactly; the QR codes are inline SVG, so they stay sharp at any size.
They render templates, so they live with the screens that print them (labels, expos), not
among the services."""

from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from app.collation import by_name
from app.db import db
from app.labels import GENUINE_CUE_LABELS
from app.models import Booth, PublicationStatus
from app.qr.images import qr_svg_inline
from app.services import access, codes
from app.services.listings import KINDS

LABELS_PER_A4 = 24  # 3 columns x 8 rows of 70 x 37 mm


@dataclass(frozen=True)
class Label:
    code: str
    name_zh: str
    name_en: str | None
    url: str

    @property
    def qr(self):
        return qr_svg_inline(self.url, self.name_zh)


def labels_for(listings: list) -> list[Label]:
    """One label per listing that has a code (products, brands, enterprises...)."""
    base = current_app.config["SITE_BASE_URL"]
    found = codes.codes_for(listings)
    return [
        Label(
            found[obj],
            obj.name_zh,
            getattr(obj, "name_en", None),
            codes.short_url(base, found[obj]),
        )
        for obj in listings
        if obj in found
    ]


def label_sheet_html(labels: list[Label], back_url: str | None = None) -> str:
    """A4 pages of 24 labels each: name in Chinese and English, QR code, short URL.
    `back_url` adds a screen-only printing hint with a way back (the back office's sheet)."""
    pages = [labels[i : i + LABELS_PER_A4] for i in range(0, len(labels), LABELS_PER_A4)]
    return render_template(
        "qr/print/labels.html", pages=pages or [[]], back_url=back_url, count=len(labels)
    )


# Listings that carry a label: what a county prints on packaging and shelves.
LABEL_KINDS = ("products", "brands", "enterprises")


def printable_listings(user, lang: str) -> dict[str, list]:
    """Published products, brands and enterprises the user may print labels for (an editor:
    those of their counties, by the same rule as editing), by kind key, in name order."""
    found = {}
    for key in LABEL_KINDS:
        kind = KINDS[key]
        stmt = kind.select_rows().where(kind.model.status == PublicationStatus.PUBLISHED)
        clause = access.scope_clause(user, kind)
        if clause is not None:
            stmt = stmt.where(clause)
        found[key] = by_name(db.session.scalars(stmt.order_by(kind.model.id)), lang)
    return found


def booth_poster_html(booth: Booth, size: str = "A4", back_url: str | None = None) -> str:
    if size not in ("A4", "A3"):
        raise ValueError("poster size must be A4 or A3")
    code = codes.code_for(booth)
    if code is None:  # every saved booth gets one on insert; a missing row is damage
        raise LookupError(f"booth {booth.id} has no short code: a poster would print a dead link")
    url = codes.short_url(current_app.config["SITE_BASE_URL"], code)
    return render_template(
        "qr/print/poster.html",
        booth=booth,
        size=size,
        code=code,
        url=url,
        qr=qr_svg_inline(url, booth.number),
        back_url=back_url,
        # The poster speaks both languages at once, Chinese first (its reading order too).
        products=by_name(booth.products, "zh"),
        cue_headings={cue: in_both_languages(text) for cue, text in GENUINE_CUE_LABELS.items()},
        cues_heading=in_both_languages(CUES_HEADING),
        demo_label=in_both_languages(DEMO_LABEL),
    )


CUES_HEADING = _l("How to recognise the genuine product")
DEMO_LABEL = _l("Demo data")


def in_both_languages(text: LazyString) -> tuple[str, str]:
    """(Chinese, English) of one translated string, for sheets printed in both."""
    with force_locale("zh"):
        zh = str(text)
    with force_locale("en"):
        en = str(text)
    return zh, en
