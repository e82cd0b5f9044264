"""Issue 8, kind 13: characters the database refuses (PostgreSQL: NUL; both: lone
surrogates) or that have no place in text (other C0/C1 controls, DEL, noncharacters) are
refused at every edge (every form, bulk import cells, the CLI) with a translated error naming
the field, nothing is saved (not even as a revision), and publishing a revision that holds
such text fails with a message instead of a 500. Run on SQLite and PostgreSQL."""

import io
import json
import re
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from app.db import db
from app.models import CounterfeitReport, ListingRevision, Product, User
from app.models.listing import PublicationStatus
from app.services import listings, workflow
from app.text_input import check_storable, unstorable
from tests.admin_support import county, csrf_token, form_values, login, make_users, signed_in

# Most tests here call services or db.session themselves (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("app_ctx")


# What a text column must never hold; each is sent through every form below.
BAD = {
    "NUL": "\x00",
    "SOH": "\x01",
    "backspace": "\x08",
    "vertical tab": "\x0b",
    "form feed": "\x0c",
    "escape": "\x1b",
    "unit separator": "\x1f",
    "DEL": "\x7f",
    "C1 NEL": "\x85",
    "C1 CSI": "\x9b",
    "noncharacter U+FFFE": "\ufffe",
    "noncharacter U+FFFF": "\uffff",
    "noncharacter U+FDD0": "\ufdd0",
    "noncharacter U+10FFFF": "\U0010ffff",
}
# Kept: what real text contains.
GOOD = [
    "tab\there",
    "line\nbreak",
    "windows\r\nline",
    "文昌鸡",
    "emoji 🐔‍",
    "zero\u200bwidth",
    "private \ue000 use",
    "Ω≈ç√",
    "\u3000ideographic",
]


def has_error(page: str, label: str) -> bool:
    return "cannot be saved" in page and label in page


@pytest.mark.parametrize("name", list(BAD))
def test_the_checker_finds_each_bad_character_and_where(name):
    char = BAD[name]
    problem = unstorable(f"ab{char}c")
    assert problem is not None and problem.char == char and problem.position == 3
    with pytest.raises(ValueError):
        check_storable(char)


@pytest.mark.parametrize("text", GOOD + ["\ud7ff", "\U0001f600"])
def test_ordinary_text_is_storable(text):
    assert unstorable(text) is None and check_storable(text) == text


@pytest.mark.parametrize("char", ["\ud800", "\udfff", "\udcff"])
def test_lone_surrogates_are_refused_by_the_form_base(app, char):
    """Werkzeug decodes form bodies with replacement characters, so a lone surrogate can only
    come from elsewhere (JSON, a terminal, openpyxl's _xD800_ escapes); the form base refuses
    it all the same."""
    from app.qr.forms import ReportForm

    with app.test_request_context("/report?lang=en", method="POST"):
        form = ReportForm(
            formdata=MultiDict({"where_bought": f"x{char}", "description": "ok"}),
            meta={"csrf": False},
        )
        form.product.choices = form.county.choices = [("", "-")]
        assert not form.validate()
        assert any("cannot be saved" in e for e in form.where_bought.errors)


def test_every_form_of_the_site_uses_the_base_that_checks_text(app):
    from flask_wtf import FlaskForm

    import app.admin.accounts  # noqa: F401
    import app.admin.audit  # noqa: F401
    import app.admin.auth  # noqa: F401
    import app.admin.bulk  # noqa: F401
    import app.admin.expos  # noqa: F401
    import app.admin.labels  # noqa: F401
    import app.admin.listing_forms  # noqa: F401
    import app.admin.photos  # noqa: F401
    import app.admin.reports  # noqa: F401
    import app.admin.scans  # noqa: F401
    import app.qr.forms  # noqa: F401
    from app.forms import BaseForm

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [f for f in subclasses(FlaskForm) if f.__module__.startswith("app.")]
    assert len(ours) >= 15
    assert [f.__name__ for f in ours if not issubclass(f, BaseForm)] == []


# --- forms x bad characters ------------------------------------------------------------------


