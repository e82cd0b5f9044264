"""Counterfeit reports: intake from the public form and the county officials' queue.

Photos are never served publicly: they are opened with Pillow, accepted only as JPEG, PNG
or WebP within a pixel limit, re-encoded to a fresh JPEG (dropping EXIF, GPS and any
trailing bytes) and stored under INSTANCE_DIR/reports by content hash."""

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import selectinload

from app import storage
from app.db import db
from app.models import (
    Authorization,
    Brand,
    CounterfeitReport,
    County,
    Enterprise,
    Product,
    PublicationStatus,
    ReportStatus,
)

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000
STORED_LONG_SIDE = 2000


class PhotoRejected(ValueError):
    """The upload is not a photo we accept; `reason` is one of the class constants."""

    TOO_LARGE = "too_large"
    NOT_AN_IMAGE = "not_an_image"
    TOO_MANY_PIXELS = "too_many_pixels"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def reencode_photo(data: bytes) -> bytes:
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRejected(PhotoRejected.TOO_LARGE)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise PhotoRejected(PhotoRejected.NOT_AN_IMAGE)
                if probe.width * probe.height > MAX_PHOTO_PIXELS:
                    raise PhotoRejected(PhotoRejected.TOO_MANY_PIXELS)
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                image = ImageOps.exif_transpose(image).convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRejected(PhotoRejected.TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, PhotoRejected):
            raise
        raise PhotoRejected(PhotoRejected.NOT_AN_IMAGE) from None
    image.thumbnail((STORED_LONG_SIDE, STORED_LONG_SIDE))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def store_photo(reports_dir: Path, data: bytes) -> str:
    clean = reencode_photo(data)
    name = hashlib.sha256(clean).hexdigest()[:40] + ".jpg"
    target = reports_dir / name
    if not target.exists():
        storage.write_bytes(target, clean, mode=0o600)  # StorageUnavailable: nothing left
    return name


def reportable_products() -> list[Product]:
    """Published products with their counties (the home county); the form orders them."""
    return list(
        db.session.scalars(
            select(Product)
            .where(Product.status == PublicationStatus.PUBLISHED)
            .options(selectinload(Product.counties))
            .order_by(Product.id)
        )
    )


def product_reported_from(listing: object) -> Product | None:
    """The product a report opened from this listing's page or passport is about, so the
    form arrives with it chosen: a published product itself, an authorization's product, and
    a brand's or an enterprise's product when it has exactly one published product. None
    when it has several or none: the reporter chooses."""
    candidates: set[Product]
    if isinstance(listing, Product):
        candidates = {listing}
    elif isinstance(listing, Authorization):
        candidates = {listing.sign.product}
    elif isinstance(listing, Brand):
        candidates = set(listing.products)
    elif isinstance(listing, Enterprise):
        candidates = {
            a.sign.product for a in listing.authorizations if a.is_published and a.sign.is_published
        }
    else:
        return None
    published = [product for product in candidates if product.is_published]
    return published[0] if len(published) == 1 else None


def home_county_of(product: Product | None) -> County | None:
    """The GI's home county: the product's first county in the order its pages list them.
    None for a product without a county (province-wide) or no product: then the county
    where it was bought, or provincial reviewers, handle the report."""
    if product is not None and product.counties:
        return product.counties[0]
    return None


def submit_report(
    *,
    where_bought: str,
    description: str,
    product: Product | None = None,
    county: County | None = None,
    photo_name: str | None = None,
) -> CounterfeitReport:
    """A new report; `county` is where the fake was bought or seen (the reporter's choice),
    the home county follows from the product. Both counties' officials see it."""
    report = CounterfeitReport(
        product=product,
        county=county,
        home_county=home_county_of(product),
        where_bought=where_bought.strip(),
        description=description.strip(),
        photo_name=photo_name,
        report_status=ReportStatus.NEW,
    )
    db.session.add(report)
    db.session.flush()
    return report


# --- the back-office queue (wired into /admin by the back-office blueprint) ---------------


class NotYourCounty(PermissionError):
    """The official's counties include neither of the report's counties."""


def _in_counties(county_ids: set[int]) -> ColumnElement[bool]:
    ids = county_ids or {-1}
    return or_(CounterfeitReport.county_id.in_(ids), CounterfeitReport.home_county_id.in_(ids))


def is_officials_report(report: CounterfeitReport, county_ids: set[int] | None) -> bool:
    """The one rule of who handles a report: a provincial reviewer (None) every report, a
    county official those bought in or at home in one of their counties."""
    if county_ids is None:
        return True
    return bool({report.county_id, report.home_county_id} & county_ids)


ALLOWED_TRANSITIONS = {
    ReportStatus.NEW: {ReportStatus.INVESTIGATING, ReportStatus.CLOSED},
    ReportStatus.INVESTIGATING: {ReportStatus.CLOSED, ReportStatus.NEW},
    ReportStatus.CLOSED: {ReportStatus.INVESTIGATING},
}


@dataclass(frozen=True)
class ReportQueue:
    items: list[CounterfeitReport]
    counts: dict[ReportStatus, int]


def report_queue(
    county_ids: set[int] | None,
    status: ReportStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> ReportQueue:
    """Reports where the county bought in or the home county is one of the given counties
    (None = all, for provincial reviewers), newest first. Reports with neither county are
    visible only to provincial reviewers."""
    scope = select(CounterfeitReport)
    counts_stmt = select(CounterfeitReport.report_status, func.count()).group_by(
        CounterfeitReport.report_status
    )
    if county_ids is not None:
        scope = scope.where(_in_counties(county_ids))
        counts_stmt = counts_stmt.where(_in_counties(county_ids))
    counts = {status_: 0 for status_ in ReportStatus}
    counts.update({row_status: count for row_status, count in db.session.execute(counts_stmt)})
    if status is not None:
        scope = scope.where(CounterfeitReport.report_status == status)
    items = list(
        db.session.scalars(
            scope.options(
                selectinload(CounterfeitReport.product),
                selectinload(CounterfeitReport.county),
                selectinload(CounterfeitReport.home_county),
            )
            .order_by(CounterfeitReport.created_at.desc(), CounterfeitReport.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    return ReportQueue(items, counts)


def report_for_official(report_id: int, county_ids: set[int] | None) -> CounterfeitReport | None:
    report = db.session.get(CounterfeitReport, report_id)
    if report is None:
        return None
    if not is_officials_report(report, county_ids):
        raise NotYourCounty(report_id)
    return report


def update_report(
    report: CounterfeitReport,
    county_ids: set[int] | None,
    status: ReportStatus,
    note: str | None,
    user_id: int | None,
) -> CounterfeitReport:
    if not is_officials_report(report, county_ids):
        raise NotYourCounty(report.id)
    if status != report.report_status and status not in ALLOWED_TRANSITIONS[report.report_status]:
        raise ValueError(f"cannot move a report from {report.report_status} to {status}")
    report.report_status = status
    if note is not None:
        report.official_note = note.strip() or None
    report.handled_by_id = user_id
    db.session.flush()
    return report


def photo_path(reports_dir: Path, report: CounterfeitReport) -> Path | None:
    """Where the report's photo is, for an authorised back-office view to send_file."""
    if not report.photo_name:
        return None
    return reports_dir / report.photo_name
