"""Prometheus metrics (app/metrics), the reverse proxy's expiry header (app/edge.py) and
content-hashed static URLs (app/static_urls.py)."""

import hashlib
import re
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from app import create_app
from app.db import db
from app.static_urls import content_hash
from tests.conftest import make_config


@pytest.mark.parametrize(
    ("remote_addr", "status"),
    [("127.0.0.1", 200), ("::1", 200), ("10.0.0.7", 404), ("203.0.113.9", 404)],
)
def test_metrics_answer_local_addresses_only(client, remote_addr, status):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": remote_addr})
    assert response.status_code == status


def test_metrics_count_requests_by_route_cached_answers_included(app, client):
    app.config["SCAN_FLUSH_SECONDS"] = 1.0  # let the fast path answer (tests write through)
    for _ in range(3):
        response = client.get("/products/wenchang-chicken")
        assert response.status_code == 200
        response.close()  # counted when the server closes the answer, as gunicorn does
    body = client.get("/metrics").get_data(as_text=True)
    counted = re.search(
        r'gi_http_requests_total\{method="GET",route="/products/<slug>",status="200"\} (\d+)',
        body,
    )
    assert counted and int(float(counted[1])) >= 3
    assert re.search(r'gi_page_cache_lookups_total\{result="hit"\} [1-9]', body)
    assert "gi_catalogue_generation" in body
    assert "gi_search_outbox_rows" in body


@pytest.mark.parametrize(
    ("aligned", "path", "expected"),
    [
        (True, "/products/wenchang-chicken", True),  # public: nginx may keep it this second
        (True, "/admin/login", False),  # private: never
        (False, "/products/wenchang-chicken", False),  # not behind the stack's nginx
    ],
)
def test_public_answers_expire_at_the_end_of_the_second(
    database_factory, tmp_path, media_root, aligned, path, expected
):
    config = make_config(database_factory(), tmp_path, media_root)
    config.PROXY_CACHE_SECONDS_ALIGNED = aligned
    app = create_app(config)
    before = int(time.time())
    response = app.test_client().get(path)
    header = response.headers.get("X-Accel-Expires")
    with app.app_context():
        db.engine.dispose()  # this test's own app: no connection left for the collector
    if expected:
        assert header is not None and before <= int(header.lstrip("@")) <= time.time()
    else:
        assert header is None


def test_static_urls_carry_the_hash_of_the_file(client, app):
    html = client.get("/").get_data(as_text=True)
    found = re.search(r'/static/css/site\.css\?v=([0-9a-f]{12})"', html)
    assert found
    css = Path(app.static_folder, "css", "site.css").read_bytes()
    assert found[1] == hashlib.blake2b(css, digest_size=6).hexdigest()


def test_a_changed_file_gets_a_new_hash_and_a_missing_one_none(tmp_path):
    first, second = tmp_path / "a.css", tmp_path / "b.css"
    first.write_text("body{color:red}")
    second.write_text("body{color:blue}")
    assert content_hash(str(first)) != content_hash(str(second))
    assert content_hash(str(tmp_path / "missing.css")) is None


def test_a_page_nginx_will_store_is_rendered_from_the_current_catalogue(
    database_factory, tmp_path, media_root
):
    """X-Cache-Fill (sent by nginx's cached location only): the generation is re-read
    first, so nginx never keeps a page older than its own second."""
    config = make_config(database_factory(), tmp_path, media_root)
    config.PROXY_CACHE_SECONDS_ALIGNED = True
    config.PAGE_CACHE_CHECK_SECONDS = 600.0
    app = create_app(config)
    client = app.test_client()
    url = "/products/wenchang-chicken?lang=en"
    assert client.get(url).status_code == 200  # cached, generation read
    with app.app_context():
        with db.engine.begin() as conn:  # another node's publish: nothing expires here
            conn.execute(text("UPDATE products SET name_en = 'Renamed elsewhere' WHERE id = 1"))
            conn.execute(text("UPDATE catalogue_generation SET generation = generation + 1"))
        slug = db.session.scalar(text("SELECT slug FROM products WHERE id = 1"))
        db.session.remove()
    url = f"/products/{slug}?lang=en"
    client.get(url)  # this page cached under the old generation
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE products SET name_en = 'Renamed again' WHERE id = 1"))
            conn.execute(text("UPDATE catalogue_generation SET generation = generation + 1"))
    stale = client.get(url).get_data(as_text=True)
    fresh = client.get(url, headers={"X-Cache-Fill": "1"}).get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()
    assert "Renamed again" not in stale  # the per-process check (600 s) not yet due
    assert "Renamed again" in fresh
