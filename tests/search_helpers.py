"""Shared by the search tests: an app whose node index is built from the seeded copy."""
from app import create_app
from app.search import SearchFilters, lifecycle, service, sync
from tests.conftest import make_config


def indexed_app(database_url, instance, media_root, **config):
    cfg = make_config(database_url, instance, media_root)
    for key, value in config.items():
        setattr(cfg, key, value)
    app = create_app(cfg)
    with app.app_context():
        sync.rebuild(lifecycle.get_store())
    return app


def first_keys(query: str, n: int = 3, **filters) -> list[str]:
    results = service.search(query, SearchFilters(**filters), 1, 24)
    assert results.source == "index"
    return [f"{hit.key.kind}:{slug_of(hit)}" for hit in results.hits[:n]]


def slug_of(hit) -> str:
    if hit.key.kind == "sign":
        return f"{hit.obj.product.slug}/{hit.obj.regime.value}"
    return hit.obj.slug
