"""The review workflow end to end through the views, and the audit log it leaves."""

import json

import pytest
from sqlalchemy import select

from app.db import db
from app.models import AuditEntry, ListingRevision, Product, ReviewNote
from app.models.listing import PublicationStatus
from app.services.audit import verify_chain
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


def post_step(client, key: str, obj_id: int, step: str, **data):
    token = csrf_token(client, f"/admin/{key}/{obj_id}/edit")
    return client.post(f"/admin/{key}/{obj_id}/{step}", data={"csrf_token": token, **data})


def create_product(client, name_en="Wenchang coconut candy") -> Product:
    post_form(
        client,
        "/admin/products/new",
        {
            "name_zh": "文昌椰子糖",
            "name_en": name_en,
            "category_id": "1",
            "county_ids": [str(county("wenchang").id)],
            "description_zh": "椰子糖",
        },
    )
    product = db.session.scalar(select(Product).where(Product.name_en == name_en))
    add_sign(product)
    return product


def post_new_account(client, email: str, url: str = "/admin/users/new", **fields):
    """POST the new-account form: an editor with a strong password; `fields` add to or replace
    the defaults (county_ids=None leaves the counties out)."""
    data = {"email": email, "role": "editor", "password": "Harbour-ferry-of-Hainan-5", **fields}
    return post_form(client, url, {k: v for k, v in data.items() if v is not None})


@pytest.fixture
def editor_and_reviewer(app):
    """A Wenchang editor and a reviewer, each signed in on a client of their own."""
    make_users()
    editor, reviewer = app.test_client(), app.test_client()
    login(editor, "editor_a")
    login(reviewer, "reviewer")
    return editor, reviewer


def test_draft_submit_publish_reaches_the_public_page(app, editor_and_reviewer):
    editor, reviewer = editor_and_reviewer
    public = app.test_client()
    product = create_product(editor)
    assert public.get(f"/products/{product.slug}").status_code == 404
    # The editor cannot publish; a reviewer sees nothing until it is submitted.
    assert post_step(editor, "products", product.id, "publish").status_code == 403
    assert "文昌椰子糖" not in reviewer.get("/admin/").get_data(as_text=True).split("<h2>")[1]
    assert post_step(editor, "products", product.id, "submit").status_code == 302
    db.session.expire_all()
    assert db.session.get(Product, product.id).status == PublicationStatus.SUBMITTED
    waiting = reviewer.get("/admin/").get_data(as_text=True)
    assert f"/admin/products/{product.id}/edit" in waiting.split("<h2>")[1]
    assert "文昌椰子糖" in editor.get("/admin/?lang=en").get_data(as_text=True)
    assert post_step(reviewer, "products", product.id, "publish").status_code == 302
    page = public.get(f"/products/{product.slug}?lang=en")
    assert page.status_code == 200 and "Wenchang coconut candy" in page.get_data(as_text=True)


def test_return_with_comment_goes_back_to_the_editor(editor_and_reviewer):
    editor, reviewer = editor_and_reviewer
    product = create_product(editor)
    post_step(editor, "products", product.id, "submit")
    # A return without a comment is refused and changes nothing.
    post_step(reviewer, "products", product.id, "return", comment="  ")
    db.session.expire_all()
    assert db.session.get(Product, product.id).status == PublicationStatus.SUBMITTED
    post_step(reviewer, "products", product.id, "return", comment="请补充英文简介")
    db.session.expire_all()
    assert db.session.get(Product, product.id).status == PublicationStatus.DRAFT
    board = editor.get("/admin/").get_data(as_text=True)
    assert "请补充英文简介" in board
    assert db.session.scalar(select(ReviewNote.body)) == "请补充英文简介"


def test_editing_a_published_listing_stays_private_until_published(app, editor_and_reviewer):
    editor, reviewer = editor_and_reviewer
    public = app.test_client()
    product = wenchang_listings()["products"]
    live_name = product.name_en
    url = f"/admin/products/{product.id}/edit"
    data = form_values(editor.get(url).get_data(as_text=True))
    data.update(
        {
            "category_id": str(product.category_id),
            "county_ids": [str(county("wenchang").id)],
            "name_en": "Wenchang chicken, half-done edit",
        }
    )
    assert editor.post(url, data=data).status_code == 302
    db.session.expire_all()
    product = db.session.get(Product, product.id)
    assert product.name_en == live_name and product.status == PublicationStatus.PUBLISHED
    assert "half-done" not in public.get(f"/products/{product.slug}?lang=en").get_data(as_text=True)
    # The form shows the pending revision, not the live row.
    assert "half-done" in editor.get(url).get_data(as_text=True)
    revision = db.session.scalar(select(ListingRevision))
    assert json.loads(revision.data)["name_en"] == "Wenchang chicken, half-done edit"
    # Reviewer cannot see it as waiting until it is submitted; then publishes it.
    post_step(editor, "products", product.id, "submit")
    board = reviewer.get("/admin/").get_data(as_text=True).split("<h2>")[1]
    assert url in board
    review_page = reviewer.get(url).get_data(as_text=True)
    assert "Changes waiting to be published" in review_page or "待发布的修改" in review_page
    assert post_step(reviewer, "products", product.id, "publish").status_code == 302
    db.session.expire_all()
    assert db.session.get(Product, product.id).name_en == "Wenchang chicken, half-done edit"
    assert "half-done" in public.get(f"/products/{product.slug}?lang=en").get_data(as_text=True)
    publish = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "publish"))
    assert publish.changes["name_en"] == [live_name, "Wenchang chicken, half-done edit"]