def test_product_create_refuses_each_bad_character(app):
    client = signed_in(app, "editor_a")
    before = db.session.scalar(select(func.count(Product.id)))
    for name, char in BAD.items():
        response = client.post(
            "/admin/products/new?lang=en",
            data={
                "csrf_token": csrf_token(client, "/admin/products/new"),
                "name_zh": "坏字符测试",
                "name_en": f"Bad{char}name",
                "category_id": "1",
                "county_ids": [str(county("wenchang").id)],
            },
        )
        assert response.status_code == 200, name
        assert has_error(response.get_data(as_text=True), "Name (English)"), name
    assert db.session.scalar(select(func.count(Product.id))) == before


def test_reviewer_edit_of_a_published_product_never_becomes_a_revision(app):
    client = signed_in(app, "reviewer")
    product = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    assert product.status == PublicationStatus.PUBLISHED
    url = f"/admin/products/{product.id}/edit?lang=en"
    for name, char in BAD.items():
        data = form_values(client.get(url).get_data(as_text=True))
        data.update(
            {
                "category_id": str(product.category_id),
                "county_ids": [str(c.id) for c in product.counties],
                "description_en": f"Free-range{char} chicken",
            }
        )
        response = client.post(url, data=data)
        assert response.status_code == 200, name
        assert has_error(response.get_data(as_text=True), "Description (English)"), name
    assert db.session.scalar(select(func.count(ListingRevision.id))) == 0


def test_account_create_refuses_each_bad_character(app):
    client = signed_in(app, "admin")
    users = db.session.scalar(select(func.count(User.id)))
    for name, char in BAD.items():
        for field, label, value in (
            ("name", "Name", f"Li{char}Ming"),
            ("email", "E-mail", f"li{char}ming@hainan.example"),
        ):
            data = {
                "csrf_token": csrf_token(client, "/admin/users/new"),
                "email": "liming@hainan.example",
                "name": "Li Ming",
                "role": "reviewer",
                "password": "Harbour-ferry-of-Hainan-5",
                field: value,
            }
            response = client.post("/admin/users/new?lang=en", data=data)
            assert response.status_code == 200, (name, field)
            assert has_error(response.get_data(as_text=True), label), (name, field)
    assert db.session.scalar(select(func.count(User.id))) == users


def test_login_email_refuses_each_bad_character(app):
    make_users()
    for name, char in BAD.items():
        client = app.test_client()
        response = client.post(
            "/admin/login?lang=en",
            data={
                "csrf_token": csrf_token(client),
                "email": f"reviewer{char}@hainan.example",
                "password": "Correct-horse-battery-9",
            },
        )
        assert response.status_code == 200, name
        assert has_error(response.get_data(as_text=True), "E-mail"), name
    chinese = app.test_client()
    zh = chinese.post(
        "/admin/login?lang=zh",
        data={
            "csrf_token": csrf_token(chinese),
            "email": "reviewer\x00@hainan.example",
            "password": "Correct-horse-battery-9",
        },
    )
    assert "含有无法保存的字符（U+0000，第 9 个字符）" in zh.get_data(as_text=True)


def test_report_form_refuses_each_bad_character(app):
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["REPORT_RATE_LIMIT"] = "1000 per minute"
    client = app.test_client()
    for name, char in BAD.items():
        response = client.post(
            "/report?lang=en",
            data={"where_bought": f"海口{char}某超市", "description": "标签看起来是伪造的"},
        )
        assert response.status_code == 400, name
        assert has_error(response.get_data(as_text=True), "Where did you buy or see it?"), name
    assert db.session.scalar(select(func.count(CounterfeitReport.id))) == 0


# --- hidden fields: the person can neither see nor fix them, so a bad value is dropped ------

# What a hidden `next` may arrive as that must never be followed: unstorable, foreign,
# scheme-relative, backslashed, too long, not printable, or outside the back office.
UNUSABLE_NEXT = {
    **{name: f"/admin/products/{char}" for name, char in BAD.items()},
    "absolute URL": "https://evil.example/admin/",
    "scheme-relative": "//evil.example/admin/",
    "scheme-relative with path": "///evil.example/admin/",
    "backslash": "/\\evil.example/admin/",
    "backslash inside": "/admin/\\..\\evil",
    "javascript:": "javascript:alert(1)",
    "scheme without slashes": "http:/admin/",
    "data:": "data:text/html,<script>alert(1)</script>",
    "too long": "/admin/products/" + "x" * 2100,
    "outside the back office": "/products/wenchang-chicken",
    "space before scheme-relative": " //evil.example/admin/",
    "tab inside": "/admin/\tproducts/",
    "bidi override": "/admin/products/\u202e",
    "zero-width space": "/admin/\u200bproducts/",
    "NBSP": "/admin/\u00a0products/",
    "line separator": "/admin/products/\u2028",
    "empty": "",
}


