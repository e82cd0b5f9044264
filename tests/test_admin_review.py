"""The reviewer's tools: completeness rules that block submit and publish, the preview of
the public page, the field-by-field diff, the queue's columns and the audit log's words."""

import re

import pytest
from sqlalchemy import select, update

from app.db import db
from app.models import GISign, ListingRevision
from app.models.listing import PublicationStatus
from app.models.revisions import RevisionState
from app.services import listings, review, workflow
from app.services.listings import KINDS, REQUIREMENTS
from tests.admin_support import (
    add_sign,
    county,
    csrf_token,
    login,
    make_users,
    post_form,
    wenchang_listings,
)

pytestmark = pytest.mark.usefixtures("app_ctx")


def client_of(app, who: str):
    client = app.test_client()
    assert login(client, who).status_code == 302
    return client


def step(client, kind_key: str, obj_id: int, name: str, lang: str = "en"):
    """Press a workflow button and follow the redirect to the page with the message."""
    token = csrf_token(client, f"/admin/{kind_key}/{obj_id}/edit")
    return client.post(
        f"/admin/{kind_key}/{obj_id}/{name}?lang={lang}",
        data={"csrf_token": token},
        follow_redirects=True,
    )


def revise(kind_key: str, obj, actor, **changes) -> None:
    """Save a pending revision of a published listing with these values changed."""
    kind = KINDS[kind_key]
    values = {**listings.working_values(kind, obj), **changes}
    listings.save_listing(kind, obj, values, actor, listings.edit_token(kind, obj))
    db.session.commit()


# --- completeness -------------------------------------------------------------------------------

# Per requirement: the values that take it away (the product's sign is taken by archiving).
BREAKS = {
    ("products", "name"): {"name_zh": ""},
    ("products", "description"): {"description_zh": ""},
    ("products", "category"): {"category_id": None},
    ("products", "county"): {"county_ids": [], "province_wide": False},
    ("products", "sign"): {"name_en": "Still has no sign"},
    ("signs", "product"): {"product_id": None},
    ("signs", "regime"): {"regime": None},
    ("signs", "name"): {"official_name_zh": ""},
    ("signs", "number"): {"number": None, "source": None, "verified": True},
    ("brands", "name"): {"name_zh": ""},
    ("brands", "product"): {"product_ids": []},
    ("brands", "holder"): {"holder_zh": None, "owner_id": None},
    ("enterprises", "name"): {"name_zh": ""},
    ("enterprises", "credit_code"): {"credit_code": ""},
    ("enterprises", "county"): {"county_id": None},
    ("authorizations", "enterprise"): {"enterprise_id": None},
    ("authorizations", "sign"): {"sign_id": None},
    ("industry-facts", "product"): {"product_id": None},
    ("industry-facts", "year"): {"year": None},
    ("industry-facts", "source"): {"source": ""},
}


def test_every_declared_requirement_has_a_case():
    declared = {(key, need.key) for key, needs in REQUIREMENTS.items() for need in needs}
    assert declared == set(BREAKS)
    assert set(REQUIREMENTS) == set(KINDS)


@pytest.mark.parametrize(("kind_key", "need_key"), sorted(BREAKS))
def test_each_missing_requirement_blocks_submit_and_publish(app, kind_key, need_key):
    people = make_users()
    kind = KINDS[kind_key]
    obj = wenchang_listings()[kind_key]
    need = next(n for n in REQUIREMENTS[kind_key] if n.key == need_key)
    assert need.met(listings.working_values(kind, obj), obj), "the seed listing meets it"
    if need_key == "sign":
        db.session.execute(
            update(GISign)
            .where(GISign.product_id == obj.id)
            .values(status=PublicationStatus.ARCHIVED)
        )
        db.session.commit()
    revise(kind_key, obj, people["reviewer"], **BREAKS[(kind_key, need_key)])
    version = obj.version
    with app.test_request_context("/?lang=en"):
        label = str(need.label)

    editor, reviewer = client_of(app, "editor_a"), client_of(app, "reviewer")
    for client, name, words in (
        (editor, "submit", "cannot be submitted yet"),
        (reviewer, "publish", "cannot be published yet"),
    ):
        page = step(client, kind_key, obj.id, name).get_data(as_text=True)
        flash = re.search(r'<p class="flash flash-error"[^>]*>(.*?)</p>', page, re.S)
        assert flash and words in flash.group(1), (name, page[:200])
        assert label.replace("'", "&#39;") in flash.group(1)
        # The checklist marks the same item missing, linked to its field or form.
        item = re.search(rf'<li class="(\w+)" data-need="{need_key}">(.*?)</li>', page, re.S)
        assert item and item.group(1) == "missing" and "<a href=" in item.group(2)
    db.session.expire_all()
    revision = db.session.scalar(select(ListingRevision))
    assert revision.state == RevisionState.DRAFT
    live = listings.get_listing(kind, obj.id)
    assert live.status == PublicationStatus.PUBLISHED and live.version == version


