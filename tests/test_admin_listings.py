"""Creating and editing listings through the forms: county rights on the server, bad input
refused with a message in the user's language, escaped output, optimistic locking."""

import pytest
from sqlalchemy import event, select
from wtforms.fields.core import UnboundField

from app.admin.listing_forms import FORMS
from app.db import db
from app.models import Enterprise, Product
from app.models.listing import PublicationStatus
from app.services.listings import KINDS, EditConflict, edit_token, save_listing
from tests.admin_support import (
    add_sign,
    county,
    csrf_token,
    form_values,
    login,
    make_users,
    post_form,
    signed_in,
    wenchang_listings,
)

# Most tests here call services or db.session themselves (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("app_ctx")


CATEGORY_FRUIT = 1


def new_product_form(client, **overrides) -> dict:
    data = {
        "csrf_token": csrf_token(client, "/admin/products/new"),
        "name_zh": "文昌椰子糖",
        "name_en": "Wenchang coconut candy",
        "category_id": str(CATEGORY_FRUIT),
        "county_ids": [str(county("wenchang").id)],
        "summary_zh": "椰香浓郁",
        "season_months": ["1", "2"],
    }
    data.update(overrides)
    return data


def test_editor_creates_a_draft_product_in_their_county(app):
    client = signed_in(app, "editor_a")
    response = client.post("/admin/products/new", data=new_product_form(client))
    assert response.status_code == 302
    product = db.session.scalar(select(Product).where(Product.name_zh == "文昌椰子糖"))
    assert product.status == PublicationStatus.DRAFT
    assert product.slug == "wenchang-coconut-candy"
    assert [c.slug for c in product.counties] == ["wenchang"]
    assert product.season_months == [1, 2]
    assert response.headers["Location"] == f"/admin/products/{product.id}/edit"
    assert client.get(f"/products/{product.slug}").status_code == 404  # drafts are private


def test_editor_cannot_create_in_another_county_or_set_reviewer_fields(app):
    client = signed_in(app, "editor_a")
    sanya = county("sanya")
    response = client.post(
        "/admin/products/new?lang=en",
        data=new_product_form(
            client,
            county_ids=[str(sanya.id)],
            featured="y",
            province_wide="y",
            status="published",
            created_by_id="1",
        ),
    )
    assert response.status_code == 200
    assert "not a valid choice" in response.get_data(as_text=True).lower()
    assert db.session.scalar(select(Product).where(Product.name_zh == "文昌椰子糖")) is None
    # A valid county, plus fields the form does not have: they are ignored.
    response = client.post(
        "/admin/products/new",
        data=new_product_form(
            client, featured="y", province_wide="y", status="published", version="99"
        ),
    )
    product = db.session.scalar(select(Product).where(Product.name_zh == "文昌椰子糖"))
    assert product.status == PublicationStatus.DRAFT
    assert product.featured is False and product.province_wide is False


def test_foreign_editor_gets_403_and_nothing_changes(app):
    make_users()
    listings = wenchang_listings()
    client = app.test_client()
    login(client, "editor_b")
    for key, obj in listings.items():
        before = KINDS[key].current_values(obj)
        response = client.post(
            f"/admin/{key}/{obj.id}/edit?lang=en",
            data={
                "csrf_token": csrf_token(client, "/admin/"),
                "name_zh": "被篡改",
                "county_id": str(county("sanya").id),
                "status": "archived",
                "version": str(obj.version),
            },
        )
        assert response.status_code == 403, key
        assert "county you are not assigned to" in response.get_data(as_text=True)
        db.session.expire_all()
        assert KINDS[key].current_values(db.session.get(KINDS[key].model, obj.id)) == before