# Where signing in lands: an unusable `next` is dropped for the dashboard, a usable one
# (inside the back office) is followed.
SIGN_IN_LANDS_ON = [
    *(pytest.param(target, "/admin/", id=name) for name, target in UNUSABLE_NEXT.items()),
    pytest.param("/\\evil.example", "/admin/", id="backslash, no path"),
    pytest.param("/products/", "/admin/", id="a public list"),
    pytest.param("/admin/products/", "/admin/products/", id="a back-office list"),
    pytest.param(
        "/admin/products/?status=pending", "/admin/products/?status=pending", id="with a filter"
    ),
]


@pytest.mark.parametrize(("target", "lands_on"), SIGN_IN_LANDS_ON)
def test_sign_in_follows_next_only_inside_the_back_office(app, target, lands_on):
    make_users()
    client = app.test_client()
    response = login(client, "reviewer", next=target)
    assert response.status_code == 302, response.get_data(as_text=True)[-600:]
    assert response.headers["Location"] == lands_on
    assert client.get("/admin/").status_code == 200  # signed in


@pytest.mark.parametrize("name", ["DEL", "NUL", "bidi override", "absolute URL", "too long"])
def test_an_unusable_next_in_the_login_link_is_never_written_into_the_form(app, name):
    client = app.test_client()
    page = client.get("/admin/login", query_string={"next": UNUSABLE_NEXT[name]})
    if page.status_code == 400:  # the site refuses control characters in any query string
        assert name in ("DEL", "NUL")
        return
    assert page.status_code == 200
    assert 'name="next" type="hidden" value=""' in page.get_data(as_text=True)


@pytest.mark.parametrize("name", list(BAD))
def test_saved_list_drops_a_bad_hidden_expo_and_saves_the_list(app, name):
    from app.models import SavedList

    app.config["WTF_CSRF_ENABLED"] = False
    product = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    response = app.test_client().post(
        "/list", data={"product": [product.id], "expo": f"x{BAD[name]}"}
    )
    assert response.status_code == 303, name
    code = response.headers["Location"].rsplit("/", 1)[-1]
    assert db.session.get(SavedList, code).event_id is None


@pytest.mark.parametrize("name", ["NUL", "escape", "noncharacter U+FFFF", "C1 NEL"])
def test_a_bad_hidden_version_token_is_a_visible_conflict_not_a_silent_failure(app, name):
    make_users()
    client = app.test_client()
    login(client, "reviewer")
    product = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    url = f"/admin/products/{product.id}/edit?lang=en"
    data = form_values(client.get(url).get_data(as_text=True))
    data.update(
        {
            "category_id": str(product.category_id),
            "county_ids": [str(c.id) for c in product.counties],
            "description_en": "Free-range chicken, edited",
            "version": data.get("version", "") + BAD[name],
        }
    )
    response = client.post(url, data=data)
    assert response.status_code in (200, 409), name
    page = response.get_data(as_text=True)
    assert "cannot be saved" not in page  # no invisible error on a hidden field
    assert "Open the saved version" in page, name  # the edit-conflict page
    assert db.session.scalar(select(func.count(ListingRevision.id))) == 0


def test_every_hidden_field_of_every_form_is_covered():
    """The forms with hidden fields are the ones the tests above post to."""
    import inspect

    from wtforms import HiddenField

    import app.admin.auth
    import app.admin.listing_forms
    import app.qr.forms
    from app.forms import BaseForm

    hidden = set()
    for module in (app.admin.auth, app.admin.listing_forms, app.qr.forms):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseForm):
                for field_name, unbound in vars(cls).items():
                    if getattr(unbound, "field_class", None) is HiddenField:
                        hidden.add(f"{cls.__name__}.{field_name}")
    assert {"LoginForm.next", "SaveListForm.expo"} <= hidden
    assert any(name.endswith(".version") for name in hidden)


# --- bulk import cells ---------------------------------------------------------------------


def _csv(name_zh: str) -> bytes:
    return (f"slug,name_zh,category,counties\nbad-char-test,{name_zh},fruit,wenchang\n").encode()


