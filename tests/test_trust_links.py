"""Trust tools people can find (issue 11): "Check authenticity" and "Report a fake" in the
header and on every product, brand and enterprise page; "check this code" per authorised
enterprise; a report opened from a product or passport arrives with that product chosen;
a verify result links to the enterprise and product pages."""

import html as html_lib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from app.db import db
from app.models import Authorization, Brand, County, Enterprise, Product, PublicationStatus
from app.services import codes, reports

pytestmark = pytest.mark.usefixtures("app_ctx")

LANGS = ["zh", "en"]


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def hrefs(text: str, label: str) -> list[str]:
    """The targets of the links whose text is `label`, unescaped."""
    pattern = r'<a href="([^"]*)">' + re.escape(label) + "</a>"
    return [html_lib.unescape(h) for h in re.findall(pattern, text)]


def translated(text: str, lang: str) -> str:
    """A link's text as the reader of `lang` sees it."""
    with force_locale(lang):
        return gettext(text)


def published(model, **where):
    query = select(model).where(model.status == PublicationStatus.PUBLISHED)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return db.session.scalars(query.order_by(model.id))


def brand_with(count: int) -> Brand:
    for brand in published(Brand):
        if sum(p.is_published for p in brand.products) == count:
            return brand
    raise AssertionError(f"the seed has no brand of {count} published product(s)")


def enterprise_with_one_product() -> tuple[Enterprise, Product]:
    for enterprise in published(Enterprise):
        products = {
            a.sign.product
            for a in enterprise.authorizations
            if a.is_published and a.sign.is_published and a.sign.product.is_published
        }
        if len(products) == 1:
            return enterprise, products.pop()
    raise AssertionError("the seed has no enterprise authorised for one product")


def selected_product(text: str) -> list[str]:
    """The values of the selected options of the report form's product select."""
    select_html = re.search(r'<select[^>]*id="product".*?</select>', text, re.S).group(0)
    return re.findall(r'<option\b[^>]*\bselected\b[^>]*\bvalue="([^"]*)"', select_html)


# --- links present --------------------------------------------------------------------------


def page_urls() -> dict[str, callable]:
    return {
        "home": lambda: "/",
        "products": lambda: "/products/",
        "product": lambda: f"/products/{next(iter(published(Product))).slug}",
        "brand": lambda: f"/brands/{brand_with(1).slug}",
        "enterprise": lambda: f"/enterprises/{next(iter(published(Enterprise))).slug}",
        "verify": lambda: "/verify",
        "report": lambda: "/report",
    }


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", list(page_urls()))
def test_header_links_to_verify_and_report_on_every_page(client, kind, lang):
    text = page(client, f"{page_urls()[kind]()}?lang={lang}")
    header = text.split("</header>")[0]
    assert "/verify" in hrefs(header, translated("Check authenticity", lang))
    assert "/report" in hrefs(header, translated("Report a fake", lang))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", ["product", "brand", "enterprise"])
def test_listing_pages_carry_the_trust_actions(client, kind, lang):
    main = page(client, f"{page_urls()[kind]()}?lang={lang}").split("</header>", 1)[1]
    actions = re.search(r'<nav class="trust-actions"[^>]*>(.*?)</nav>', main, re.S)
    assert actions is not None, kind
    assert hrefs(actions.group(1), translated("Check authenticity", lang)) == ["/verify"]
    (report,) = hrefs(actions.group(1), translated("Report a fake", lang))
    assert urlsplit(report).path == "/report"


# --- the report opened from a page arrives with its product ---------------------------------