def test_editor_keeps_other_counties_of_a_shared_product(app):
    """A product of Wenchang and Qionghai: the Wenchang editor's save cannot drop Qionghai."""
    make_users()
    product = wenchang_listings()["products"]
    product.counties.append(county("qionghai"))
    product.status = PublicationStatus.DRAFT
    db.session.commit()
    client = app.test_client()
    login(client, "editor_a")
    page = client.get(f"/admin/products/{product.id}/edit").get_data(as_text=True)
    data = form_values(page)
    data.update(
        {
            "category_id": str(product.category_id),
            "county_ids": [str(county("wenchang").id)],
            "name_en": "Wenchang chicken (edited)",
        }
    )
    response = client.post(f"/admin/products/{product.id}/edit", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    product = db.session.get(Product, product.id)
    assert product.name_en == "Wenchang chicken (edited)"
    assert {c.slug for c in product.counties} == {"wenchang", "qionghai"}


@pytest.mark.parametrize(
    "lang, message", [("en", "At most 128 characters"), ("zh", "最多 128 个字符")]
)
def test_over_long_fields_get_an_inline_message_in_the_users_language(app, lang, message):
    client = signed_in(app, "editor_a")
    response = client.post(
        f"/admin/products/new?lang={lang}", data=new_product_form(client, name_zh="长" * 129)
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html and 'aria-invalid="true"' in html
    assert db.session.scalar(select(Product).where(Product.name_zh.like("长长%"))) is None


def test_required_fields_are_reported(app):
    client = signed_in(app, "editor_a")
    response = client.post("/admin/products/new?lang=en", data=new_product_form(client, name_zh=""))
    assert "This field is required." in response.get_data(as_text=True)


def test_html_and_script_are_escaped_in_every_text_field(app):
    client = signed_in(app, "reviewer")
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    fields = (
        "name_en",
        "summary_zh",
        "summary_en",
        "description_zh",
        "description_en",
        "characteristics_zh",
        "characteristics_en",
    )
    data = new_product_form(client, slug="escaped-product", **{f: attack for f in fields})
    data["name_zh"] = attack
    assert client.post("/admin/products/new", data=data).status_code == 302
    product = db.session.scalar(select(Product).where(Product.slug == "escaped-product"))
    assert product.name_zh == attack  # stored as typed...
    edit, preview = f"/admin/products/{product.id}/edit", f"/admin/products/{product.id}/preview"
    for url in (edit, preview, "/admin/products/", "/admin/"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;" in html, url
    add_sign(product)
    token = csrf_token(client, f"/admin/products/{product.id}/edit")
    client.post(f"/admin/products/{product.id}/publish", data={"csrf_token": token})
    public = app.test_client().get("/products/escaped-product").get_data(as_text=True)
    assert "<script>alert" not in public and "&lt;script&gt;" in public


VALID_CREDIT_CODE = "91460000MA5T0000XX"


def _valid_code() -> str:
    from app.models.enterprises import credit_code_check_char

    first17 = "91460000MA5T00001"
    return first17 + credit_code_check_char(first17)


@pytest.mark.parametrize(
    "website",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>1</script>",
        "//evil.example",
        "ftp://x.example",
    ],
)
def test_website_must_be_http(app, website):
    client = signed_in(app, "editor_a")
    response = post_form(
        client,
        "/admin/enterprises/new?lang=en",
        {
            "name_zh": "测试企业",
            "credit_code": _valid_code(),
            "county_id": str(county("wenchang").id),
            "website": website,
        },
    )
    assert response.status_code == 200
    assert "starting with http:// or https://" in response.get_data(as_text=True)
    assert db.session.scalar(select(Enterprise).where(Enterprise.name_zh == "测试企业")) is None


def test_enterprise_credit_code_is_checked(app):
    client = signed_in(app, "editor_a")
    base = {
        "name_zh": "测试企业",
        "county_id": str(county("wenchang").id),
        "website": "https://example.com",
    }
    bad = _valid_code()[:17] + ("0" if _valid_code()[17] != "0" else "1")
    response = client.post(
        "/admin/enterprises/new?lang=en",
        data={
            **base,
            "csrf_token": csrf_token(client, "/admin/enterprises/new"),
            "credit_code": bad,
        },
    )
    assert "not a valid unified social credit code" in response.get_data(as_text=True)
    response = client.post(
        "/admin/enterprises/new",
        data={
            **base,
            "csrf_token": csrf_token(client, "/admin/enterprises/new"),
            "credit_code": _valid_code().lower(),
        },
    )
    assert response.status_code == 302
    enterprise = db.session.scalar(select(Enterprise).where(Enterprise.name_zh == "测试企业"))
    assert enterprise.credit_code == _valid_code() and enterprise.county_id == county("wenchang").id
    # The same code twice is refused on the field, not with a 500.
    response = client.post(
        "/admin/enterprises/new?lang=en",
        data={
            **base,
            "name_zh": "另一企业",
            "csrf_token": csrf_token(client, "/admin/enterprises/new"),
            "credit_code": _valid_code(),
        },
    )
    assert response.status_code == 200
    assert "already used by another listing" in response.get_data(as_text=True)


def test_every_kind_can_be_created_by_a_reviewer(app):
    make_users()
    listings = wenchang_listings()
    client = app.test_client()
    login(client, "reviewer")
    product, enterprise, sign = listings["products"], listings["enterprises"], listings["signs"]
    cases = {
        "signs": {
            "product_id": product.id,
            "regime": "gi_trademark",
            "official_name_zh": "文昌鸡（新）",
            "approval_year": "2020",
            "sign_status": "valid",
        },
        "brands": {
            "name_zh": "新品牌",
            "kind": "enterprise",
            "owner_id": enterprise.id,
            "product_ids": [product.id],
        },
        "authorizations": {
            "enterprise_id": enterprise.id,
            "sign_id": sign.id,
            "number": "A-1",
            "valid_from": "2024-01-01",
            "valid_to": "2026-12-31",
            "auth_status": "valid",
        },
        "industry-facts": {
            "product_id": product.id,
            "year": "2031",
            "output_tonnes": "12.5",
            "source": "县农业农村局",
            "source_url": "https://example.gov.cn/x",
        },
    }
    for key, data in cases.items():
        data = {
            k: ([str(i) for i in v] if isinstance(v, list) else str(v)) for k, v in data.items()
        }
        response = client.post(
            f"/admin/{key}/new",
            data={**data, "csrf_token": csrf_token(client, f"/admin/{key}/new")},
        )
        assert response.status_code == 302, (key, response.get_data(as_text=True)[-3000:])
        assert client.get(response.headers["Location"]).status_code == 200


def test_authorization_dates_in_the_wrong_order_are_refused(app):
    make_users()
    listings = wenchang_listings()
    client = app.test_client()
    login(client, "reviewer")
    response = post_form(
        client,
        "/admin/authorizations/new?lang=en",
        {
            "enterprise_id": listings["enterprises"].id,
            "sign_id": listings["signs"].id,
            "valid_from": "2025-01-01",
            "valid_to": "2024-01-01",
            "auth_status": "valid",
        },
    )
    assert "The end date is before the start date." in response.get_data(as_text=True)


def test_concurrent_edit_shows_a_conflict_and_overwrites_nothing(app):
    make_users()
    product = wenchang_listings()["products"]
    product.status = PublicationStatus.DRAFT
    db.session.commit()
    alice, bob = app.test_client(), app.test_client()
    login(alice, "editor_a")
    login(bob, "reviewer")
    url = f"/admin/products/{product.id}/edit"
    alice_form, bob_form = (
        form_values(alice.get(url).get_data(as_text=True)),
        form_values(bob.get(url).get_data(as_text=True)),
    )
    for form in (alice_form, bob_form):
        form.update(
            {"category_id": str(product.category_id), "county_ids": [str(county("wenchang").id)]}
        )
    bob_form["name_en"] = "Bob's name"
    assert bob.post(url, data=bob_form).status_code == 302
    alice_form["name_en"] = "Alice's name"
    response = alice.post(url + "?lang=en", data=alice_form)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Alice&#39;s name" in html and "Bob&#39;s name" in html
    assert "Nothing was saved" in html
    db.session.expire_all()
    assert db.session.get(Product, product.id).name_en == "Bob's name"


def test_stale_write_race_is_a_conflict_not_a_lost_update(app):
    """The token check passes but another transaction commits first: the version column
    makes the UPDATE match no row, and the service reports a conflict."""
    people = make_users()
    product = wenchang_listings()["products"]
    product.status = PublicationStatus.DRAFT
    db.session.commit()
    kind = KINDS["products"]
    token = edit_token(kind, product)
    values = kind.current_values(product)
    # Another server bumps the version behind this session's back.
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE products SET version = version + 1, name_en = 'other' "
            f"WHERE id = {product.id:d}"
        )
    with pytest.raises(EditConflict):
        save_listing(kind, product, {**values, "name_en": "mine"}, people["reviewer"], token)
    db.session.rollback()
    assert db.session.get(Product, product.id).name_en == "other"


def test_edit_without_csrf_token_is_400_and_changes_nothing(app):
    make_users()
    product = wenchang_listings()["products"]
    product.status = PublicationStatus.DRAFT
    db.session.commit()
    client = app.test_client()
    login(client, "editor_a")
    url = f"/admin/products/{product.id}/edit"
    data = form_values(client.get(url).get_data(as_text=True))
    data.pop("csrf_token")
    data.update({"category_id": str(product.category_id), "name_en": "no token"})
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    data["csrf_token"] = "stale-or-forged"
    assert client.post(url, data=data).status_code == 400
    db.session.expire_all()
    assert db.session.get(Product, product.id).name_en != "no token"


@pytest.mark.parametrize(
    "key, data",
    [
        (
            "signs",
            {
                "regime": "agri_gi",
                "sign_status": "valid",
                "official_name_zh": "{x}",
                "official_name_en": "{x}",
                "holder_zh": "{x}",
                "notes": "{x}",
            },
        ),
        (
            "brands",
            {
                "kind": "enterprise",
                "name_zh": "{x}",
                "name_en": "{x}",
                "holder_zh": "{x}",
                "description_en": "{x}",
            },
        ),
        (
            "enterprises",
            {
                "name_zh": "{x}",
                "name_en": "{x}",
                "address_zh": "{x}",
                "phone": "{x}",
                "description_zh": "{x}",
            },
        ),
    ],
)
def test_markup_is_escaped_for_other_kinds(app, key, data):
    make_users()
    listings = wenchang_listings()
    client = app.test_client()
    login(client, "reviewer")
    attack = '"><script>alert(1)</script>'
    data = {k: v.replace("{x}", attack) for k, v in data.items()}
    data.update(
        {
            "product_id": listings["products"].id,
            "owner_id": listings["enterprises"].id,
            "county_id": county("wenchang").id,
            "credit_code": _valid_code(),
        }
    )
    response = client.post(
        f"/admin/{key}/new",
        data={
            **{k: str(v) for k, v in data.items()},
            "csrf_token": csrf_token(client, f"/admin/{key}/new"),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    for url in (response.headers["Location"], f"/admin/{key}/", "/admin/"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html, url


def test_the_edit_page_reads_the_pending_revision_once(app):
    make_users()
    product = wenchang_listings()["products"]
    assert product.status == PublicationStatus.PUBLISHED
    client = app.test_client()
    login(client, "editor_a")
    url = f"/admin/products/{product.id}/edit"
    form = form_values(client.get(url).get_data(as_text=True))
    form.update({"category_id": str(product.category_id), "name_en": "Revised name"})
    form["county_ids"] = [str(county("wenchang").id)]
    assert client.post(url, data=form).status_code == 302  # a published listing: a revision

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "FROM listing_revisions" in statement:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        html = client.get(url + "?lang=en").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert "Revised name" in html and "Changes waiting to be published" in html
    assert len(statements) == 1


def test_every_form_field_is_a_declared_field_of_its_kind(app):
    """The forms carry validators only: names, labels and order come from the kind."""
    for key, kind in KINDS.items():
        form_class = FORMS[key]
        fields = {n for n in dir(form_class) if isinstance(getattr(form_class, n), UnboundField)}
        assert fields - {"version"} == set(kind.names), key