def test_archive_takes_a_listing_out_and_restore_brings_back_a_draft(app, editor_and_reviewer):
    editor, reviewer = editor_and_reviewer
    product = wenchang_listings()["products"]
    assert post_step(editor, "products", product.id, "archive").status_code == 403
    assert post_step(reviewer, "products", product.id, "archive").status_code == 302
    assert app.test_client().get(f"/products/{product.slug}").status_code == 404
    assert post_step(editor, "products", product.id, "restore").status_code == 302
    db.session.expire_all()
    assert db.session.get(Product, product.id).status == PublicationStatus.DRAFT


def test_every_step_is_audited_with_field_level_changes_and_the_chain_holds(editor_and_reviewer):
    editor, reviewer = editor_and_reviewer
    product = create_product(editor)
    url = f"/admin/products/{product.id}/edit"
    data = form_values(editor.get(url).get_data(as_text=True))
    data.update(
        {"category_id": "1", "county_ids": [str(county("wenchang").id)], "name_en": "Renamed"}
    )
    editor.post(url, data=data)
    post_step(editor, "products", product.id, "submit")
    post_step(reviewer, "products", product.id, "publish")
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    actions = [e.action for e in entries]
    assert actions[-4:] == ["create", "update", "submit", "publish"]
    update = next(e for e in entries if e.action == "update")
    assert update.changes == {"name_en": ["Wenchang coconut candy", "Renamed"]}
    assert update.actor_email == "wenchang@hainan.example" and update.object_id == product.id
    assert verify_chain().ok


def test_dashboard_shows_each_editor_only_their_counties_work(app):
    make_users()
    wenchang_editor, sanya_editor = app.test_client(), app.test_client()
    login(wenchang_editor, "editor_a")
    login(sanya_editor, "editor_b")
    product = create_product(wenchang_editor)
    assert f"/admin/products/{product.id}/edit" in wenchang_editor.get("/admin/").get_data(
        as_text=True
    )
    assert f"/admin/products/{product.id}/edit" not in sanya_editor.get("/admin/").get_data(
        as_text=True
    )
    assert "文昌椰子糖" not in sanya_editor.get("/admin/products/?status=draft").get_data(
        as_text=True
    )
    assert "文昌椰子糖" in wenchang_editor.get("/admin/products/?status=draft").get_data(
        as_text=True
    )


def test_admin_creates_and_disables_an_account_in_the_browser_forms(app):
    from app.models import User

    admin = signed_in(app, "admin")
    response = post_new_account(
        admin, "haikou@hainan.example", county_ids=[str(county("haikou").id)]
    )
    assert response.status_code == 302
    newcomer = db.session.scalar(select(User).where(User.email == "haikou@hainan.example"))
    assert [c.slug for c in newcomer.counties] == ["haikou"]
    session = app.test_client()
    assert login(session, "haikou@hainan.example", "Harbour-ferry-of-Hainan-5").status_code == 302
    response = post_form(
        admin,
        f"/admin/users/{newcomer.id}/edit",
        {
            "role": "editor",
            "county_ids": [str(county("haikou").id)],
        },
    )  # "active" unticked
    assert response.status_code == 302
    assert session.get("/admin/").status_code == 302
    actions = db.session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.object_id == newcomer.id, AuditEntry.object_type == "user"
        )
    ).all()
    assert "user_create" in actions and "user_update" in actions


def test_account_form_errors_show_on_their_field(app):
    admin = signed_in(app, "admin")
    response = post_new_account(
        admin,
        "wenchang@hainan.example",
        "/admin/users/new?lang=en",
        county_ids=[str(county("haikou").id)],
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="email-err"' in html and "already exists" in html
    response = post_new_account(admin, "new@hainan.example", "/admin/users/new?lang=en")
    assert 'id="county_ids-err"' in response.get_data(as_text=True)
