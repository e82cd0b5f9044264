"""Fixtures: a real database (SQLite file, or PostgreSQL with TEST_DATABASE=postgresql),
migrated with Alembic and seeded once per session; each test gets its own copy.

Application contexts, as in Flask's tutorial (examples/tutorial/tests/conftest.py): `app`
is yielded WITHOUT a pushed context. Requests through `client` and commands through
`runner` push their own, exactly as in production. A test that calls services, `db.session`
or `url_for` itself needs a context, and asks for one:

- one test: take the `app_ctx` fixture (`def test_x(app_ctx, client):`), or wrap the calls
  in `with app.app_context():`;
- a module whose tests mostly do: `pytestmark = pytest.mark.usefixtures("app_ctx")` under
  the imports.

Requests made while a test holds a context still run in a fresh one of their own (see
`RequestPerContextClient`): its `g` (signed-in user, CSRF token, locale) and database session
start empty, and the test's session is expired afterwards, so what a request committed is
what the test reads next. Commit before a request anything the request should see.
`runner.invoke` does reuse a held context (Flask's `with_appcontext`), so a test driving a
second app's commands (tests/test_backup.py) holds no context of the first app meanwhile."""

import contextvars
import logging
import os
import shutil
import uuid
from pathlib import Path

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from app import create_app
from app.db import db
from config import TestingConfig

BACKEND = os.environ.get("TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def make_config(database_url: str, instance: Path, media_root: Path) -> type:
    return type(
        "TestConfig",
        (TestingConfig,),
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_DIR": instance,
            "MEDIA_ROOT": media_root,
        },
    )


class PostgresDatabases:
    """Throwaway databases on the local server: one seeded template, a copy per test."""

    def __init__(self) -> None:
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.prefix = f"gi_test_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []

    def url(self, name: str) -> str:
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def create(self, name: str, template: str | None = None) -> str:
        with self.admin.connect() as conn:
            clause = f" TEMPLATE {template}" if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self.created.append(name)
        return self.url(name)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in reversed(self.created):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


class RequestPerContextClient(FlaskClient):
    """The test client, with every request in its own application context even while the
    test holds one (Flask would otherwise reuse the test's context, its `g` and its
    database session, for the request)."""

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            db.session.expire_all()
        return response


# The search engines of the conformance suite: Whoosh always; PostgreSQL's on the
# PostgreSQL run (on SQLite its parameter is deselected, and counted as such, by the hook
# below, never skipped).
SEARCH_ENGINES = [
    pytest.param("whoosh"),
    pytest.param("postgresql", marks=pytest.mark.postgresql_engine),
]


def pytest_collection_modifyitems(config, items):
    if BACKEND == "postgresql":
        return
    deselected = [item for item in items if item.get_closest_marker("postgresql_engine")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql_engine")]


@pytest.fixture(scope="session", params=SEARCH_ENGINES)
def engine(request) -> str:
    """The search engine a conformance test runs against (SEARCH_BACKEND of its app).
    A test of one engine's internals pins it: @pytest.mark.parametrize("engine", ["whoosh"])."""
    return request.param


@pytest.fixture(scope="session")
def media_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory, media_root):
    """Builds the seeded template once; returns a function giving a fresh copy's URL."""
    from flask_migrate import upgrade

    from app.services.seed import SeedLoader

    workdir = tmp_path_factory.mktemp("db")
    postgres = PostgresDatabases() if BACKEND == "postgresql" else None
    if postgres:
        template_url = postgres.create(f"{postgres.prefix}_tpl")
    else:
        template_url = f"sqlite:///{workdir / 'template.sqlite3'}"

    app = create_app(make_config(template_url, workdir, media_root))
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parents[1] / "migrations"))
        SeedLoader(app.config["SEED_DIR"], media_root).run()
        db.session.commit()
        db.engine.dispose()

    counter = iter(range(1_000_000))

    def fresh_copy() -> str:
        n = next(counter)
        if postgres:
            return postgres.create(f"{postgres.prefix}_{n}", template=f"{postgres.prefix}_tpl")
        target = workdir / f"copy{n}.sqlite3"
        shutil.copyfile(workdir / "template.sqlite3", target)
        return f"sqlite:///{target}"

    yield fresh_copy
    if postgres:
        postgres.drop_all()


@pytest.fixture
def app(database_factory, tmp_path, media_root):
    app = create_app(make_config(database_factory(), tmp_path, media_root))
    app.test_client_class = RequestPerContextClient
    from app.caching.store import response_cache

    response_cache.clear()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app_ctx(app):
    """An application context for the test's own calls (services, db.session, url_for)."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def logs(caplog):
    """caplog for the app's records: its loggers do not propagate to the root (gunicorn
    gives the root its own handler; see app/observability.py), so listen on them directly."""
    logger = logging.getLogger("app")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="app")
    yield caplog
    logger.removeHandler(caplog.handler)
