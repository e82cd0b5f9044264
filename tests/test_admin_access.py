"""Role x route matrix, generated from the URL map: a new admin route without an expected
status here fails the test, so no route can be forgotten."""

import pytest
from flask import url_for

from app.db import db
from app.media.photos import add_product_photo
from app.services.listings import KINDS
from tests.admin_support import (
    csrf_token,
    jpeg_bytes,
    login,
    make_users,
    qr_admin_objects,
    wenchang_listings,
)

# Most tests here call services or db.session themselves (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("app_ctx")


ROLES = ("anonymous", "editor_a", "editor_b", "reviewer", "admin")
ADMIN_ONLY = ("admin.audit", "admin.users", "admin.user_new", "admin.user_edit")
REVIEWER_ONLY_PREFIX = ("admin.expo", "admin.synonym")  # expos, booths, posters; synonyms
LOGIN_PATH = "/admin/login"


def synonym_group_id() -> int:
    from sqlalchemy import select

    from app.db import db
    from app.models import SynonymGroup

    return db.session.scalars(select(SynonymGroup.id).order_by(SynonymGroup.id)).first()


def admin_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")]


PHOTO_ROUTES = "admin.product_photo_"
STAGED_TOKEN = "x" * 32  # no such upload: every role is sent back to the upload page


def url_for_rule(rule, listings, user_id, extras=None) -> str:
    args = {}
    if "listing_id" in rule.arguments:
        kind_key = (rule.defaults or {}).get("kind_key", "products")  # photo routes: products
        args["listing_id"] = listings[kind_key].id
    if "image_id" in rule.arguments:
        args["image_id"] = listings["products"].images[0].id
    if "user_id" in rule.arguments:
        args["user_id"] = user_id
    if "fmt" in rule.arguments:
        args["fmt"] = "csv"
    if "token" in rule.arguments:
        args["token"] = STAGED_TOKEN
    for name, value in (extras or {}).items():
        if name in rule.arguments:
            args[name] = value
    return url_for(rule.endpoint, **args)


def expected_get(role: str, rule) -> int:
    if rule.endpoint == "admin.login":
        return 200
    if role == "anonymous":
        return 302
    if rule.endpoint in ADMIN_ONLY:
        return 200 if role == "admin" else 403
    if rule.endpoint.startswith(REVIEWER_ONLY_PREFIX):
        return 200 if role in ("reviewer", "admin") else 403
    if "listing_id" in rule.arguments and role == "editor_b":
        return 403  # a Sanya editor opening a Wenchang listing
    if "report_id" in rule.arguments and role == "editor_b":
        return 404  # another county's report does not exist for a Sanya editor
    if rule.endpoint.endswith("_import_preview"):
        return 302  # an unknown (or someone else's) staged upload: back to the upload form
    return 200  # bulk templates, exports and the import form: each user's own counties


# POST-only screens outside the listing workflow: status per signed-in role.
OTHER_POSTS = {
    "admin.labels_sheet": lambda role: 400,  # nothing chosen: the chooser with a message
    "admin.expo_booth_delete": lambda role: 302 if role in ("reviewer", "admin") else 403,
    "admin.expo_delete": lambda role: 302 if role in ("reviewer", "admin") else 403,
    "admin.synonym_delete": lambda role: 302 if role in ("reviewer", "admin") else 403,
}


def expected_post(role: str, rule) -> int | None:
    """Workflow steps: who may press which button on a Wenchang listing. None: a form page,
    covered by the listing and account tests."""
    if rule.endpoint.startswith(PHOTO_ROUTES):
        return expected_photo_post(role, rule)
    step = (rule.defaults or {}).get("step")
    if rule.endpoint in OTHER_POSTS:
        return 302 if role == "anonymous" else OTHER_POSTS[rule.endpoint](role)
    if step is None:
        return None
    if role == "anonymous":
        return 302
    if role == "editor_b":
        return 403
    if role == "editor_a" and step in ("publish", "return", "archive"):
        return 403  # the listings are published: taking them down or changing them is review
    return 302  # reviewers and admins act (or are told why not) and are redirected