def test_a_new_product_is_refused_until_complete_then_accepted_in_chinese(app):
    make_users()
    editor = client_of(app, "editor_a")
    data = {"name_zh": "文昌椰子糖", "category_id": "1", "county_ids": [str(county("wenchang").id)]}
    assert post_form(editor, "/admin/products/new", data).status_code == 302
    product = db.session.scalar(
        select(listings.KINDS["products"].model).where(
            listings.KINDS["products"].model.name_zh == "文昌椰子糖"
        )
    )
    page = step(editor, "products", product.id, "submit", lang="zh").get_data(as_text=True)
    assert "该条目暂不能提交审核，尚缺：中文简介, 至少一个地理标志。" in page
    assert page.count('class="missing"') == 2
    add_sign(product)
    edit = f"/admin/products/{product.id}/edit"
    token = csrf_token(editor, edit)
    form = {"csrf_token": token, "version": str(product.version), **data}
    form["description_zh"] = "椰香浓郁"
    assert editor.post(edit, data=form).status_code == 302
    page = step(editor, "products", product.id, "submit", lang="zh").get_data(as_text=True)
    assert "已提交审核" in page and 'class="missing"' not in page


def test_a_required_select_left_on_choose_is_a_form_message_not_an_error(app):
    make_users()
    editor = client_of(app, "editor_a")
    data = {"name_zh": "文昌椰子糖", "category_id": "", "county_ids": [str(county("wenchang").id)]}
    response = post_form(editor, "/admin/products/new?lang=en", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "This field is required." in html
    assert re.search(r'<select[^>]*id="category_id"[^>]*>\s*<option selected value="">', html)


# --- preview ------------------------------------------------------------------------------------

ROLE_STATUS = [("anonymous", 302), ("editor_b", 403), ("editor_a", 200), ("reviewer", 200)]


@pytest.mark.parametrize(("role", "status"), ROLE_STATUS)
def test_preview_is_for_that_countys_officials_and_reviewers_only(app, role, status):
    people = make_users()
    product = wenchang_listings()["products"]
    revise("products", product, people["editor_a"], name_en="Wenchang chicken, soon")
    client = app.test_client() if role == "anonymous" else client_of(app, role)
    response = client.get(f"/admin/products/{product.id}/preview?lang=en")
    assert response.status_code == status
    assert "no-store" in response.headers["Cache-Control"]
    if role == "anonymous":
        assert response.headers["Location"].startswith("/admin/login")
    html = response.get_data(as_text=True)
    if status == 200:
        assert "Preview — not published" in html and "Wenchang chicken, soon" in html
        assert '<meta name="robots" content="noindex, nofollow">' in html
        assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
        assert 'rel="canonical"' not in html
    else:
        assert "Wenchang chicken, soon" not in html


@pytest.mark.parametrize("kind_key", sorted(KINDS))
def test_preview_renders_each_kind_on_its_public_page_and_changes_nothing(app, kind_key):
    people = make_users()
    obj = wenchang_listings()[kind_key]
    kind = KINDS[kind_key]
    before = (kind.current_values(obj), obj.version)
    field = {
        "products": "name_en",
        "signs": "official_name_zh",
        "brands": "name_en",
        "enterprises": "name_en",
        "authorizations": "number",
        "industry-facts": "source",
    }[kind_key]
    revise(kind_key, obj, people["reviewer"], **{field: "PREVIEWED-VALUE-42"})
    html = client_of(app, "reviewer").get(f"/admin/{kind_key}/{obj.id}/preview?lang=en")
    assert html.status_code == 200
    assert "PREVIEWED-VALUE-42" in html.get_data(as_text=True)
    db.session.expire_all()
    live = listings.get_listing(kind, obj.id)
    assert (kind.current_values(live), live.version) == before


def test_preview_of_a_sign_without_its_product_says_so(app):
    people = make_users()
    sign = wenchang_listings()["signs"]
    revise("signs", sign, people["reviewer"], product_id=None)
    response = client_of(app, "reviewer").get(f"/admin/signs/{sign.id}/preview?lang=en")
    assert response.status_code == 409
    assert "no page to preview yet" in response.get_data(as_text=True)


# --- the diff -----------------------------------------------------------------------------------


def test_diff_lists_only_changed_fields_with_names_not_ids(app):
    people = make_users()
    product = wenchang_listings()["products"]
    kind = KINDS["products"]
    assert review.diff_rows(kind, product) == []  # published, nothing pending
    old_name = product.name_en
    haikou = county("haikou")
    revise("products", product, people["reviewer"], name_en="New name", county_ids=[haikou.id])
    rows = review.diff_rows(kind, product)
    assert [(r.field.name, r.old, r.new) for r in rows] == [
        ("name_en", old_name, "New name"),
        ("county_ids", [county("wenchang").id], [haikou.id]),
    ]
    page = client_of(app, "reviewer").get(f"/admin/products/{product.id}/edit?lang=en")
    html = page.get_data(as_text=True)
    table = re.search(r'<table class="admin-table diff">(.*?)</table>', html, re.S).group(1)
    cells = re.findall(
        r'<tr data-field="(\w+)"><th scope="row">(.*?)</th><td>(.*?)</td><td>(.*?)</td>', table
    )
    assert cells == [
        ("name_en", "Name (English)", old_name, "New name"),
        ("county_ids", "Counties", "Wenchang", "Haikou"),
    ]


def test_diff_of_a_new_listing_is_every_filled_field(app):
    people = make_users()
    kind = KINDS["products"]
    values = {"name_zh": "文昌椰子糖", "category_id": 1, "county_ids": [county("wenchang").id]}
    product = listings.create_listing(kind, values, people["editor_a"])
    db.session.commit()
    rows = review.diff_rows(kind, product)
    assert {r.field.name for r in rows} == {"name_zh", "slug", "category_id", "county_ids"}
    assert all(r.old is None for r in rows)


# --- the queue ----------------------------------------------------------------------------------


def test_queue_shows_county_submitter_date_and_summary_in_each_language(app):
    people = make_users()
    listed = wenchang_listings()
    revise("products", listed["products"], people["editor_a"], name_en="A", summary_en="B")
    workflow.submit(KINDS["products"], listed["products"], people["editor_a"])
    new_sign = add_sign(listed["products"], name_zh="文昌鸡新标志")
    workflow.submit(KINDS["signs"], new_sign, people["editor_a"])
    db.session.commit()
    reviewer = client_of(app, "reviewer")
    for lang, changed, new, date_shape in (
        ("en", "2 fields changed", "new listing", r"[A-Z][a-z]{2} \d{1,2}, \d{4}"),
        ("zh", "2 个字段有改动", "新条目", r"\d{4}年\d{1,2}月\d{1,2}日"),
    ):
        html = reviewer.get(f"/admin/?lang={lang}").get_data(as_text=True)
        queue = re.search(r'<table class="admin-table queue">(.*?)</table>', html, re.S).group(1)
        rows = re.findall(r"<tr>(.*?)</tr>", queue, re.S)[1:]
        assert len(rows) == 2
        text = {"products": "", "signs": ""}
        for row in rows:
            text["signs" if "文昌鸡新标志" in row else "products"] = row
        assert changed in text["products"] and new in text["signs"]
        for row in rows:
            cells = re.findall(r"<td>(.*?)</td>", row, re.S)
            assert ("Wenchang" if lang == "en" else "文昌市") in cells[1]
            assert cells[2] == "wenchang@hainan.example"
            assert re.search(date_shape, cells[3]), cells[3]


# --- the audit log ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "submitted", "published", "kind"),
    [("en", "Submitted for review", "Published", "Product"), ("zh", "提交审核", "已发布", "产品")],
)
def test_audit_log_names_actions_and_kinds_in_the_interface_language(
    app, lang, submitted, published, kind
):
    people = make_users()
    product = wenchang_listings()["products"]
    revise("products", product, people["editor_a"], name_en="Audited")
    workflow.submit(KINDS["products"], product, people["editor_a"])
    workflow.publish(KINDS["products"], product, people["reviewer"])
    db.session.commit()
    html = client_of(app, "admin").get(f"/admin/audit/?lang={lang}").get_data(as_text=True)
    cells = dict(re.findall(r'<td data-action="(\w+)">(.*?)</td>', html))
    assert cells["submit"] == submitted and cells["publish"] == published
    assert f"<td>{kind} #{product.id}" in html
    assert f'<option value="publish">{published}</option>' in html
    name_en = "Name (English)" if lang == "en" else "名称（英文）"
    assert f"<dt>{name_en}</dt>" in html and "<dt>name_en</dt>" not in html
