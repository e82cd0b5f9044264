"""Shared by the search tests: an app whose node index is built from the seeded copy."""
from collections.abc import Iterator

from flask import Flask

from app import create_app
from app.db import db
from app.search import service, sync
from tests.conftest import RequestPerContextClient, make_config


def indexed_app(database_url, instance, media_root, **config):
    cfg = make_config(database_url, instance, media_root)
    for key, value in config.items():
        setattr(cfg, key, value)
    app = create_app(cfg)
    app.test_client_class = RequestPerContextClient
    with app.app_context():
        sync.rebuild(service.get_store())
    return app



def serve_indexed(database_url, instance, media_root) -> Iterator[Flask]:
    """For a fixture to `yield from`: the indexed app inside its context, then the index, the
    session and the engine closed (a test database is dropped while nothing holds it)."""
    app = indexed_app(database_url, instance, media_root)
    with app.app_context():
        yield app
        service.get_store().close()
        db.session.remove()
        db.engine.dispose()

def first_keys(query: str, n: int = 3, **filters) -> list[str]:
    results = service.search(query, service.SearchFilters(**filters), 1, 24)
    assert results.source == "index"
    return [f"{hit.key.kind}:{slug_of(hit)}" for hit in results.hits[:n]]


def slug_of(hit) -> str:
    if hit.key.kind == "sign":
        return f"{hit.obj.product.slug}/{hit.obj.regime.value}"
    return hit.obj.slug
