"""Expos, booths and visitors' saved lists."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from app.db import db
from app.models import Booth, Enterprise, ExpoEvent, Product, PublicationStatus, SavedList
from app.models.expos import saved_list_products
from app.services import catalogue, codes

MAX_LIST_ITEMS = 100


def create_event(slug: str, name_zh: str, starts_on: date, ends_on: date, **fields) -> ExpoEvent:
    if ends_on < starts_on:
        raise ValueError("an event cannot end before it starts")
    expo = ExpoEvent(slug=slug, name_zh=name_zh, starts_on=starts_on, ends_on=ends_on, **fields)
    db.session.add(expo)
    db.session.flush()
    return expo


def add_booth(
    expo: ExpoEvent,
    number: str,
    products: Sequence[Product] = (),
    enterprises: Sequence[Enterprise] = (),
    sort_order: int | None = None,
    **fields,
) -> Booth:
    booth = Booth(
        event=expo,
        number=number,
        sort_order=len(expo.booths) if sort_order is None else sort_order,
        products=list(products),
        enterprises=list(enterprises),
        **fields,
    )
    db.session.add(booth)
    db.session.flush()  # the flush hook gives the booth its short code
    return booth


# --- managing events and booths (the back office) -------------------------------------------


class ExpoInvalid(ValueError):
    """A change the data cannot take; `field` names the form field to show it on."""

    def __init__(self, field: str, message) -> None:
        super().__init__(str(message))
        self.field = field


def all_events() -> list[ExpoEvent]:
    return list(
        db.session.scalars(
            select(ExpoEvent)
            .options(selectinload(ExpoEvent.booths))
            .order_by(ExpoEvent.starts_on.desc(), ExpoEvent.id.desc())
        )
    )


def _check_event(slug: str, starts_on: date, ends_on: date, event_id: int | None) -> None:
    if ends_on < starts_on:
        raise ExpoInvalid("ends_on", _l("An event cannot end before it starts."))
    taken = select(ExpoEvent.id).where(ExpoEvent.slug == slug)
    if event_id is not None:
        taken = taken.where(ExpoEvent.id != event_id)
    if db.session.scalar(taken) is not None:
        raise ExpoInvalid("slug", _l("Another event already uses this address."))


def save_event(expo: ExpoEvent | None, values: dict) -> ExpoEvent:
    """Create (expo None) or change an event from the form's values."""
    _check_event(values["slug"], values["starts_on"], values["ends_on"], expo.id if expo else None)
    if expo is None:
        return create_event(**values)
    for name, value in values.items():
        setattr(expo, name, value)
    db.session.flush()
    return expo


def delete_event(expo: ExpoEvent) -> None:
    """Only an event without booths: booth codes are printed on posters, so booths are
    removed one by one, on purpose."""
    if expo.booths:
        raise ExpoInvalid("", _l("Remove the event's booths first."))
    db.session.delete(expo)
    db.session.flush()


def _check_booth(expo: ExpoEvent, number: str, booth_id: int | None) -> None:
    if any(b.number == number and b.id != booth_id for b in expo.booths):
        raise ExpoInvalid("number", _l("This event already has a booth with this number."))


def save_booth(
    expo: ExpoEvent,
    booth: Booth | None,
    values: dict,
    products: list[Product],
    enterprises: list[Enterprise],
) -> Booth:
    """Create (booth None) or change a booth of `expo`."""
    _check_booth(expo, values["number"], booth.id if booth else None)
    if booth is None:
        return add_booth(expo, products=products, enterprises=enterprises, **values)
    for name, value in values.items():
        setattr(booth, name, value)
    booth.products, booth.enterprises = list(products), list(enterprises)
    db.session.flush()
    return booth


def delete_booth(booth: Booth) -> None:
    """The booth's short code stays reserved (codes are never reused); its page goes away."""
    booth.event.booths.remove(booth)
    db.session.flush()


def event_by_slug(slug: str) -> ExpoEvent | None:
    return db.session.scalar(
        select(ExpoEvent)
        .where(ExpoEvent.slug == slug, ExpoEvent.published.is_(True))
        .options(
            selectinload(ExpoEvent.booths)
            .selectinload(Booth.products)
            .selectinload(Product.images),
            selectinload(ExpoEvent.booths).selectinload(Booth.enterprises),
        )
    )


@dataclass
class ExpoPage:
    expo: ExpoEvent
    booths: list[Booth]  # in floor (walking) order
    products: dict[int, list[Product]]  # booth id -> published products
    enterprises: dict[int, list[Enterprise]]
    codes: dict  # listing -> short code


def expo_page(expo: ExpoEvent) -> ExpoPage:
    booths = sorted(expo.booths, key=lambda b: (b.sort_order, b.number))
    products = {b.id: catalogue.published_only(b.products) for b in booths}
    enterprises = {b.id: catalogue.published_only(b.enterprises) for b in booths}
    listed = [p for items in products.values() for p in items] + booths
    return ExpoPage(expo, booths, products, enterprises, codes.codes_for(listed))


def published_products_by_id(ids: list[int]) -> list[Product]:
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Product).where(
                Product.id.in_(ids), Product.status == PublicationStatus.PUBLISHED
            )
        )
    )


def in_visitor_order(ids: list[int], products: list[Product]) -> list[Product]:
    """`products` in the order their ids were ticked (the form posts them in floor order),
    each once: a product at two booths is ticked twice but listed once."""
    by_id = {p.id: p for p in products}
    return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]


def create_saved_list(products: list[Product], expo: ExpoEvent | None = None) -> SavedList:
    """A new list under a fresh code, never one already given out (lists are not deleted).
    The products keep the order given (saved_list_products.position)."""
    if not products:
        raise ValueError("a saved list needs at least one product")
    code = codes.random_code()
    while db.session.get(SavedList, code) is not None:
        code = codes.random_code()
    saved = SavedList(code=code, event=expo)
    db.session.add(saved)
    db.session.flush()
    db.session.execute(
        insert(saved_list_products),
        [
            {"list_code": code, "product_id": p.id, "position": position}
            for position, p in enumerate(products[:MAX_LIST_ITEMS])
        ],
    )
    return saved


def booths_by_product(expo: ExpoEvent | None) -> dict[int, list[Booth]]:
    """Product id -> the event's booths showing it, in floor order (empty without event)."""
    found: dict[int, list[Booth]] = {}
    for booth in sorted(expo.booths, key=lambda b: (b.sort_order, b.number)) if expo else []:
        for product in booth.products:
            found.setdefault(product.id, []).append(booth)
    return found


def featured_event(today: date) -> ExpoEvent | None:
    """The expo the home page points visitors to: the one on now, else the next to open."""
    return db.session.scalar(
        select(ExpoEvent)
        .where(ExpoEvent.published.is_(True), ExpoEvent.ends_on >= today)
        .order_by(ExpoEvent.starts_on, ExpoEvent.id)
        .limit(1)
    )


def saved_list(code: str) -> SavedList | None:
    return db.session.scalar(
        select(SavedList)
        .where(SavedList.code == code)
        .options(
            selectinload(SavedList.products).selectinload(Product.images),
            selectinload(SavedList.event)
            .selectinload(ExpoEvent.booths)
            .selectinload(Booth.products),
        )
    )