def expected_photo_post(role: str, rule) -> int:
    """Photos of the (published) Wenchang product: reviewers and admins only."""
    if role == "anonymous":
        return 302
    if role in ("editor_a", "editor_b"):
        return 403  # B: another county; A: a published product's photos are reviewed
    if rule.endpoint == "admin.product_photo_add":
        return 400  # no file sent: the edit page again, with the message
    return 302  # alt (refused: no text), move (no direction), cover, remove: back to the page


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_route_answers_each_role_as_expected(app, role):
    people = make_users()
    listings = wenchang_listings()
    assert all(listings.values()), listings
    if not listings["products"].images:  # the seed shows illustrations, not photos
        add_product_photo(listings["products"], jpeg_bytes((1200, 800)), "文昌鸡")
        db.session.commit()
    extras = qr_admin_objects(app) | {"group_id": synonym_group_id()}
    client = app.test_client()
    if role != "anonymous":
        assert login(client, role).status_code == 302
    rules = admin_rules(app)
    assert len(rules) > 40
    seen = set()
    with app.test_request_context():
        urls = [
            (rule, url_for_rule(rule, listings, people["editor_a"].id, extras)) for rule in rules
        ]
    # Pages first, then the buttons (a deleted booth would hide its pages from the GETs).
    urls.sort(key=lambda pair: "GET" not in pair[0].methods)
    token = csrf_token(client, LOGIN_PATH if role == "anonymous" else "/admin/logout")
    for rule, url in urls:
        seen.add(rule.endpoint)
        if "GET" in rule.methods:
            response = client.get(url)
            assert response.status_code == expected_get(role, rule), (role, url)
            if response.status_code == 302 and role == "anonymous":
                assert response.headers["Location"].startswith(LOGIN_PATH), url
            assert response.headers["Cache-Control"] == "no-store", url
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        else:
            assert client.get(url).status_code == 405, url
            expected = expected_post(role, rule)
            assert expected is not None, f"no expectation for {rule.endpoint}"
            data = {"csrf_token": token, "comment": "please check the figures"}
            response = client.post(url, data=data)
            assert response.status_code == expected, (role, url, response.status_code)
    # Every kind got its five pages and five workflow steps.
    for kind in KINDS.values():
        ep = kind.key.replace("-", "_")
        assert {f"admin.{ep}_list", f"admin.{ep}_new", f"admin.{ep}_edit"} <= seen


def test_nothing_changed_by_the_matrix_posts_of_a_foreign_editor(app):
    make_users()
    listings = wenchang_listings()
    before = {key: (obj.status, obj.version) for key, obj in listings.items()}
    client = app.test_client()
    login(client, "editor_b")
    token = csrf_token(client, "/admin/")
    for key, obj in listings.items():
        for step in ("submit", "publish", "archive", "restore", "return"):
            client.post(f"/admin/{key}/{obj.id}/{step}", data={"csrf_token": token, "comment": "x"})
        client.post(
            f"/admin/{key}/{obj.id}/edit", data={"csrf_token": token, "name_zh": "hijacked"}
        )
    from app.db import db

    db.session.expire_all()
    after = {key: (obj.status, obj.version) for key, obj in wenchang_listings().items()}
    assert after == before


# Ids no INTEGER column holds (PostgreSQL's limit is 2**31 - 1; SQLite's driver overflows
# past 2**63 - 1): every route with an id answers 404, never a database error.
HUGE_IDS = ["2147483648", "9223372036854775807", "9223372036854775808", "1" + "0" * 40, "0"]


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_ids_beyond_any_column_are_not_found(app, client, huge):
    make_users()
    login(client, "admin")
    token = csrf_token(client, "/admin/")
    rules = [
        r
        for r in app.url_map.iter_rules()
        if any(type(c).__name__ == "RowIdConverter" for c in r._converters.values())
    ]
    assert len(rules) >= 20  # every admin and photo route with an id
    for rule in rules:
        path = rule.rule
        for name in rule.arguments:
            value = "products" if name == "kind_key" else huge
            path = path.replace(f"<{name}>", value).replace(f"<int:{name}>", value)
        path = path.replace("<any(csv, xlsx):fmt>", "csv")
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(path, method=method, data={"csrf_token": token})
        assert response.status_code == 404, (path, method, response.status_code)
