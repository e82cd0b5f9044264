"""PostgreSQL time limits (app/db.py time_limits, config DATABASE_LOCK_TIMEOUT_MS /
DATABASE_STATEMENT_TIMEOUT_MS): a request stuck behind another transaction's lock, or
running too long a statement, gets the translated 503 with Retry-After, is logged with
its request id as a time limit, and changes nothing. PostgreSQL only (SQLite has no such
limits: its connections get no options, checked below on both)."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, func, select, text

from app import create_app
from app.db import db
from app.models import Product
from app.models.listing import PublicationStatus
from tests.admin_support import (
    county,
    form_values,
    login,
    make_users,
    wenchang_listings,
)
from tests.conftest import BACKEND, RequestPerContextClient, make_config
from tests.test_admin_listings import new_product_form

LOCK_MS = 300
STATEMENT_MS = 800


@pytest.fixture
def limited_app(database_factory, tmp_path, media_root):
    """The test app with short limits, and a test-only route running a slow statement."""
    config = make_config(database_factory(), tmp_path, media_root)
    config.DATABASE_LOCK_TIMEOUT_MS = LOCK_MS
    config.DATABASE_STATEMENT_TIMEOUT_MS = STATEMENT_MS
    app = create_app(config)
    app.test_client_class = RequestPerContextClient

    def slow_report():
        db.session.execute(text("SELECT pg_sleep(3)"))
        return "finished"

    app.add_url_rule("/test-only/slow-report", view_func=slow_report)
    yield app
    with app.app_context():
        db.engine.dispose()


@contextmanager
def held(app, statement: str) -> Iterator[None]:
    """Another connection holding a lock (`statement`) until the block ends."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as other:
            transaction = other.begin()
            other.execute(text(statement))
            try:
                yield
            finally:
                transaction.rollback()
    finally:
        engine.dispose()


def signed_in_reviewer(app):
    with app.app_context():
        make_users()
    client = app.test_client()
    login(client, "reviewer")
    return client


def edit_locked_product(app, client):
    with app.app_context():
        product = wenchang_listings()["products"]
        product.status = PublicationStatus.DRAFT  # saved in place, no pending revision
        db.session.commit()
        product_id, name = product.id, product.name_en
        form_extra = {
            "category_id": str(product.category_id),
            "county_ids": [str(county("wenchang").id)],
        }
    url = f"/admin/products/{product_id}/edit"
    form = form_values(client.get(url).get_data(as_text=True))
    form.update(form_extra, name_en="Changed while locked")
    with held(app, f"SELECT id FROM products WHERE id = {product_id:d} FOR UPDATE"):
        response = client.post(url + "?lang=en", data=form)

    def unchanged() -> bool:
        return db.session.get(Product, product_id).name_en == name

    return response, unchanged


def insert_listing_while_table_locked(app, client):
    with app.app_context():
        before = db.session.scalar(select(func.count(Product.id)))
        form = new_product_form(client)  # county ids: read in the app's context
    with held(app, "LOCK TABLE products IN SHARE MODE"):
        response = client.post("/admin/products/new?lang=en", data=form)

    def unchanged() -> bool:
        return db.session.scalar(select(func.count(Product.id))) == before

    return response, unchanged


def slow_statement(app, client):
    response = client.get("/test-only/slow-report?lang=en")
    return response, lambda: True


CASES = [
    pytest.param(edit_locked_product, "lock_timeout", id="lock wait on update"),
    pytest.param(insert_listing_while_table_locked, "lock_timeout", id="insert of a listing"),
    pytest.param(slow_statement, "statement_timeout", id="slow statement"),
]


@pytest.mark.postgresql_engine
@pytest.mark.parametrize(("provoke", "limit"), CASES)
def test_a_time_limit_is_a_503_with_retry_after_logged_and_changes_nothing(
    limited_app, logs, provoke, limit
):
    client = signed_in_reviewer(limited_app)
    response, unchanged = provoke(limited_app, client)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "please try again later" in response.get_data(as_text=True)  # the translated 503
    request_id = response.headers["X-Request-ID"]
    lines = [r.getMessage() for r in logs.records if getattr(r, "request_id", "") == request_id]
    assert any(f"Database time limit ({limit})" in line for line in lines), lines
    with limited_app.app_context():
        assert unchanged()


def test_limits_are_connection_options_on_postgresql_only(limited_app):
    options = limited_app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {})
    if BACKEND == "postgresql":
        assert (
            options["options"] == f"-c lock_timeout={LOCK_MS} -c statement_timeout={STATEMENT_MS}"
        )
        with limited_app.app_context():
            assert db.session.scalar(text("SHOW lock_timeout")) == f"{LOCK_MS}ms"
    else:
        assert "options" not in options
