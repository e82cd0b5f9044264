"""The declarative base, the Flask-SQLAlchemy handle and per-connection SQLite settings."""

import sqlite3
from typing import TYPE_CHECKING

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic can alter them (and batch-mode SQLite migrations work).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

# Models subclass `Model`. At run time it is `db.Model` (Base plus Flask-SQLAlchemy's bind and repr
# mixins); mypy cannot take a class attribute as a base class (python/mypy#8603), so the type
# checker sees the declarative base it is built from.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, _record) -> None:
    """WAL lets readers run beside a writer; the busy timeout queues writers instead of failing."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def time_limits(app: Flask) -> None:
    """PostgreSQL's lock_timeout and statement_timeout on every connection of the app's
    engine (DATABASE_LOCK_TIMEOUT_MS / DATABASE_STATEMENT_TIMEOUT_MS, config.py), sent as
    connection options so they cost no round trip. Call before db.init_app (it builds the
    engine). A statement stopped by either raises OperationalError (SQLSTATE 55P03 / 57014):
    app/errors.py answers 503 with Retry-After, and the request's transaction is rolled back."""
    if not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        return
    lock_ms = int(app.config["DATABASE_LOCK_TIMEOUT_MS"])
    statement_ms = int(app.config["DATABASE_STATEMENT_TIMEOUT_MS"])
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    extra = f"-c lock_timeout={lock_ms} -c statement_timeout={statement_ms}"
    connect_args["options"] = f"{connect_args.get('options', '')} {extra}".strip()
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