def opened_from() -> dict[str, callable]:
    """Where a report link is, and the product the report should be about (None: none)."""

    def product_page():
        product = next(iter(published(Product)))
        return f"/products/{product.slug}", product

    def one_product_brand():
        brand = brand_with(1)
        return f"/brands/{brand.slug}", next(p for p in brand.products if p.is_published)

    def several_products_brand():
        brand = brand_with(1)
        brand.products.append(next(p for p in published(Product) if p not in brand.products))
        db.session.commit()
        return f"/brands/{brand.slug}", None

    def one_product_enterprise():
        enterprise, product = enterprise_with_one_product()
        return f"/enterprises/{enterprise.slug}", product

    def product_passport():
        product = next(iter(published(Product)))
        return f"/q/{codes.code_for(product)}", product

    def authorization_passport():
        authorization = next(iter(published(Authorization)))
        return f"/q/{codes.code_for(authorization)}", authorization.sign.product

    def one_product_brand_passport():
        brand = brand_with(1)
        return f"/q/{codes.code_for(brand)}", next(p for p in brand.products if p.is_published)

    def one_product_enterprise_passport():
        enterprise, product = enterprise_with_one_product()
        return f"/q/{codes.code_for(enterprise)}", product

    return {
        "product page": product_page,
        "brand passport of one product": one_product_brand_passport,
        "enterprise passport of one product": one_product_enterprise_passport,
        "brand of one product": one_product_brand,
        "brand of several products": several_products_brand,
        "enterprise of one product": one_product_enterprise,
        "product passport": product_passport,
        "authorization passport": authorization_passport,
    }


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("where", list(opened_from()))
def test_report_link_prefills_the_product(client, where, lang):
    url, product = opened_from()[where]()
    links = hrefs(page(client, f"{url}?lang={lang}"), translated("Report a fake", lang))
    local = [h for h in links if urlsplit(h).path == "/report" and urlsplit(h).query]
    if product is None:
        assert local == []
        return
    assert local, where
    for link in local:
        assert parse_qs(urlsplit(link).query) == {"product": [product.slug]}
        form = page(client, f"{link}&lang={lang}")
        assert selected_product(form) == [str(product.id)]
        assert product.text("name", lang) in form


def draft_product_slug() -> str:
    product = next(iter(published(Product)))
    product.status = PublicationStatus.DRAFT
    db.session.commit()
    return product.slug


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    "value",
    [
        lambda: "no-such-product",
        lambda: "",
        lambda: str(next(iter(published(Product))).id),  # the form's value, not a slug
        lambda: next(iter(published(Product))).slug.upper(),
        lambda: "x" * 5000,
        lambda: "三亚芒果",
        lambda: "../admin",
        lambda: "a\x01b\u200b",  # NUL is a site-wide 400 (app/security.py)
        lambda: "%ZZ",
        draft_product_slug,
    ],
    ids=[
        "unknown",
        "empty",
        "id",
        "capitals",
        "long",
        "chinese",
        "path",
        "control",
        "bad-escape",
        "draft",
    ],
)
def test_bad_prefill_values_are_ignored_not_an_error(client, value, lang):
    response = client.get("/report", query_string={"product": value(), "lang": lang})
    assert response.status_code == 200
    assert selected_product(response.get_data(as_text=True)) == []


def test_a_repeated_product_parameter_uses_the_first(client):
    first, second = list(published(Product))[:2]
    response = client.get(f"/report?product={first.slug}&product={second.slug}")
    assert selected_product(response.get_data(as_text=True)) == [str(first.id)]


def test_a_post_keeps_what_the_reporter_chose_not_the_link(client, app):
    app.config["WTF_CSRF_ENABLED"] = False
    first, second = list(published(Product))[:2]
    response = client.post(
        f"/report?product={first.slug}&lang=en",
        data={"product": str(second.id), "where_bought": "", "description": ""},
    )
    assert response.status_code == 400  # missing fields: the form comes back
    assert selected_product(response.get_data(as_text=True)) == [str(second.id)]