def _xlsx_with(char: str) -> bytes:
    """openpyxl refuses to write control characters; an XLSX written elsewhere carries what
    XML 1.0 allows (DEL, C1 controls, most noncharacters), written here into its XML."""
    workbook = Workbook()
    workbook.active.append(["slug", "name_zh", "category", "counties"])
    workbook.active.append(["bad-char-test", "坏PLACEHOLDER字", "fruit", "wenchang"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    source, out = zipfile.ZipFile(buffer), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, data.replace(b"PLACEHOLDER", char.encode()))
    return out.getvalue()


BULK_CASES = {name: _csv for name in BAD}  # a stray NUL too: a row error, not a damaged file


XLSX_CASES = ["DEL", "C1 NEL", "C1 CSI", "noncharacter U+FDD0", "noncharacter U+10FFFF"]


@pytest.mark.parametrize("case", [*BULK_CASES, *(f"xlsx {name}" for name in XLSX_CASES)])
def test_bulk_import_cell_with_a_bad_character_is_a_row_error(app, case):
    from app.services.bulk import ImportRefused, dry_run, import_listings

    if case.startswith("xlsx"):
        data = _xlsx_with(BAD[case.removeprefix("xlsx ")])
    else:
        data = _csv(f"坏{BAD[case]}字")
    with app.test_request_context("/admin/?lang=en"):
        plan = dry_run("products", data, None)
        assert not plan.ok
        assert [(e.row, e.field) for e in plan.errors] == [(2, "name_zh")]
        assert "cannot be saved" in str(plan.errors[0].message)
        with pytest.raises(ImportRefused):
            import_listings("products", data, None)
    assert db.session.scalar(select(Product).where(Product.slug == "bad-char-test")) is None


# --- the CLI -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, value",
    [
        ("--email", "li\x00ming@hainan.example"),
        ("--email", "li\udcffming@hainan.example"),  # a non-UTF-8 byte in the terminal
        ("--name", "Li\x1bMing"),
        ("--name", "Li\uffffMing"),
        ("--password", "Harbour\x00ferry-of-Hainan-5"),
    ],
)
def test_cli_users_create_refuses_bad_characters(app, runner, option, value):
    args = {
        "--email": "liming@hainan.example",
        "--name": "Li Ming",
        "--password": "Harbour-ferry-of-Hainan-5",
        option: value,
    }
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "reviewer",
            *[part for pair in args.items() for part in pair],
        ]
    )
    assert result.exit_code == 2, result.output
    assert "cannot be saved" in result.output and option in result.output
    assert db.session.scalar(select(func.count(User.id)).where(User.email.like("%liming%"))) == 0


def test_cli_lookups_refuse_bad_characters_instead_of_crashing(app, runner):
    for command in ("set-password", "disable"):
        result = runner.invoke(
            args=[
                "users",
                command,
                "--email",
                "x\x00@hainan.example",
                "--password",
                "Harbour-ferry-of-Hainan-5",
            ][: 4 if command == "disable" else 6]
        )
        assert result.exit_code == 2 and "cannot be saved" in result.output


# --- a revision that already holds bad text ------------------------------------------------------


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\uffff"])
def test_publishing_a_revision_with_bad_text_fails_cleanly(app, char):
    """A revision saved before the edge checked text (or written by another path): the
    reviewer gets a message naming the field, the live row stays as it was, and the listing
    can still be corrected and published."""
    people = make_users()
    product = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
    kind = listings.KINDS["products"]
    values = {**listings.working_values(kind, product), "description_en": f"bad{char}text"}
    listings.save_listing(
        kind, product, values, people["reviewer"], listings.edit_token(kind, product)
    )
    db.session.commit()
    revision = db.session.scalar(select(ListingRevision))
    assert json.loads(revision.data)["description_en"] == f"bad{char}text"
    live = product.description_en
    with app.test_request_context("/admin/?lang=en"):
        with pytest.raises(workflow.WorkflowError) as refused:
            workflow.publish(kind, product, people["reviewer"])
        assert "description_en" in str(refused.value) and "cannot be saved" in str(refused.value)
    db.session.rollback()
    client = app.test_client()
    login(client, "reviewer")
    token = csrf_token(client, f"/admin/products/{product.id}/edit")
    response = client.post(
        f"/admin/products/{product.id}/publish?lang=en",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert re.search(r"cannot be published.*description_en", response.get_data(as_text=True), re.S)
    db.session.expire_all()
    assert db.session.get(Product, product.id).description_en == live
