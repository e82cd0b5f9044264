"""Shared by the search tests: an app on a seeded copy whose search engine (Whoosh or
PostgreSQL, the `engine` fixture) is built from it."""

from collections.abc import Iterator
from pathlib import Path

from flask import Flask

from app import create_app
from app.db import db
from app.search import SearchFilters, current_engine, lifecycle, rebuild_index, service
from tests.conftest import RequestPerContextClient, make_config


def indexed_app(database_url, instance, media_root, engine: str = "whoosh", **config):
    cfg = make_config(database_url, instance, media_root)
    cfg.SEARCH_BACKEND = engine
    for key, value in config.items():
        setattr(cfg, key, value)
    app = create_app(cfg)
    app.test_client_class = RequestPerContextClient
    with app.app_context():
        rebuild_index()
    return app


def serve_indexed(
    database_factory, tmp_path: Path, media_root: Path, engine: str = "whoosh"
) -> Iterator[Flask]:
    """The search tests' app fixture: a fresh database with its engine built, inside an app
    context; the index store closed and the database let go after the test."""
    app = indexed_app(database_factory(), tmp_path, media_root, engine)
    with app.app_context():
        assert current_engine().name == engine
        yield app
        lifecycle.get_store().close()
        db.session.remove()
        db.engine.dispose()


def first_keys(query: str, n: int = 3, **filters) -> list[str]:
    results = service.search(query, SearchFilters(**filters), 1, 24)
    assert results.source == "index"
    return [f"{hit.key.kind}:{slug_of(hit)}" for hit in results.hits[:n]]


def slug_of(hit) -> str:
    if hit.key.kind == "sign":
        return f"{hit.obj.product.slug}/{hit.obj.regime.value}"
    return hit.obj.slug