# --- "check this code" and the verify result's links ----------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("status", ["valid", "expired", "revoked"])
def test_every_authorised_enterprise_row_has_a_check_this_code_link(client, status, lang):
    """Each row's link finds that authorization (by its number, else the credit code)."""
    product = next(iter(published(Authorization, auth_status=status))).sign.product
    text = page(client, f"/products/{product.slug}?lang={lang}")
    table = text.split('id="brand-h"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>.*?</tr>", table, re.S)
    links = hrefs(table, translated("Check this code", lang))
    assert rows and len(links) == len(rows)
    for link in links:
        assert urlsplit(link).path == "/verify"
        verdict = page(client, f"{link}&lang={lang}")
        assert 'class="verdict-list"' in verdict and "/enterprises/" in verdict


def verify_code_kinds() -> dict[str, callable]:
    def credit_code(a: Authorization) -> str:
        return a.enterprise.credit_code

    def authorization_number(a: Authorization) -> str:
        return a.number

    def spaced_lower_number(a: Authorization) -> str:
        return " " + a.number.lower() + " "

    return {
        "credit code": credit_code,
        "number": authorization_number,
        "typed": spaced_lower_number,
    }


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("status", ["valid", "expired", "revoked"])
@pytest.mark.parametrize("kind", list(verify_code_kinds()))
def test_verify_result_links_to_enterprise_and_product(client, kind, status, lang):
    authorization = db.session.scalar(
        select(Authorization)
        .where(Authorization.auth_status == status, Authorization.number.is_not(None))
        .order_by(Authorization.id)
    )
    code = verify_code_kinds()[kind](authorization)
    response = client.get("/verify", query_string={"code": code, "lang": lang})
    text = response.get_data(as_text=True)
    enterprise, product = authorization.enterprise, authorization.sign.product
    assert f'href="/enterprises/{enterprise.slug}"' in text
    assert f'<a href="/products/{product.slug}">{product.text("name", lang)}</a>' in text


def test_verify_result_names_an_unpublished_product_without_a_link(client):
    authorization = next(iter(published(Authorization, auth_status="valid")))
    product = authorization.sign.product
    product.status = PublicationStatus.DRAFT
    db.session.commit()
    text = page(client, f"/verify?code={authorization.enterprise.credit_code}&lang=en")
    assert product.text("name", "en") in text
    assert f'href="/products/{product.slug}"' not in text


# --- which product a report opened from a listing is about ----------------------------------


def draft(product: Product) -> Product:
    product.status = PublicationStatus.DRAFT
    db.session.flush()
    return product


def reported_from_cases() -> dict[str, callable]:
    """Each case gives (listing, the product expected or None)."""

    def brand_of_two():
        brand = brand_with(1)
        brand.products.append(next(p for p in published(Product) if p not in brand.products))
        return brand, None

    def brand_whose_product_is_a_draft():
        brand = brand_with(1)
        for product in list(brand.products):
            draft(product)
        return brand, None

    def enterprise_whose_product_is_a_draft():
        enterprise, product = enterprise_with_one_product()
        draft(product)
        return enterprise, None

    def first_product():
        return next(iter(published(Product)))

    return {
        "product": lambda: (first_product(), first_product()),
        "draft product": lambda: (draft(first_product()), None),
        "authorization": lambda: (
            (a := next(iter(published(Authorization)))),
            a.sign.product,
        ),
        "brand of one": lambda: (
            (b := brand_with(1)),
            next(p for p in b.products if p.is_published),
        ),
        "brand of two": brand_of_two,
        "brand whose product is a draft": brand_whose_product_is_a_draft,
        "enterprise of one": lambda: enterprise_with_one_product(),
        "enterprise whose product is a draft": enterprise_whose_product_is_a_draft,
        "county": lambda: (db.session.scalars(select(County)).first(), None),
        "nothing": lambda: (None, None),
    }


@pytest.mark.parametrize("case", list(reported_from_cases()))
def test_product_reported_from_a_listing(case):
    listing, expected = reported_from_cases()[case]()
    assert reports.product_reported_from(listing) is expected
