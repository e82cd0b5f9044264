"""Every kind of page, admin and public, is valid HTML: each is rendered (signed in as the
role that sees most of it) and the Nu HTML Checker (vnu, an npm devDependency: `make vendor`)
reads them all in one run. It needs Java: without it this test fails, it never skips."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from flask import url_for
from sqlalchemy import select

from app.db import db
from app.media.photos import add_product_photo
from app.models import Brand, Category, County, Enterprise, ExpoEvent, Product
from app.models.qr import ShortCode
from app.services import listings, workflow
from tests.admin_support import (
    csrf_token,
    jpeg_bytes,
    login,
    make_users,
    qr_admin_objects,
    wenchang_listings,
)
from tests.test_admin_access import admin_rules, synonym_group_id, url_for_rule

pytestmark = pytest.mark.usefixtures("app_ctx")

VNU = Path(__file__).resolve().parent.parent / "node_modules/vnu-jar/build/dist/vnu.jar"
HTML = "text/html"


def _pending_states(people: dict) -> None:
    """A published product with a submitted revision (the diff and the reviewer's queue), and
    a draft with nothing filled beyond its name (the checklist's missing items)."""
    kind = listings.KINDS["products"]
    product = wenchang_listings()["products"]
    values = {**listings.working_values(kind, product), "name_en": "Wenchang chicken (new)"}
    listings.save_listing(
        kind, product, values, people["editor_a"], listings.edit_token(kind, product)
    )
    workflow.submit(kind, product, people["editor_a"])
    db.session.commit()


def _public_urls() -> list[str]:
    """One URL of each public page kind (HTML answers only)."""
    first = {
        model: db.session.scalar(select(model.slug).order_by(model.id).limit(1))
        for model in (Product, Brand, Enterprise, County, Category, ExpoEvent)
    }
    return [
        url_for("public.home"),
        url_for("public.products"),
        url_for("public.product", slug=first[Product]),
        url_for("public.brand", slug=first[Brand]),
        url_for("public.enterprise", slug=first[Enterprise]),
        url_for("public.counties"),
        url_for("public.county", slug=first[County]),
        url_for("public.categories"),
        url_for("public.category", slug=first[Category]),
        url_for("public.register"),
        url_for("search.search", q="文昌"),
        url_for("qr.verify"),
        url_for("qr.landing", token=db.session.scalar(select(ShortCode.code).limit(1))),
        url_for("qr.report"),
        url_for("qr.report_thanks"),
        url_for("qr.expo", slug=first[ExpoEvent]),
        url_for("opendata.index"),
    ]


def _save(pages: dict[str, str], url: str, response) -> None:
    assert response.status_code == 200, (url, response.status_code)
    if response.mimetype == HTML:
        pages[url] = response.get_data(as_text=True)


def _admin_pages(app, client, people: dict, pages: dict[str, str]) -> None:
    rules = [r for r in admin_rules(app) if "GET" in r.methods]
    extras = qr_admin_objects(app) | {"group_id": synonym_group_id()}
    listed = wenchang_listings()
    with app.test_request_context():
        urls = [url_for_rule(r, listed, people["editor_a"].id, extras) for r in rules]
    for url in urls:
        response = client.get(url)
        if response.status_code == 302:  # an unknown staged upload: back to its form
            continue
        _save(pages, url, response)
    assert len(pages) > 30


def run_vnu(files: list[Path]) -> list[dict]:
    """The checker's error messages for these files (vnu prints its JSON on stderr)."""
    java = shutil.which("java")
    assert java, "Java is needed to run the Nu HTML Checker (Debian: default-jre-headless)"
    assert VNU.exists(), f"{VNU} is missing: run `make vendor` (npm ci)"
    done = subprocess.run(
        [java, "-jar", str(VNU), "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    return [m for m in json.loads(done.stderr)["messages"] if m["type"] == "error"]


def test_every_admin_and_public_page_kind_is_valid_html(app, tmp_path):
    people = make_users()
    product = wenchang_listings()["products"]
    if not product.images:  # a photo: the photo forms on the edit page
        add_product_photo(product, jpeg_bytes((1200, 800)), "文昌鸡")
        db.session.commit()
    _pending_states(people)
    pages: dict[str, str] = {}

    admin = app.test_client()
    _save(pages, "/admin/login", admin.get("/admin/login"))
    login(admin, "admin")
    _admin_pages(app, admin, people, pages)
    # What only some roles see: the reviewer's queue, an editor's dashboard and edit page,
    # a refusal, and a form returned with its errors.
    reviewer, editor = app.test_client(), app.test_client()
    login(reviewer, "reviewer")
    login(editor, "editor_a")
    edit = f"/admin/products/{product.id}/edit"
    _save(pages, "reviewer:/admin/", reviewer.get("/admin/"))
    _save(pages, "editor:/admin/", editor.get("/admin/"))
    _save(pages, "editor:" + edit, editor.get(edit))
    denied = app.test_client()
    login(denied, "editor_b")
    refused = denied.get(edit)
    assert refused.status_code == 403
    pages["403"] = refused.get_data(as_text=True)
    token = csrf_token(editor, "/admin/products/new")
    invalid = editor.post("/admin/products/new", data={"csrf_token": token, "name_zh": ""})
    pages["invalid form"] = invalid.get_data(as_text=True)

    public = app.test_client()
    with app.test_request_context():
        public_urls = _public_urls()
    for url in public_urls:
        _save(pages, url, public.get(url, follow_redirects=True))

    files = []
    for n, html in enumerate(pages.values()):
        path = tmp_path / f"page-{n:03d}.html"
        path.write_text(html, encoding="utf-8")
        files.append(path)
    names = {f.name: url for f, url in zip(files, pages, strict=True)}
    errors = run_vnu(files)
    found = [
        f"{names.get(Path(e['url']).name, e['url'])}:{e.get('lastLine')}: {e['message']}"
        for e in errors
    ]
    assert not found, "\n".join(found)
