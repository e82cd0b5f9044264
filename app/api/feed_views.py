"""/feeds/: the Atom feed of newly published products and the season calendars (.ics) of a
product and of a county, in the reader's language (?lang=). Every URL in them is built from
SITE_BASE_URL (app.i18n.absolute_url), never from the request's Host."""

from urllib.parse import urlsplit

from flask import abort, current_app, render_template
from flask_babel import gettext as _

from app.api import feeds_bp
from app.caching.routes import FEED, cached
from app.caching.store import response_cache
from app.i18n import absolute_url, current_lang
from app.models.products import Product
from app.services import catalogue, product_feed
from app.services.season_calendar import SeasonEntry, season_calendar

ATOM = "application/atom+xml; charset=utf-8"
ICALENDAR = "text/calendar; charset=utf-8"
# The date in tag: ids (RFC 4151): any day the site's owner held its domain name.
TAG_DATE = "2026"


def _host() -> str:
    return urlsplit(current_app.config["SITE_BASE_URL"]).hostname or "localhost"


@feeds_bp.get("/products.atom")
@cached(FEED)
def products_atom():
    lang = current_lang()
    entries = product_feed.newly_published()
    _generation, changed_at = response_cache.generation()
    updated = max((e.updated for e in entries), default=product_feed.as_utc(changed_at))
    body = render_template(
        "feeds/products.atom.xml",
        entries=entries,
        updated=updated,
        feed_id=f"tag:{_host()},{TAG_DATE}:feeds/products/{lang}",
        entry_id=lambda product: f"tag:{_host()},{TAG_DATE}:products/{product.id}",
        self_url=absolute_url("feeds.products_atom", lang=lang),
        site_url=absolute_url("public.products", lang=lang),
        product_url=lambda product: absolute_url("public.product", slug=product.slug, lang=lang),
        licence=current_app.config["OPEN_DATA_LICENCE"],
    )
    return current_app.response_class(body, content_type=ATOM)


def _season_entry(product: Product, lang: str) -> SeasonEntry:
    name = product.text("name", lang)
    url = absolute_url("public.product", slug=product.slug, lang=lang)
    return SeasonEntry(
        key=product.slug,
        summary=_("In season: %(product)s", product=name),
        description=_(
            "Harvest season of %(product)s, a geographical indication product.", product=name
        ),
        url=url,
        mask=product.season_mask,
    )


def _calendar(name: str, products: list[Product], filename: str):
    lang = current_lang()
    this_year = catalogue.local_today().year
    _generation, changed_at = response_cache.generation()
    body = season_calendar(
        name,
        [_season_entry(p, lang) for p in products],
        (this_year, this_year + 1),
        product_feed.as_utc(changed_at),
        _host(),
    )
    response = current_app.response_class(body, content_type=ICALENDAR)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}.ics"'
    return response


@feeds_bp.get("/products/<slug>.ics")
@cached(FEED)
def product_calendar(slug: str):
    page = catalogue.product_page(slug, current_lang()) or abort(404)
    name = page.product.text("name", current_lang())
    return _calendar(_("%(product)s: season", product=name), [page.product], slug)


@feeds_bp.get("/counties/<slug>.ics")
@cached(FEED)
def county_calendar(slug: str):
    county = catalogue.county_by_slug(slug) or abort(404)
    name = county.text("name", current_lang())
    products = catalogue.county_products(county, current_lang())
    return _calendar(_("%(county)s: products in season", county=name), products, slug)
