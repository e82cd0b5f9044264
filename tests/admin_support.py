"""Helpers for the back-office tests: accounts for each role, signing in with a real CSRF
token, and finding seed listings of a county."""

import html as html_lib
import re

from sqlalchemy import select

from app.db import db
from app.models.brands import Brand, brand_products
from app.models.enterprises import Authorization, Enterprise
from app.models.industry import IndustryFact
from app.models.places import County
from app.models.products import Product, product_counties
from app.models.signs import GISign
from app.models.users import Role, User
from app.services import accounts

PASSWORD = "Correct-horse-battery-9"
EMAILS = {
    "admin": "admin@hainan.example",
    "reviewer": "reviewer@hainan.example",
    "editor_a": "wenchang@hainan.example",  # county A: Wenchang
    "editor_b": "sanya@hainan.example",  # county B: Sanya
}
_TOKEN = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def county(slug: str) -> County:
    return db.session.scalar(select(County).where(County.slug == slug))


def make_users() -> dict:
    people = {
        "admin": accounts.create_user(EMAILS["admin"], PASSWORD, Role.ADMIN, []),
        "reviewer": accounts.create_user(EMAILS["reviewer"], PASSWORD, Role.REVIEWER, []),
        "editor_a": accounts.create_user(
            EMAILS["editor_a"], PASSWORD, Role.EDITOR, [county("wenchang")]
        ),
        "editor_b": accounts.create_user(
            EMAILS["editor_b"], PASSWORD, Role.EDITOR, [county("sanya")]
        ),
    }
    db.session.commit()
    return people


def csrf_token(client, url: str = "/admin/login") -> str:
    html = client.get(url).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1) or match.group(2)


def post_form(client, url: str, data: dict):
    """POST a back-office form as a browser would: `data` plus the CSRF token of the form's
    own page (`url` without its query string)."""
    token = csrf_token(client, url.split("?")[0])
    return client.post(url, data={"csrf_token": token, **data})


def login(client, who: str, password: str = PASSWORD, **fields: str):
    """Sign in through the form as `who` (a key of EMAILS, or an email address); `fields`
    are the form's other fields (next=...)."""
    token = csrf_token(client)
    return client.post(
        "/admin/login",
        data={
            "csrf_token": token,
            "email": EMAILS.get(who, who),
            "password": password,
            **fields,
        },
    )


def signed_in(app, who: str):
    """A test client of app signed in as `who` (a key of EMAILS), the accounts made first."""
    make_users()
    client = app.test_client()
    login(client, who)
    return client


def wenchang_listings() -> dict:
    """One seed listing of each kind that belongs to Wenchang (county A)."""
    wenchang = county("wenchang")
    product = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    enterprise = db.session.scalar(
        select(Enterprise).where(Enterprise.county_id == wenchang.id).limit(1)
    )
    in_wenchang = select(product_counties.c.product_id).where(
        product_counties.c.county_id == wenchang.id
    )
    brand = db.session.scalar(
        select(Brand)
        .where(
            (Brand.owner_id == enterprise.id)
            | Brand.id.in_(
                select(brand_products.c.brand_id).where(
                    brand_products.c.product_id.in_(in_wenchang)
                )
            )
        )
        .limit(1)
    )
    return {
        "products": product,
        "signs": db.session.scalar(select(GISign).where(GISign.product_id == product.id).limit(1)),
        "brands": brand,
        "enterprises": enterprise,
        "authorizations": db.session.scalar(
            select(Authorization).where(Authorization.enterprise_id == enterprise.id).limit(1)
        ),
        "industry-facts": db.session.scalar(
            select(IndustryFact).where(IndustryFact.product_id.in_(in_wenchang)).limit(1)
        ),
    }


def form_values(html: str) -> dict:
    """The values of a rendered form's text inputs, selects and textareas (for re-posting)."""
    values = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if not name or not value:
            continue
        if 'type="checkbox"' in tag:
            if "checked" in tag:
                values.setdefault(name.group(1), []).append(html_lib.unescape(value.group(1)))
            continue
        values[name.group(1)] = html_lib.unescape(value.group(1))
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        values[name] = html_lib.unescape(body.strip("\r\n"))
    return values


def jpeg_bytes(size=(64, 48), colour=(200, 30, 30)) -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


def qr_admin_objects(app) -> dict:
    """A Wenchang counterfeit report with a photo and an expo with one booth: the ids the
    report and expo routes of the role x route matrix need."""
    from datetime import date

    from app.services import expos, reports

    product = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    photo = reports.store_photo(app.config["INSTANCE_DIR"] / "reports", jpeg_bytes())
    report = reports.submit_report(
        where_bought="Market stall",
        description="Label looks printed at home",
        product=product,
        photo_name=photo,
    )
    expo = expos.create_event("matrix-expo", "矩阵博览会", date(2030, 5, 1), date(2030, 5, 3))
    booth = expos.add_booth(expo, "M-1", products=[product])
    db.session.commit()
    return {"report_id": report.id, "event_id": expo.id, "booth_id": booth.id}


def editor_of(*slugs: str) -> User:
    """An editor of these counties: imports and exports go through their access rights."""
    counties = list(db.session.scalars(select(County).where(County.slug.in_(slugs))))
    email = "-".join(slugs) + "@editors.example"
    found = db.session.scalar(select(User).where(User.email == email))
    return found or accounts.create_user(email, PASSWORD, Role.EDITOR, counties)


def provincial() -> User:
    """A reviewer of the provincial office: every county."""
    email = "province@reviewers.example"
    found = db.session.scalar(select(User).where(User.email == email))
    return found or accounts.create_user(email, PASSWORD, Role.REVIEWER, [])


def add_sign(product: Product, name_zh: str = "测试地理标志") -> GISign:
    """A draft GI sign for `product`, committed: a product's page needs one before it can be
    submitted or published (app/services/listings.py REQUIREMENTS)."""
    from app.models.signs import Regime

    sign = GISign(product_id=product.id, regime=Regime.GI_TRADEMARK, official_name_zh=name_zh)
    db.session.add(sign)
    db.session.commit()
    return sign
