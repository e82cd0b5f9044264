"""Thin public views: parse, ask the catalogue service, render. Pages are cached per
catalogue generation (app/caching)."""

from operator import itemgetter

from flask import abort, current_app, render_template, url_for

from app import params
from app.caching.routes import HTML_PAGE, cached
from app.collation import by_name
from app.i18n import current_lang
from app.models import Regime, SignStatus
from app.public import bp
from app.services import catalogue, expos

# The named object of a (county or category, product count) pair.
first = itemgetter(0)


@bp.get("/")
@cached(HTML_PAGE)
def home():
    today = catalogue.local_today()
    month = today.month
    return render_template(
        "public/home.html",
        expo=expos.featured_event(today),
        today=today,
        featured=catalogue.featured_products(),
        in_season=catalogue.in_season_products(month),
        month=month,
        counties=by_name(catalogue.counties_with_counts(), current_lang(), first),
        categories=by_name(catalogue.categories_with_counts(), current_lang(), first),
        province=_province(),
    )


def _name_ordered(template: str, province=None, **listed) -> str:
    """An index page of (place or category, count) rows in the reader's order (pinyin in
    Chinese, A-Z in English: app/collation.py)."""
    ((name, rows),) = listed.items()
    ordered = by_name(rows, current_lang(), first)
    return render_template(template, **{name: ordered}, province=province)


def _province():
    counties = catalogue.all_counties()
    return counties[0].province if counties else None


@bp.get("/counties/")
@cached(HTML_PAGE)
def counties():
    return _name_ordered(
        "public/counties.html", counties=catalogue.counties_with_counts(), province=_province()
    )


@bp.get("/counties/<slug>")
@cached(HTML_PAGE)
def county(slug: str):
    found = catalogue.county_by_slug(slug) or abort(404)
    return render_template("public/county.html", page=catalogue.county_page(found, current_lang()))


@bp.get("/products/")
@cached(HTML_PAGE)
def products():
    filters = catalogue.ProductFilter(
        county=params.lookup("county", catalogue.county_by_slug),
        category=params.lookup("category", catalogue.category_by_slug),
        regime=params.enum_value("regime", Regime),
    )
    page = catalogue.filtered_products(
        filters, params.page_number(), current_app.config["PER_PAGE"], current_lang()
    )
    if page.page > page.pages:
        abort(404)
    return render_template(
        "public/products.html",
        page=page,
        filters=filters,
        counties=by_name(catalogue.all_counties(), current_lang()),
        categories=by_name(catalogue.all_categories(), current_lang()),
        regimes=list(Regime),
    )


@bp.get("/products/<slug>")
@cached(HTML_PAGE)
def product(slug: str):
    page = catalogue.product_page(slug, current_lang()) or abort(404)
    return render_template("public/product.html", page=page, today=catalogue.local_today())


@bp.get("/brands/<slug>")
@cached(HTML_PAGE)
def brand(slug: str):
    found = catalogue.brand_by_slug(slug) or abort(404)
    products = by_name(catalogue.published_only(found.products), current_lang())
    return render_template("public/brand.html", brand=found, products=products)


@bp.get("/enterprises/<slug>")
@cached(HTML_PAGE)
def enterprise(slug: str):
    found = catalogue.enterprise_by_slug(slug) or abort(404)
    return render_template(
        "public/enterprise.html",
        enterprise=found,
        authorizations=by_name(
            catalogue.published_only(found.authorizations),
            current_lang(),
            lambda a: a.sign.product,
        ),
        brands=catalogue.brands_owned_by(found, current_lang()),
        today=catalogue.local_today(),
    )


@bp.get("/categories/")
@cached(HTML_PAGE)
def categories():
    return _name_ordered("public/categories.html", categories=catalogue.categories_with_counts())


@bp.get("/categories/<slug>")
@cached(HTML_PAGE)
def category(slug: str):
    found = catalogue.category_by_slug(slug) or abort(404)
    return render_template(
        "public/category.html",
        category=found,
        products=catalogue.category_products(found, current_lang()),
    )


@bp.get("/register/")
@cached(HTML_PAGE)
def register():
    jurisdictions = catalogue.abroad_jurisdictions()
    filters = catalogue.RegisterFilter(
        regime=params.enum_value("regime", Regime),
        county=params.lookup("county", catalogue.county_by_slug),
        year=params.year(),
        status=params.enum_value("status", SignStatus),
        abroad=params.choice("abroad", ("", catalogue.ANYWHERE_ABROAD, *jurisdictions), "") or None,
        sort=params.choice("sort", catalogue.REGISTER_SORTS, "year"),
        descending=params.choice("dir", ("asc", "desc"), "asc") == "desc",
    )
    return render_template(
        "public/register.html",
        signs=catalogue.register_signs(filters, current_lang()),
        filters=filters,
        counties=by_name(catalogue.all_counties(), current_lang()),
        years=catalogue.register_years(),
        regimes=list(Regime),
        statuses=list(SignStatus),
        jurisdictions=jurisdictions,
        anywhere_abroad=catalogue.ANYWHERE_ABROAD,
    )


@bp.get("/sitemap.xml")
def sitemap():
    xml = render_template(
        "public/sitemap.xml",
        entries=catalogue.sitemap_entries(),
        base=current_app.config["SITE_BASE_URL"],
    )
    return current_app.response_class(xml, mimetype="application/xml")


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page declares; answer instead of a 404."""
    return current_app.send_static_file("img/favicon.svg")


@bp.get("/robots.txt")
def robots():
    base = current_app.config["SITE_BASE_URL"]
    body = f"User-agent: *\nDisallow: /admin/\nSitemap: {base}{url_for('public.sitemap')}\n"
    return current_app.response_class(body, mimetype="text/plain")
